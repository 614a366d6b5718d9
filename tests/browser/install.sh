#!/bin/sh
# install.sh - installs playwright-core and hls.js (pinned by
# package-lock.json) beside this script, for admin.mjs and hls.mjs (they
# drive Debian's chromium, never a browser build of their own).  Does
# nothing when they are there for this lock file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../scripts/npm-ci.sh" "$here" playwright-core
