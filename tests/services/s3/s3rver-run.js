#!/usr/bin/env node
// s3rver-run.js - runs s3rver (node_modules beside this file) for the
// storage_s3 tests: on 127.0.0.1, a free port, a data directory of its own,
// one bucket created at start, and the test's access key as its only key.
//
// usage: VF_S3_ACCESS_KEY=... VF_S3_SECRET_KEY=... node s3rver-run.js DATADIR BUCKET PORTFILE
// The chosen port is written to PORTFILE once the server listens.
// s3rver does not check V4 signatures (s3proxy.py in front of it does);
// it only needs to know the access key to treat requests as authenticated.
'use strict';

const fs = require('fs');
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

const [dataDir, bucket, portFile] = process.argv.slice(2);
const accessKey = process.env.VF_S3_ACCESS_KEY;
const secretKey = process.env.VF_S3_SECRET_KEY;
if (!dataDir || !bucket || !portFile || !accessKey || !secretKey) {
  console.error('usage: VF_S3_ACCESS_KEY=.. VF_S3_SECRET_KEY=.. s3rver-run.js DATADIR BUCKET PORTFILE');
  process.exit(2);
}

AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: dataDir,
  silent: true,
  // Virtual-hosted requests name hosts <bucket>.s3.localhost
  serviceEndpoint: 'localhost',
  configureBuckets: [{ name: bucket, configs: [] }],
});

server
  .run()
  .then(({ port }) => {
    fs.writeFileSync(`${portFile}.tmp`, `${port}\n`);
    fs.renameSync(`${portFile}.tmp`, portFile);
  })
  .catch(err => {
    console.error(`s3rver failed to start: ${err.stack || err}`);
    process.exit(1);
  });

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
