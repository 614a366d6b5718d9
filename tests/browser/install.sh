#!/bin/sh
# install.sh - installs playwright-core (pinned by package-lock.json) beside
# this script, for admin.mjs (it drives Debian's chromium, never a browser
# build of its own).  Does nothing when it is there for this lock file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../scripts/npm-ci.sh" "$here" playwright-core
