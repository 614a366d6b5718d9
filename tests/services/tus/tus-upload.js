// tus-upload.js - uploads one file with tus-js-client, unchanged, the way a
// browser frontend would (cookie authentication, fixed chunk size), for the
// uploads tests.  Prints one JSON line: {"url", "offset", "size"}.
//
// usage: node tus-upload.js --endpoint URL --file PATH --cookie "name=value"
//            [--chunk-size BYTES] [--stop-after BYTES] [--resume URL]
//            [--filename NAME]
//   --stop-after  abort once at least this many bytes are acknowledged (the
//                 upload stays resumable); prints the offset reached
//   --resume      continue the upload at URL: tus-js-client asks the server
//                 for the offset (HEAD) and sends the rest from there
'use strict';
const fs = require('fs');
const path = require('path');
const tus = require('tus-js-client');

function parseArgs(argv) {
    const opts = {};
    for (let i = 2; i < argv.length; i += 2) {
        if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
            throw new Error(`bad argument ${argv[i]}`);
        }
        opts[argv[i].slice(2)] = argv[i + 1];
    }
    for (const need of ['endpoint', 'file', 'cookie']) {
        if (!opts[need]) throw new Error(`--${need} is required`);
    }
    return opts;
}

function main() {
    const opts = parseArgs(process.argv);
    const data = fs.readFileSync(opts.file);
    const stopAfter = opts['stop-after'] ? Number(opts['stop-after']) : 0;
    let upload = null;
    let done = false;
    const finish = (offset) => {
        if (done) return;
        done = true;
        process.stdout.write(JSON.stringify({ url: upload.url, offset, size: data.length }) + '\n');
    };
    upload = new tus.Upload(data, {
        endpoint: opts.endpoint,
        uploadUrl: opts.resume || null,
        chunkSize: opts['chunk-size'] ? Number(opts['chunk-size']) : Infinity,
        retryDelays: [0, 300, 1000],
        headers: { Cookie: opts.cookie },
        metadata: { filename: opts.filename || path.basename(opts.file), filetype: 'video/mp4' },
        onChunkComplete: (chunkSize, accepted) => {
            if (stopAfter && accepted >= stopAfter && accepted < data.length) {
                upload.abort(false).then(() => finish(accepted));
            }
        },
        onError: (err) => {
            process.stderr.write(`tus-upload.js: ${err}\n`);
            process.exit(1);
        },
        onSuccess: () => finish(data.length),
    });
    upload.start();
}

try {
    main();
} catch (err) {
    process.stderr.write(`tus-upload.js: ${err.message}\n`);
    process.exit(2);
}
