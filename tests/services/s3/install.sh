#!/bin/sh
# install.sh - installs the S3 test server (s3rver, pinned by
# package-lock.json) beside this script.  Does nothing when it is there for
# this lock file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../../scripts/npm-ci.sh" "$here" s3rver
