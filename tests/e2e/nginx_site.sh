#!/bin/sh
# nginx_site.sh - for check_nginx: Debian's nginx configuration made from a
# shipped layout of packaging/nginx, as it is, with only its placeholders
# (ports, certificate, folders, snippet paths) replaced.  A placeholder that
# is no longer in the shipped text fails, so the test cannot drift from it.
# Also makes the self-signed certificate for both names of the layouts.
#   nginx_site.sh SRCDIR LAYOUT OUT HTTP_PORT HTTPS_PORT CORE_PORT MEDIA_ROOT DIST
# Writes OUT/nginx.conf (run with nginx -p OUT -c OUT/nginx.conf).
set -eu
src=$1 layout=$2 out=$3 http=$4 https=$5 core=$6 media=$7 dist=$8
shipped="$src/packaging/nginx"
mkdir -p "$out/snippets" "$out/temp" "$out/logs"
fail() { echo "nginx_site.sh: $*" >&2; exit 1; }

# replace FILE OLD NEW: every OLD (a fixed string) becomes NEW; OLD must occur.
replace() {
    grep -qF -- "$2" "$1" || fail "'$2' is not in $(basename "$1") any more"
    awk -v old="$2" -v new="$3" '{
        out = ""; while ((i = index($0, old)) > 0) { out = out substr($0, 1, i - 1) new; $0 = substr($0, i + length(old)) }
        print out $0 }' "$1" >"$1.new" && mv "$1.new" "$1"
}

for f in tls proxy events media; do
    cp "$shipped/videoflix-$f.conf" "$out/snippets/"
done
cp "$shipped/videoflix-$layout.conf" "$out/site.conf"

for f in "$out/site.conf" "$out"/snippets/*.conf; do
    if grep -qF "/etc/nginx/snippets/" "$f"; then replace "$f" "/etc/nginx/snippets/" "$out/snippets/"; fi
done
site="$out/site.conf"
replace "$site" "listen 80;" "listen 127.0.0.1:$http;"
replace "$site" "listen [::]:80;" ""
replace "$site" "listen 443 ssl http2;" "listen 127.0.0.1:$https ssl http2;"
replace "$site" "listen [::]:443 ssl http2;" ""
replace "$site" "server 127.0.0.1:8000;" "server 127.0.0.1:$core;"
replace "$site" "root /var/www/videoflix;" "root $dist;"
replace "$out/snippets/videoflix-tls.conf" "/etc/ssl/videoflix/fullchain.pem" "$out/cert.pem"
replace "$out/snippets/videoflix-tls.conf" "/etc/ssl/videoflix/privkey.pem" "$out/key.pem"
replace "$out/snippets/videoflix-media.conf" "alias /var/lib/videoflix/media/;" "alias $media/;"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=videoflix.example.com" \
    -addext "subjectAltName=DNS:videoflix.example.com,DNS:api.videoflix.example.com,IP:127.0.0.1" \
    -keyout "$out/key.pem" -out "$out/cert.pem" 2>"$out/openssl.log" || fail "openssl req failed: $(cat "$out/openssl.log")"

# The main file Debian's /etc/nginx/nginx.conf would be, in OUT: as root,
# the workers stay root to read the test's private folders.
user=""
[ "$(id -u)" -eq 0 ] && user="user root;"
cat >"$out/nginx.conf" <<CONF
$user
daemon off;
worker_processes 1;
pid $out/nginx.pid;
error_log $out/logs/error.log info;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log $out/logs/access.log combined;
    client_body_temp_path $out/temp/body;
    proxy_temp_path $out/temp/proxy;
    fastcgi_temp_path $out/temp/fastcgi;
    uwsgi_temp_path $out/temp/uwsgi;
    scgi_temp_path $out/temp/scgi;
    include $site;
}
CONF
nginx -t -p "$out" -c "$out/nginx.conf" >"$out/nginx-t.log" 2>&1 || fail "nginx -t: $(cat "$out/nginx-t.log")"
