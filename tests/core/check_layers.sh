#!/bin/sh
# check_layers.sh - the folders of core/ form layers: a file may include
# headers of its own folder and of folders below it, never above, so the
# folder graph has no cycles and docs/architecture.md's picture stays true.
# The order, lowest first, is the one docs/architecture.md describes.
set -u
src=${VF_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
layers="util config plugins runtime http jobs storage accounts uploads pipeline catalog admin cli"

rank() {
    i=0
    for l in $layers; do
        [ "$l" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
    echo -1
}

status=0
checked=0
for f in $(find "$src/core" -name '*.[ch]' | sort); do
    rel=${f#"$src/core/"}
    dir=${rel%%/*}
    if [ "$dir" = "$rel" ]; then
        echo "FAIL: core/$rel is not in a folder"
        status=1
        continue
    fi
    own=$(rank "$dir")
    if [ "$own" -lt 0 ]; then
        echo "FAIL: core/$dir/ is not a known layer (add it to docs/architecture.md and this list)"
        status=1
        continue
    fi
    for inc in $(sed -n 's/^#include "\([a-z_]*\)\/[a-z_]*\.h".*/\1/p' "$f"); do
        r=$(rank "$inc")
        checked=$((checked + 1))
        if [ "$r" -lt 0 ] || [ "$r" -gt "$own" ]; then
            echo "FAIL: core/$rel includes $inc/, which is above $dir/"
            status=1
        fi
    done
done
# A test that read nothing proves nothing.
[ "$checked" -gt 100 ] || { echo "FAIL: only $checked includes found under $src/core"; status=1; }
[ $status -eq 0 ] && echo "layers: $checked includes between folders follow the order: $layers"
exit $status
