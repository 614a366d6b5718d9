#!/bin/sh
# scripts/dev.sh - run Videoflix for development on a fresh Debian 12 machine:
# installs what is missing, builds, starts a private PostgreSQL and Redis
# under ./var (loopback only), migrates, creates a development admin account,
# and runs the API server and a worker in the foreground on
# http://127.0.0.1:8000.  Ctrl-C stops everything it started; running it
# again reuses ./var.
set -u
VF_SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$VF_SRC/scripts/lib.sh"

vf_install_packages
"$VF_SRC/web/install.sh" || vf_die "cannot install the admin pages' tus-js-client"
VF_BUILD=${VF_BUILD:-$VF_SRC/build}
vf_build

var="$VF_SRC/var"
mkdir -p "$var/media" "$var/mail" "$var/work"
chmod 755 "$var"
# Ports are chosen once and kept, so the services come back where they were.
[ -f "$var/ports" ] || printf 'pg_port=%s\nredis_port=%s\n' "$(vf_free_port)" "$(vf_free_port)" > "$var/ports"
. "$var/ports"
if [ ! -s "$var/secret_key" ]; then
    (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n' > "$var/secret_key")
fi

config="$var/videoflix.conf"
sed -e "s|port=5432 dbname=videoflix user=videoflix|port=$pg_port dbname=videoflix user=videoflix|" \
    -e "s|^  port = 6379;|  port = $redis_port;|" \
    -e "s|^  # dir = \"<libdir>/videoflix\";.*|  dir = \"$VF_BUILD/plugins/.libs\";|" \
    -e "s|^  # migrations_dir = .*|  migrations_dir = \"$VF_SRC/sql\";|" \
    -e "s|^  # templates_dir = .*|  templates_dir = \"$VF_SRC/templates\";|" \
    -e "s|^  # static_dir = .*|  static_dir = \"$VF_SRC/web/admin\";|" \
    -e "s|root = \"var/media\";|root = \"$var/media\";|" \
    -e "s|dir = \"var/mail\";|dir = \"$var/mail\";|" \
    -e "s|work_dir = \"/tmp\";|work_dir = \"$var/work\";|" \
    -e "s|secret_key_env = \"VIDEOFLIX_SECRET_KEY\";|secret_key_file = \"$var/secret_key\";|" \
    "$VF_SRC/conf/videoflix.conf" > "$config"

server_pid= worker_pid=
interrupted=
alive() { for p in "$@"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
stop_all() {
    trap - INT TERM EXIT
    # Ctrl-C in a terminal signals the whole group: server and worker are
    # stopping already (a second signal would make the worker cancel its jobs
    # instead of finishing them), so give them their grace period first.
    if [ -n "$interrupted" ]; then
        for _ in $(seq 1 400); do alive "$server_pid" "$worker_pid" || break; sleep 0.1; done
    fi
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null
    [ -n "$worker_pid" ] && kill -TERM "$worker_pid" 2>/dev/null
    [ -n "$server_pid" ] && wait "$server_pid" 2>/dev/null
    [ -n "$worker_pid" ] && wait "$worker_pid" 2>/dev/null
    vf_redis_stop "$var/redis"
    vf_pg_stop "$var/pg"
    vf_log "stopped"
}
trap stop_all EXIT
trap 'interrupted=1; exit 0' INT
trap 'exit 0' TERM

vf_pg_start "$var/pg" "$pg_port"
vf_redis_start "$var/redis" "$redis_port"
vf="$VF_BUILD/videoflix --config $config"
$vf migrate || vf_die "migrations failed"

admin_email=admin@videoflix.local
if [ ! -s "$var/admin-password" ]; then
    (umask 077; head -c 12 /dev/urandom | base64 | tr -d '/+=\n' > "$var/admin-password")
    VIDEOFLIX_ADMIN_PASSWORD=$(cat "$var/admin-password") \
        $vf createsuperuser --email "$admin_email" --password-env VIDEOFLIX_ADMIN_PASSWORD \
        || vf_die "cannot create the development admin account"
fi

$vf serve &
server_pid=$!
$vf worker &
worker_pid=$!
cat >&2 <<MSG

  Videoflix is running on http://127.0.0.1:8000/  (health: /health/)
  admin account:  $admin_email  /  $(cat "$var/admin-password")
  emails are written to $var/mail/
  configuration:  $config   (generated from conf/videoflix.conf)
  Ctrl-C stops the server, the worker, PostgreSQL and Redis.

MSG
wait "$server_pid"
# A clean exit means the server was signalled (Ctrl-C reaches the worker too).
[ $? -eq 0 ] && interrupted=1
