#!/bin/sh
# install.sh - the production install path, from the installed tree only:
# configures this source into a fresh build folder with a temporary
# --prefix/--sysconfdir/--localstatedir, runs `make install`, then runs the
# installed videoflix with no --config and no paths from the source or build
# folders: check-config (which must create nothing), serve refusing to start
# without a secret key, migrate, serve and a worker that sends a
# confirmation mail (installed templates, absolute mail folder).  Last,
# re-installing keeps an edited configuration, and `make uninstall` removes
# everything else.  Needs the test PostgreSQL and Redis of scripts/test.sh.
set -u
src=${VF_SRCDIR:?run through make check}
dsn=${VF_TEST_PG_DSN:?run through scripts/test.sh (PostgreSQL)}
redis_port=${VF_TEST_REDIS_PORT:?run through scripts/test.sh (Redis)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vf-install.XXXXXX") || exit 99
server_pid= worker_pid= db=
cleanup() {
    for p in $server_pid $worker_pid; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "$db" ] && psql "$dsn" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: $1" >&2
    shift
    for f in "$@"; do [ -f "$f" ] && { echo "---- $f" >&2; tail -n 40 "$f" >&2; }; done
    exit 1
}

prefix=$tmp/usr etc=$tmp/etc var=$tmp/var
state=$var/lib/videoflix
(
    unset MAKEFLAGS MFLAGS MAKELEVEL
    mkdir "$tmp/build" && cd "$tmp/build" &&
        "$src/configure" -q --prefix="$prefix" --sysconfdir="$etc" --localstatedir="$var" &&
        nice make -j2 -s install
) >"$tmp/install.log" 2>&1 || fail "configure && make install into $prefix" "$tmp/install.log"

bin=$prefix/bin/videoflix conf=$etc/videoflix/videoflix.conf
for f in "$bin" "$conf" "$etc/videoflix/videoflix-production.conf" "$prefix/lib/videoflix/storage_local.so" \
    "$prefix/lib/videoflix/storage_s3.so" "$prefix/lib/videoflix/encoder_ffmpeg.so" \
    "$prefix/lib/videoflix/encoder_libav.so" "$prefix/include/videoflix/plugin.h" \
    "$prefix/share/videoflix/sql/001_users.sql" "$prefix/share/videoflix/templates/confirm_email.txt" \
    "$prefix/share/man/man1/videoflix.1" "$prefix/share/man/man5/videoflix.conf.5"; do
    [ -e "$f" ] || fail "make install did not install $f"
done
for d in media mail work; do [ -d "$state/$d" ] || fail "make install did not create $state/$d"; done
# Plugins are opened as .so by name; libtool's .la files are not installed.
la=$(find "$prefix" -name '*.la')
[ -z "$la" ] || fail "make install left libtool files: $la"
grep -q "^\.I $etc/videoflix/videoflix.conf\$" "$prefix/share/man/man1/videoflix.1" ||
    fail "videoflix(1) does not name the installed $etc/videoflix/videoflix.conf"
# The installed default names absolute state paths under $(localstatedir).
grep -q "root = \"$state/media\";" "$conf" || fail "installed storage root is not $state/media" "$conf"
grep -q "dir = \"$state/mail\";" "$conf" || fail "installed mail.dir is not $state/mail" "$conf"
grep -q "work_dir = \"$state/work\";" "$conf" || fail "installed media.work_dir is not $state/work" "$conf"
grep -q '"var/' "$conf" && fail "installed configuration still names a relative var/ path" "$conf"

# Everything from here runs in an empty folder, with nothing of the source
# or build folders in reach: the binary finds its own files.
run=$tmp/cwd
mkdir "$run" && cd "$run" || exit 99
# The build folder is moved out of its place while the installed tree runs.
mv "$tmp/build" "$tmp/build-away" || exit 99
find "$prefix" "$etc" "$var" "$run" | sort >"$tmp/before"
unset VIDEOFLIX_SECRET_KEY VIDEOFLIX_CONFIG
"$bin" check-config >"$tmp/check1.log" 2>&1 && fail "check-config passed without a secret key" "$tmp/check1.log"
grep -q "VIDEOFLIX_SECRET_KEY" "$tmp/check1.log" || fail "check-config did not say how to set the key" "$tmp/check1.log"
key=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
VIDEOFLIX_SECRET_KEY=$key "$bin" check-config >"$tmp/check2.log" 2>&1 ||
    fail "check-config of the installed default configuration" "$tmp/check2.log"
