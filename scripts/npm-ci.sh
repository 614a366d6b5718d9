#!/bin/sh
# npm-ci.sh DIR PACKAGE - installs DIR's npm packages, pinned by its
# package-lock.json, with `npm ci` into DIR/node_modules, unless they are
# there already for this very lock file (PACKAGE is one of them, to see that
# the folder was not emptied since).  The install.sh scripts of the test
# services, the browser tests and the admin pages all call it.
set -eu
dir=$1
package=$2
cd "$dir"
if ! command -v npm >/dev/null 2>&1; then
    echo "npm-ci.sh: npm is missing (apt-get install nodejs npm)" >&2
    exit 1
fi
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "node_modules/$package/package.json" ] && [ -f node_modules/.vf-installed ] &&
   [ "$(cat node_modules/.vf-installed)" = "$want" ]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > node_modules/.vf-installed
