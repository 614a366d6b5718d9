# scripts/lib.sh - shared by dev.sh and test.sh: Debian packages, the build,
# and private PostgreSQL / Redis servers on loopback.  Sourced, not run.

VF_DEBIAN_PACKAGES="build-essential autoconf automake libtool pkg-config
 libevent-dev libpq-dev libhiredis-dev libjansson-dev libjwt-dev libconfig-dev
 libcurl4-openssl-dev libssl-dev libsodium-dev zlib1g-dev libbrotli-dev check
 libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev
 postgresql redis-server ffmpeg python3 python3-botocore python3-django
 python3-djangorestframework python3-argon2 python3-bcrypt python3-psycopg2
 python3-aiosmtpd curl procps iproute2 clang nginx openssl chromium
 systemd groff-base man-db prometheus
 debhelper dpkg-dev fakeroot lintian adduser"

vf_log() { printf '%s\n' "videoflix: $*" >&2; }
vf_die() { printf '%s\n' "videoflix: error: $*" >&2; exit 1; }

vf_sudo() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install the Debian packages that are missing (nothing when all are there).
vf_install_packages() {
    missing=""
    for p in $VF_DEBIAN_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    # Node.js may come from elsewhere than Debian (whose npm would conflict with it).
    command -v node >/dev/null 2>&1 || missing="$missing nodejs"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
    [ -z "$missing" ] && return 0
    vf_log "installing Debian packages:$missing"
    # Another apt run (the package test installs and purges our .debs) is
    # waited for rather than taken for a failure.
    vf_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq ||
        vf_die "apt-get update failed"
    vf_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends $missing >/dev/null || vf_die "apt-get install failed"
}

# Node packages of the test services: s3rver (behind the signature-checking
# proxy) and tus-js-client; the admin pages' tus-js-client bundle
# (web/admin/vendor/); playwright-core for the browser tests (it drives
# Debian's chromium).  Each pinned by its package-lock.json.
vf_install_node_packages() {
    for service in s3 tus; do
        "$VF_SRC/tests/services/$service/install.sh" || vf_die "cannot install the $service test service"
    done
    "$VF_SRC/web/install.sh" || vf_die "cannot install the admin pages' tus-js-client"
    "$VF_SRC/tests/browser/install.sh" || vf_die "cannot install playwright-core for the browser tests"
}

# vf_configure DIR ARGS...: autogen (when needed), then configure the build
# folder DIR with ARGS, unless it was configured with the same ARGS already.
vf_configure() {
    dir=$1
    shift
    [ -x "$VF_SRC/configure" ] || (cd "$VF_SRC" && ./autogen.sh >/dev/null) || vf_die "autogen failed"
    mkdir -p "$dir"
    stamp="$dir/.configure-args"
    args="$*"
    if [ ! -f "$dir/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$args" ]; then
        # configure's exit trap runs "rm -f core" and complains about our
        # core/ folder: everything else it says is shown.
        rc=0
        (cd "$dir" && "$VF_SRC/configure" -q "$@") 2>"$dir/.configure-stderr" || rc=$?
        grep -v "^rm: cannot remove 'core': Is a directory$" "$dir/.configure-stderr" >&2
        [ "$rc" -eq 0 ] || vf_die "configure failed in $dir"
        printf '%s' "$args" > "$stamp"
    fi
}

# Configure with "$@" and make, in $VF_BUILD.
vf_build() {
    vf_configure "$VF_BUILD" "$@"
    make -C "$VF_BUILD" -j"$(nproc)" -s >/dev/null || vf_die "build failed"
}

vf_free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

vf_pg_bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Run a command as the owner of the PostgreSQL data: initdb refuses root.
vf_as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# vf_pg_start DIR PORT: a private cluster in DIR (created when missing),
# listening on 127.0.0.1:PORT and a socket in DIR; role and db "videoflix".
vf_pg_start() {
    dir=$1 port=$2 bin=$(vf_pg_bindir)
    [ -n "$bin" ] || vf_die "PostgreSQL binaries not found"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        vf_as_pg "$bin/initdb" -D "$dir/data" -U videoflix --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null \
            || vf_die "initdb failed"
    fi
    vf_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${VF_PG_FSYNC:-on}" start >/dev/null \
        || { tail -n 20 "$dir/postgresql.log" >&2; vf_die "PostgreSQL did not start"; }
    "$bin/psql" -h 127.0.0.1 -p "$port" -U videoflix -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='videoflix'" | grep -q 1 ||
        "$bin/createdb" -h 127.0.0.1 -p "$port" -U videoflix videoflix || vf_die "createdb failed"
}

vf_pg_stop() {
    dir=$1 bin=$(vf_pg_bindir)
    [ -f "$dir/data/postmaster.pid" ] && vf_as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
    return 0
}

# vf_redis_start DIR PORT
vf_redis_start() {
    dir=$1 port=$2
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --appendonly yes --save "" \
        || vf_die "Redis did not start"
    for _ in $(seq 1 100); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    vf_die "Redis did not answer on port $port"
}

vf_redis_stop() {
    dir=$1
    if [ -f "$dir/redis.pid" ]; then
        pid=$(cat "$dir/redis.pid")
        kill "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$dir/redis.pid"
    fi
    return 0
}