grep -q "$conf: configuration OK" "$tmp/check2.log" || fail "check-config did not read $conf" "$tmp/check2.log"
find "$prefix" "$etc" "$var" "$run" | sort >"$tmp/after"
[ -z "$(ls -A "$run")" ] || fail "check-config created files in the working directory: $(ls -A "$run")"
cmp -s "$tmp/before" "$tmp/after" || fail "check-config created files: $(comm -13 "$tmp/before" "$tmp/after")"

# What an operator edits: the database, Redis and the port.
db=vf_install_$$
psql "$dsn" -q -c "CREATE DATABASE $db" >/dev/null || fail "cannot create database $db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
conninfo=$(printf '%s' "$dsn" | sed "s/dbname=[^ ]*/dbname=$db/")
sed -i -e "s|^  conninfo = .*|  conninfo = \"$conninfo\";|" -e "s|^  port = 6379;|  port = $redis_port;|" \
    -e "s|^  port = 8000;|  port = $port;|" "$conf"

"$bin" serve >"$tmp/nokey.log" 2>&1 && fail "serve started without a secret key" "$tmp/nokey.log"
grep -q "auth.secret_key is not set.*VIDEOFLIX_SECRET_KEY=" "$tmp/nokey.log" ||
    fail "serve did not say how to set the secret key" "$tmp/nokey.log"

export VIDEOFLIX_SECRET_KEY=$key
"$bin" migrate >"$tmp/migrate.log" 2>&1 || fail "migrate with the installed migrations" "$tmp/migrate.log"
grep -q "applied [1-9][0-9]* migrations" "$tmp/migrate.log" || fail "migrate applied nothing" "$tmp/migrate.log"
"$bin" serve >"$tmp/serve.log" 2>&1 &
server_pid=$!
"$bin" worker >"$tmp/worker.log" 2>&1 &
worker_pid=$!
i=0
until curl -sf "http://127.0.0.1:$port/health/" >"$tmp/health.json" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 300 ] || fail "the installed server did not answer /health/" "$tmp/serve.log"
    kill -0 "$server_pid" 2>/dev/null || fail "the installed server exited" "$tmp/serve.log"
    sleep 0.1
done
code=$(curl -s -o "$tmp/register.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"email":"install@example.com","password":"install-pass-1","confirm_password":"install-pass-1"}' \
    "http://127.0.0.1:$port/users/register/")
[ "$code" = 201 ] || fail "register answered $code" "$tmp/register.json" "$tmp/serve.log"
i=0
until ls "$state/mail/"*.eml >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 300 ] || fail "no confirmation mail in $state/mail" "$tmp/worker.log"
    sleep 0.1
done
grep -q "install@example.com" "$state"/mail/*.eml || fail "the mail is not to the new user"
kill -TERM "$server_pid" "$worker_pid"
wait "$server_pid" || fail "serve did not exit 0 on SIGTERM" "$tmp/serve.log"
wait "$worker_pid" || fail "the worker did not exit 0 on SIGTERM" "$tmp/worker.log"
server_pid= worker_pid=
[ -z "$(ls -A "$run")" ] || fail "the installed programs wrote into the working directory: $(ls -A "$run")"
rm -f "$state"/mail/*.eml

# Re-installing keeps the operator's edits; uninstalling removes the rest.
mv "$tmp/build-away" "$tmp/build" && cd "$tmp/build" || exit 99
(unset MAKEFLAGS MFLAGS MAKELEVEL; make -s install) >"$tmp/reinstall.log" 2>&1 ||
    fail "make install again" "$tmp/reinstall.log"
grep -q "conninfo = \"$conninfo\"" "$conf" || fail "make install overwrote the edited $conf"
[ -f "$conf.dist" ] || fail "make install did not put the new configuration beside the edited one"
(unset MAKEFLAGS MFLAGS MAKELEVEL; make -s uninstall) >"$tmp/uninstall.log" 2>&1 ||
    fail "make uninstall" "$tmp/uninstall.log"
grep -q "keeping the edited $conf" "$tmp/uninstall.log" || fail "uninstall did not name the kept configuration" "$tmp/uninstall.log"
left=$(find "$prefix" "$etc" "$var" ! -type d ! -path "$conf")
[ -z "$left" ] || fail "make uninstall left: $left"
[ -d "$state" ] && fail "make uninstall left the empty state folder $state"
left=$(find "$prefix" "$var" -type d -name videoflix)
[ -z "$left" ] || fail "make uninstall left the empty folders: $left"
rm -f "$conf"
echo "install: installed, checked, migrated, served, mailed from $prefix; uninstalled cleanly"
