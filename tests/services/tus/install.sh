#!/bin/sh
# install.sh - installs tus-js-client (pinned by package-lock.json) beside
# this script, for tus-upload.js.  Does nothing when it is there for this
# lock file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../../scripts/npm-ci.sh" "$here" tus-js-client
