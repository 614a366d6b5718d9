#!/bin/sh
# deb.sh - the Debian packages (docs/operations.md, "Debian packages"):
# packaging/build-deb.sh builds them from a copy of this source; lintian
# reports no error; each package holds what it should and depends on its
# own libraries only (libav for the libav encoder alone); then the real
# thing with apt and dpkg on this machine: install (system user, state
# folders, secrets file, conffile), check-config of the installed server
# with both shipped configurations, remove (state kept), purge (state gone).
# It installs into this machine's root, so it runs as root in a throwaway
# container (scripts/test.sh, CI) and leaves the machine as it found it.
set -u
src=${VF_SRCDIR:?run through make check}

fail() {
    echo "FAIL: $1" >&2
    shift
    for f in "$@"; do [ -f "$f" ] && { echo "---- $f" >&2; tail -n 40 "$f" >&2; }; done
    exit 1
}
for tool in dpkg-buildpackage dh lintian fakeroot dpkg-deb apt-get adduser pkg-config; do
    command -v "$tool" >/dev/null ||
        fail "$tool is missing (Debian: apt-get install debhelper dpkg-dev lintian fakeroot adduser pkg-config)"
done
[ "$(id -u)" -eq 0 ] || fail "deb.sh installs and purges the packages: run it as root in a throwaway container"
pkgs="videoflix videoflix-storage-local videoflix-storage-s3 videoflix-encoder-ffmpeg videoflix-encoder-libav videoflix-dev"
# Installed, or removed with its configuration left.
on_machine() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qv '^not-installed$'; }
for p in $pkgs; do
    on_machine "$p" && fail "$p is already on this machine; deb.sh would replace it (dpkg --purge $p first)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vf-deb-test.XXXXXX") || exit 99
