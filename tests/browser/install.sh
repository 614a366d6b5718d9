#!/bin/sh
# install.sh - installs playwright-core (pinned by package-lock.json) into
# node_modules beside this script with `npm ci`, for admin.mjs (it drives
# Debian's chromium, never a browser build of its own).
# Idempotent: does nothing when node_modules already matches the lock file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if ! command -v npm >/dev/null 2>&1; then
    echo "install.sh: npm is missing (apt-get install nodejs npm)" >&2
    exit 1
fi
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f node_modules/playwright-core/package.json ] && [ -f node_modules/.vf-installed ] &&
   [ "$(cat node_modules/.vf-installed)" = "$want" ]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > node_modules/.vf-installed
