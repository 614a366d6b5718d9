/*
 * media.c - GET and HEAD /media/<key>, see media.h.
 *
 * Owns: refusing keys that are not plain storage keys, opening the object
 * without following any symlink, its validators (ETag, Last-Modified),
 * answering conditional and single-range requests (http/range.c parses
 * them), and streaming the file with sendfile() through a libevent file
 * segment, so a large file is never held in memory.
 *
 * With media.accel_redirect set, the file is not sent from here: the
 * viewer's access token is checked (a 401 otherwise) and the answer is an
 * empty 200 with "X-Accel-Redirect: <prefix><key>", which Nginx turns into
 * a read of its internal location (Range included).  Local media is then
 * as private as presigned S3 URLs.
 *
 * The path arrives percent-decoded (http/path.c refuses a decoded NUL), so
 * "%2e%2e" is "..", "%2f" is "/"; every such key is refused here before the
 * storage plugin or the disk is asked anything.
 */
#include "config.h"
#include "catalog/media.h"
#include "accounts/auth.h"
#include "http/http.h"
#include "plugins/storage_calls.h"
#include "plugins/storage_key.h"
#include "http/range.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A key of the storage grammar (the one every storage shares), and no
 * hidden segment: storage_local keeps unfinished uploads under ".uploads",
 * and nothing the core stores starts with '.'. */
static int key_is_servable(const char *key)
{
    if (vf_storage_key_check(key, NULL) < 0)
        return 0;
    for (const char *seg = key; seg;) {
        if (seg[0] == '.')
            return 0;
        const char *slash = strchr(seg, '/');
        seg = slash ? slash + 1 : NULL;
    }
    return 1;
}

/* A separator sent percent-encoded ("%2F", "%5C") can only be meant to get
 * past a check of the raw path: no stored key needs one (url() of
 * storage_local leaves '/' as it is). */
static int raw_path_has_encoded_separator(const vf_req_t *r)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    return !raw || strcasestr(raw, "%2f") || strcasestr(raw, "%5c");
}

/* Open path for reading, refusing every symlink on the way (the storage
 * plugin resolved the root's own links), so a link swapped in after the
 * plugin looked cannot lead outside.  O_NONBLOCK: a FIFO must not stall the
 * loop; it is refused after fstat. */
static int open_no_symlinks(const char *path)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
#ifdef SYS_openat2
    struct open_how how = {.flags = (uint64_t)flags,
                           .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS)
        return (int)fd;
#endif
    /* Old kernel: only the last component is checked here; the plugin's
     * local_path() walked the directories without following links. */
    return open(path, flags);
}

static void reply_status(vf_req_t *r, int status, const char *message)
{
    if (r->method == VF_HEAD) {
        vf_reply_buffer(r, status, "application/json; charset=utf-8", NULL);
        return;
    }
    vf_reply_msg(r, status, "detail", message);
}

static void not_found(vf_req_t *r) { reply_status(r, 404, "Not found."); }

/* -------------------------------------------------------------- serving */

/* The storage plugin's path of key when media may be served; NULL (and the
 * request answered) otherwise. */
static char *local_path_of(vf_req_t *r, const char *key)
{
    const vf_app_t *app = r->ctx->app;
    if ((!app->cfg->server.serve_media && !*app->cfg->media.accel_redirect) || !app->storage)
        return NULL;
    char *path = NULL;
    vf_error_t err = {0};
    int rc = vf_storage_local_path(app->storage, key, &path, &err);
    if (rc < 0) {
        if (rc != -ENOENT && rc != -EINVAL && rc != -ENOTSUP)
            vf_warn("media: '%.200s': %s", key, err.message);
        free(path);
        return NULL;
    }
    return path;
}

/* The local path of the key of a /media/ request, NULL when it is not to
 * be served (the caller answers 404). */
static char *servable_path(vf_req_t *r, const char *key)
{
    if (!key || !key_is_servable(key) || raw_path_has_encoded_separator(r))
        return NULL;
    return local_path_of(r, key);
}

static void content_type_of(vf_req_t *r, const char *key, char *out, size_t len)
{
    const vf_plugin_t *storage = r->ctx->app->storage;
    vf_storage_stat_t st;
    vf_error_t err;
    if (vf_storage_ops(storage)->stat(storage->state, key, &st, &err) == 0 && st.content_type[0])
        snprintf(out, len, "%s", st.content_type);
    else
        snprintf(out, len, "application/octet-stream");
}

/* Queue [offset, offset+length) of fd for sendfile(); takes fd. */
static struct evbuffer *file_body(int fd, uint64_t offset, uint64_t length)
{
    struct evbuffer *buf = evbuffer_new();
    if (!buf) {
        close(fd);
        return NULL;
    }
    /* Without this flag libevent maps or reads the whole segment. */
    struct evbuffer_file_segment *seg =
        evbuffer_set_flags(buf, EVBUFFER_FLAG_DRAINS_TO_FD) == 0
            ? evbuffer_file_segment_new(fd, (ev_off_t)offset, (ev_off_t)length, EVBUF_FS_CLOSE_ON_FREE)
            : NULL;
    if (!seg) {
        close(fd);
        evbuffer_free(buf);
        return NULL;
    }
    int rc = evbuffer_add_file_segment(buf, seg, 0, (ev_off_t)length);
    evbuffer_file_segment_free(seg); /* the buffer's chain keeps its own reference */
    if (rc != 0) {
        evbuffer_free(buf);
        return NULL;
    }
    return buf;
}