user_before=$(getent passwd videoflix)
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 "$@"; }
cleanup() {
    installed=
    for p in $pkgs; do on_machine "$p" && installed="$installed $p"; done
    [ -z "$installed" ] || apt_get purge $installed >/dev/null 2>&1
    [ -n "$user_before" ] || ! getent passwd videoflix >/dev/null || { deluser --system videoflix; delgroup --system videoflix; } >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

version=$(sed -n '/^AC_INIT/{s/^[^,]*, *\[//;s/\].*//;p;}' "$src/configure.ac")
[ -n "$version" ] || fail "no AC_INIT version in $src/configure.ac"

# --- build: no test suite (the services are not there), no debug symbol packages.
out=$tmp/out
start=$(date +%s)
# make check's job server is not the package build's.
(unset MAKEFLAGS MFLAGS MAKELEVEL
    DEB_BUILD_OPTIONS="nocheck noddebs parallel=2" nice "$src/packaging/build-deb.sh" "$out" -b) \
    >"$tmp/build.log" 2>&1 || fail "packaging/build-deb.sh" "$tmp/build.log"
echo "deb: built in $(($(date +%s) - start)) s"
arch=$(dpkg --print-architecture)
deb_of() { echo "$out/${1}_${version}_$arch.deb"; }
debs=
for p in $pkgs; do
    [ -f "$(deb_of "$p")" ] || fail "no $(deb_of "$p") (the version must be configure.ac's $version)" "$tmp/build.log"
    debs="$debs $(deb_of "$p")"
done
server=$(deb_of videoflix)

# --- lintian: no errors; the summary is printed for the log.
lintian --tag-display-limit 0 "$out"/*.changes >"$tmp/lintian.log" 2>&1
grep -v '^running with root privileges' "$tmp/lintian.log" | sed 's/^/lintian: /'
echo "deb: lintian: $(grep -c '^E:' "$tmp/lintian.log") errors, $(grep -c '^W:' "$tmp/lintian.log") warnings"
grep -q '^E:' "$tmp/lintian.log" && fail "lintian reports errors" "$tmp/lintian.log"

# --- what each package holds, and what it depends on.
contents() { dpkg-deb -c "$1" | awk '{ print $NF }' | sed 's|^\./|/|'; }
holds() { contents "$1" | grep -qxF "$2" || fail "$(basename "$1") does not hold $2"; }
for f in /usr/bin/videoflix /etc/videoflix/videoflix.conf /etc/videoflix/videoflix-production.conf \
    /usr/share/videoflix/sql/001_users.sql /usr/share/videoflix/templates/confirm_email.txt \
    /usr/share/videoflix/admin/videos.html /usr/share/videoflix/admin/js/api.js \
    /usr/share/man/man1/videoflix.1.gz /usr/share/man/man5/videoflix.conf.5.gz \
    /lib/systemd/system/videoflix.service /lib/systemd/system/videoflix-worker@.service; do
    holds "$server" "$f"
done
if [ -f "$src/web/admin/vendor/tus.min.js" ]; then holds "$server" /usr/share/videoflix/admin/vendor/tus.min.js; fi
for f in /usr/include/videoflix/plugin.h /usr/include/videoflix/storage.h /usr/include/videoflix/encoder.h \
    /usr/bin/videoflix-plugin-check /usr/share/man/man1/videoflix-plugin-check.1.gz; do
    holds "$(deb_of videoflix-dev)" "$f"
done
contents "$(deb_of videoflix-dev)" | grep -q '^/usr/lib/[^/]*/pkgconfig/videoflix-plugin.pc$' ||
    fail "videoflix-dev does not hold videoflix-plugin.pc"
dpkg-deb -I "$server" conffiles | grep -qx /etc/videoflix/videoflix.conf ||
    fail "/etc/videoflix/videoflix.conf is not a conffile of videoflix"
for p in $pkgs; do
    deb=$(deb_of "$p")
    [ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "$p is not version $version"
    contents "$deb" | grep -q '\.la$' && fail "$p holds libtool .la files: $(contents "$deb" | grep '\.la$')"
    # Each plugin's .so in its own package only.
    sos=$(contents "$deb" | grep '\.so$' | sed 's|.*/||' | tr '\n' ' ')
    case $p in videoflix-storage-* | videoflix-encoder-*) want="$(echo "${p#videoflix-}" | tr - _).so " ;; *) want= ;; esac
    [ "$sos" = "$want" ] || fail "$p holds the plugins '$sos', not '$want'"
    dpkg-deb -f "$deb" Depends >"$tmp/$p.depends"
done
contents "$(deb_of videoflix-storage-local)" | grep -q '^/usr/lib/[^/]*/videoflix/storage_local\.so$' ||
    fail "storage_local.so is not in the plugin folder /usr/lib/<triplet>/videoflix"
grep -q 'libavcodec' "$tmp/videoflix-encoder-libav.depends" ||
    fail "videoflix-encoder-libav does not depend on libavcodec: $(cat "$tmp/videoflix-encoder-libav.depends")"
for p in videoflix videoflix-storage-s3 videoflix-storage-local videoflix-encoder-ffmpeg; do
    grep -q 'libav\|libsw' "$tmp/$p.depends" && fail "$p depends on libav: $(cat "$tmp/$p.depends")"
done
grep -q 'libcurl' "$tmp/videoflix-storage-s3.depends" || fail "videoflix-storage-s3 does not depend on libcurl"
grep -q '^ffmpeg\|, ffmpeg' "$tmp/videoflix-encoder-ffmpeg.depends" || fail "videoflix-encoder-ffmpeg does not depend on ffmpeg"
grep -q "videoflix (= $version)" "$tmp/videoflix-storage-s3.depends" || fail "videoflix-storage-s3 does not depend on videoflix"

# --- install for real.
apt_get install --no-install-recommends $debs >"$tmp/install.log" 2>&1 ||
    fail "apt-get install of the packages" "$tmp/install.log"
entry=$(getent passwd videoflix) || fail "the videoflix user was not created"
uid=$(echo "$entry" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "videoflix is not a system user (uid $uid)"
case $entry in *:/var/lib/videoflix:/usr/sbin/nologin) ;; *) fail "videoflix user: $entry" ;; esac
getent group videoflix >/dev/null || fail "the videoflix group was not created"
for d in /var/lib/videoflix /var/lib/videoflix/media /var/lib/videoflix/mail /var/lib/videoflix/work; do
    [ "$(stat -c '%U:%G %a' "$d" 2>/dev/null)" = "videoflix:videoflix 750" ] ||
        fail "$d is not videoflix:videoflix 750: $(stat -c '%U:%G %a' "$d" 2>&1)"
done
conf=/etc/videoflix/videoflix.conf envfile=/etc/videoflix/videoflix.env
grep -q 'root = "/var/lib/videoflix/media";' $conf || fail "$conf does not keep media in /var/lib/videoflix/media" $conf
grep -q 'dir = "/var/lib/videoflix/mail";' $conf || fail "$conf does not write mail to /var/lib/videoflix/mail" $conf
grep -q 'work_dir = "/var/lib/videoflix/work";' $conf || fail "$conf does not work in /var/lib/videoflix/work" $conf
[ "$(stat -c '%U:%G %a' $envfile 2>/dev/null)" = "root:videoflix 640" ] ||
    fail "$envfile is not root:videoflix 640: $(stat -c '%U:%G %a' $envfile 2>&1)"
grep -Eq '^VIDEOFLIX_SECRET_KEY=.{40,}$' $envfile || fail "$envfile holds no secret key"
plugindir=$(pkg-config --variable=plugindir videoflix-plugin) || fail "pkg-config does not know videoflix-plugin"
[ -f "$plugindir/encoder_libav.so" ] || fail "videoflix-plugin.pc names $plugindir, which holds no plugins"

# As systemd runs it: the videoflix user, the secrets from the env file;
# first the default configuration (storage_local, encoder_ffmpeg), then
# the production example (storage_s3, encoder_libav; S3 keys that are
# only read, never used).
as_service() { runuser -u videoflix -- sh -c 'set -a; . /etc/videoflix/videoflix.env; set +a; cd /; exec "$@"' sh "$@"; }
as_service /usr/bin/videoflix check-config >"$tmp/check.log" 2>&1 ||
    fail "check-config of the installed $conf" "$tmp/check.log"
grep -q "^$conf: configuration OK (storage storage_local, encoder encoder_ffmpeg)" "$tmp/check.log" ||
    fail "check-config did not read $conf with its plugins" "$tmp/check.log"
prod=/etc/videoflix/videoflix-production.conf
as_service env AWS_ACCESS_KEY_ID=deb-test AWS_SECRET_ACCESS_KEY=deb-test \
    /usr/bin/videoflix --config $prod check-config >"$tmp/check-prod.log" 2>&1 ||
    fail "check-config of the installed $prod" "$tmp/check-prod.log"
grep -q "^$prod: configuration OK (storage storage_s3, encoder encoder_libav)" "$tmp/check-prod.log" ||
    fail "check-config did not read $prod with its plugins" "$tmp/check-prod.log"

# --- remove keeps the state, the edited configuration and the secrets.
key=$(grep '^VIDEOFLIX_SECRET_KEY=' $envfile)
echo "# edited by deb.sh" >>$conf
touch /var/lib/videoflix/media/kept
apt_get remove $pkgs >"$tmp/remove.log" 2>&1 || fail "apt-get remove" "$tmp/remove.log"
[ -e /usr/bin/videoflix ] && fail "remove left /usr/bin/videoflix"
[ -e "$plugindir" ] && fail "remove left $plugindir: $(ls -A "$plugindir")"
[ -f /var/lib/videoflix/media/kept ] || fail "remove deleted the media"
grep -q 'edited by deb.sh' $conf || fail "remove deleted the edited $conf"
[ "$(grep '^VIDEOFLIX_SECRET_KEY=' $envfile 2>/dev/null)" = "$key" ] || fail "remove changed $envfile"

# Installing again keeps the key and the edits.
apt_get install --no-install-recommends $debs >"$tmp/reinstall.log" 2>&1 ||
    fail "apt-get install again" "$tmp/reinstall.log"
[ "$(grep '^VIDEOFLIX_SECRET_KEY=' $envfile)" = "$key" ] || fail "installing again changed the secret key"
grep -q 'edited by deb.sh' $conf || fail "installing again overwrote the edited $conf"

# --- purge deletes the state, the configuration and the secrets.
apt_get purge $pkgs >"$tmp/purge.log" 2>&1 || fail "apt-get purge" "$tmp/purge.log"
[ -e /var/lib/videoflix ] && fail "purge left /var/lib/videoflix: $(find /var/lib/videoflix | head)"
[ -e /etc/videoflix ] && fail "purge left /etc/videoflix: $(ls -A /etc/videoflix)"
for p in $pkgs; do on_machine "$p" && fail "purge left $p"; done
echo "deb: $version built, lintian clean of errors, installed, checked, removed and purged"
