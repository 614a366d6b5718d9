#!/bin/sh
# example_plugin.sh - proves that a plugin can be built outside the tree:
# installs this build into a temporary DESTDIR, builds
# examples/storage_memory with nothing but the installed headers and
# videoflix-plugin.pc, and runs the installed videoflix-plugin-check against
# the resulting .so.  Every step must succeed.  Run by `make check`
# (VF_SRCDIR and VF_BUILDDIR come from AM_TESTS_ENVIRONMENT).
set -u
src=${VF_SRCDIR:?run through make check}
build=${VF_BUILDDIR:?run through make check}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vf-example-plugin.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $1" >&2
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 40 "$2" >&2
    exit 1
}

# The make running this test passes its jobserver in MAKEFLAGS; this make
# is a separate run.
(unset MAKEFLAGS MFLAGS MAKELEVEL; make -C "$build" install DESTDIR="$tmp/root") >"$tmp/install.log" 2>&1 ||
    fail "make install DESTDIR=$tmp/root" "$tmp/install.log"

pc=$(find "$tmp/root" -name videoflix-plugin.pc)
[ -n "$pc" ] || fail "make install put no videoflix-plugin.pc in place"
# The installed .pc names paths without DESTDIR; the sysroot puts it back.
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$tmp/root
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

includedir=$(pkg-config --variable=includedir videoflix-plugin) || fail "pkg-config cannot read $pc"
plugindir=$(pkg-config --variable=plugindir videoflix-plugin)
checker=$(pkg-config --variable=plugin_check videoflix-plugin)
[ -f "$includedir/videoflix/plugin.h" ] || fail "no videoflix/plugin.h under $includedir"
[ -f "$plugindir/storage_local.so" ] || fail "plugindir $plugindir does not hold the installed plugins"
[ -x "$checker" ] || fail "plugin_check $checker is not an installed program"
major=$(sed -n 's/^#define VF_ABI_MAJOR \([0-9]*\).*/\1/p' "$includedir/videoflix/plugin.h")
minor=$(sed -n 's/^#define VF_ABI_MINOR \([0-9]*\).*/\1/p' "$includedir/videoflix/plugin.h")
abi=$(pkg-config --variable=abi_version videoflix-plugin)
[ "$abi" = "$major.$minor" ] ||
    fail "videoflix-plugin.pc says ABI '$abi', the installed plugin.h $major.$minor (re-run configure)"

# Outside the tree, as an author would have it.
cp -R "$src/examples/storage_memory" "$tmp/example" && chmod -R u+w "$tmp/example" ||
    fail "cannot copy examples/storage_memory"
make -C "$tmp/example" >"$tmp/build.log" 2>&1 || fail "building the example plugin" "$tmp/build.log"
exported=$(nm -D --defined-only "$tmp/example/storage_memory.so" | awk '{print $3}' | grep -v '^_' | tr '\n' ' ')
[ "$exported" = "vf_plugin_desc " ] || fail "the example exports '$exported', not only vf_plugin_desc"

# The contract, through the installed checker (its output is this test's log).
make -C "$tmp/example" check || fail "the storage contract against the example plugin"

# The checker can fail: the same .so is not an encoder.
if "$checker" encoder "$tmp/example/storage_memory.so" >"$tmp/wrong-kind.log" 2>&1; then
    fail "videoflix-plugin-check passed a storage plugin as an encoder"
fi
grep -q "is a storage plugin" "$tmp/wrong-kind.log" ||
    fail "videoflix-plugin-check did not say why the encoder suite failed" "$tmp/wrong-kind.log"
echo "example plugin: built from the installed headers, contract passed"