static void set_length(vf_req_t *r, uint64_t n)
{
    char len[24];
    snprintf(len, sizeof len, "%" PRIu64, n);
    vf_reply_header(r, "Content-Length", len);
}

/* -------------------------------------------------- X-Accel-Redirect */

static int uri_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '/';
}

/* prefix + key with every byte but the unreserved ones and '/' written
 * %XX: a key may hold '?', '%' or spaces, which Nginx would otherwise take
 * for the query or an escape.  malloc()ed, NULL when out of memory. */
static char *accel_uri(const char *prefix, const char *key)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t plen = strlen(prefix);
    char *out = malloc(plen + 3 * strlen(key) + 1);
    if (!out)
        return NULL;
    memcpy(out, prefix, plen);
    char *w = out + plen;
    for (const unsigned char *c = (const unsigned char *)key; *c; c++) {
        if (uri_unreserved(*c)) {
            *w++ = (char)*c;
        } else {
            *w++ = '%';
            *w++ = hex[*c >> 4];
            *w++ = hex[*c & 15];
        }
    }
    *w = '\0';
    return out;
}

/* The viewer must be logged in; Nginx then sends the file (and answers
 * Range, If-None-Match and the rest) from its internal location. */
static void media_accel_redirect(vf_req_t *r, const char *key, const char *prefix)
{
    if (vf_auth_require(r) < 0)
        return;
    char *path = NULL, *uri = NULL;
    if (!(path = servable_path(r, key))) {
        not_found(r);
        goto out;
    }
    uri = accel_uri(prefix, key);
    if (!uri) {
        reply_status(r, 500, "Out of memory.");
        goto out;
    }
    char ctype[128];
    content_type_of(r, key, ctype, sizeof ctype);
    vf_reply_header(r, "X-Accel-Redirect", uri);
    vf_reply_header(r, "Content-Type", ctype);
    /* Nginx keeps this on the file's answer: no shared cache may keep it. */
    vf_reply_header(r, "Cache-Control", "private");
    set_length(r, 0);
    vf_reply_buffer(r, 200, NULL, NULL);
out:
    free(uri);
    free(path);
}

/* ---------------------------------------------------------- GET, HEAD */

static void media_get(vf_req_t *r)
{
    const char *key = vf_req_param(r, 0);
    const char *accel = r->ctx->app->cfg->media.accel_redirect;
    if (*accel) {
        media_accel_redirect(r, key, accel);
        return;
    }
    int fd = -1;
    char *path = NULL;
    if (!(path = servable_path(r, key))) {
        not_found(r);
        goto out;
    }
    fd = open_no_symlinks(path);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd < 0 && errno != ENOENT && errno != ELOOP && errno != ENOTDIR && errno != EXDEV) {
            char why[128];
            vf_warn("media: cannot open '%.200s': %s", key, strerror_r(errno, why, sizeof why));
        }
        not_found(r);
        goto out;
    }
    uint64_t size = (uint64_t)sb.st_size;
    int64_t mtime = (int64_t)sb.st_mtim.tv_sec;
    /* The storage_local plugin's ETag: a replaced file is a new inode. */
    char etag[80], modified[40], ctype[128];
    snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", size,
             (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec, (uint64_t)sb.st_ino);
    vf_time_http(mtime, modified, sizeof modified);
    vf_reply_header(r, "ETag", etag);
    vf_reply_header(r, "Last-Modified", modified);
    vf_reply_header(r, "Accept-Ranges", "bytes");

    if (vf_not_modified(vf_req_header(r, "If-None-Match"), vf_req_header(r, "If-Modified-Since"), etag, mtime)) {
        vf_reply_buffer(r, 304, NULL, NULL);
        goto out;
    }

    content_type_of(r, key, ctype, sizeof ctype);
    uint64_t first = 0, last = size ? size - 1 : 0;
    vf_range_kind_t range = VF_RANGE_NONE;
    const char *range_h = vf_req_header(r, "Range");
    const char *if_range = vf_req_header(r, "If-Range");
    if (range_h && (!if_range || vf_if_range_holds(if_range, etag, mtime)))
        range = vf_range_parse(range_h, size, &first, &last);
    if (range == VF_RANGE_UNSATISFIABLE) {
        char cr[48];
        snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
        vf_reply_header(r, "Content-Range", cr);
        reply_status(r, 416, "Requested range not satisfiable.");
        goto out;
    }
    uint64_t length = size == 0 ? 0 : last - first + 1;
    int status = 200;
    if (range == VF_RANGE_ONE) {
        char cr[80];
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        vf_reply_header(r, "Content-Range", cr);
        status = 206;
    }
    struct evbuffer *body = NULL;
    if (r->method != VF_HEAD && length > 0) {
        body = file_body(fd, first, length);
        fd = -1;
        if (!body) {
            vf_error("media: cannot queue '%.200s' for sending", key);
            reply_status(r, 500, "Cannot send the file.");
            goto out;
        }
    }
    /* Explicit for HEAD, where evhttp would leave it out. */
    set_length(r, length);
    vf_reply_header(r, "Content-Type", ctype);
    vf_reply_buffer(r, status, NULL, body);
    if (body)
        evbuffer_free(body);
out:
    if (fd >= 0)
        close(fd);
    free(path);
}

void vf_media_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET, "/media/*", media_get);
}
