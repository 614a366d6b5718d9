/*
 * content_cache.c - see content_cache.h.
 *
 * Why a generation number read before the query is enough: PostgreSQL
 * delivers a NOTIFY only once the notifying transaction is visible to new
 * snapshots.  A build reads the generation, then queries.  If the query's
 * snapshot missed a change, that change committed after the snapshot, so
 * its notification bumps the generation after the build read it, and the
 * stored catalogue no longer matches.  Losing the listening connection, and
 * getting it back, bump the generation too: notifications sent in between
 * were never seen.
 *
 * The server starts the listener thread at start-up (vf_catalog_start) and
 * stops it at exit; a process that never starts it still gets catalogues,
 * re-read every UNWATCHED_TTL_US.
 */
#include "config.h"
#include "catalog/content_cache.h"
#include "catalog/video_json.h"
#include "util/coded_body.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long a catalogue may live while notifications cannot be trusted: a
 * change must show within one second, and a build takes a few ms. */
#define UNWATCHED_TTL_US 500000
/* While the database is away, how often one request tries a new build. */
#define REBUILD_RETRY_US 250000
/* Wait between attempts to get the listening connection back. */
#define RELISTEN_WAIT_MS 200

typedef struct catalog_impl {
    vf_catalog_t pub;         /* first: vf_catalog_t * and catalog_impl_t * convert */
    atomic_int refs;
    uint64_t generation;
    int64_t built_us;         /* monotonic, taken before the query */
    char *body;
    vf_catalog_video_t *videos;
    size_t nvideos;
    const vf_plugin_t *storage;
    int url_expires;
    _Atomic(char *) *play_json;   /* per video: its renditions, then its source */
    size_t nslots;
    /* The body with its ETag and its encodings, made on first use. */
    vf_coded_body_t coded;
    int coded_ready;          /* coded was initialised */
} catalog_impl_t;

static struct {
    pthread_mutex_t lock;
    catalog_impl_t *current;
    int started;
    pthread_t listener;
    int wake[2];              /* written to stop the listener */
    int64_t url_ttl_us;       /* 0: the storage's URLs do not expire */
    int64_t max_stale_us;     /* serving the last catalogue while the database is away */
    int64_t url_life_us;      /* a stale catalogue's URLs must still work */
    int64_t rebuild_after_us; /* after a failed build: no new attempt before */
    vf_complain_t stale_complaint;
    atomic_uint_fast64_t generation;
    atomic_int listening;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = {-1, -1}};

/* ---------------------------------------------------------------- catalogue */

static void catalog_free(catalog_impl_t *c)
{
    if (c->coded_ready)
        vf_coded_body_fini(&c->coded);
    for (size_t i = 0; c->play_json && i < c->nslots; i++)
        free(atomic_load(&c->play_json[i]));
    free(c->play_json);
    for (size_t i = 0; i < c->nvideos; i++) {
        vf_catalog_video_t *v = &c->videos[i];
        free(v->source_key);
        for (size_t j = 0; j < v->nrenditions; j++) {
            free(v->qualities[j]);
            free(v->keys[j]);
        }
        free(v->qualities);
        free(v->keys);
    }
    free(c->videos);
    free(c->body);
    free(c);
}

void vf_catalog_release(vf_catalog_t *cat)
{
    catalog_impl_t *c = (catalog_impl_t *)cat;
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        catalog_free(c);
}

static void catalog_ref(catalog_impl_t *c) { atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed); }

static int cmp_video_id(const void *a, const void *b)
{
    int64_t x = ((const vf_catalog_video_t *)a)->id, y = ((const vf_catalog_video_t *)b)->id;
    return (x > y) - (x < y);
}

const vf_catalog_video_t *vf_catalog_find(const vf_catalog_t *cat, int64_t id)
{
    vf_catalog_video_t key = {.id = id};
    return cat->nvideos ? bsearch(&key, cat->videos, cat->nvideos, sizeof key, cmp_video_id) : NULL;
}

static void release_reference(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    vf_catalog_release(arg);
}

int vf_catalog_add_to_buffer(vf_catalog_t *cat, struct evbuffer *buf, const char *data, size_t len)
{
    catalog_impl_t *c = (catalog_impl_t *)cat;
    catalog_ref(c);
    if (evbuffer_add_reference(buf, data, len, release_reference, c) != 0) {
        vf_catalog_release(cat);
        return -ENOMEM;
    }
    return 0;
}

vf_coded_body_t *vf_catalog_list_body(vf_catalog_t *cat) { return &((catalog_impl_t *)cat)->coded; }

static int make_play_json(const catalog_impl_t *c, const char *key, char **out, vf_error_t *err)
{
    const vf_storage_ops_t *ops = vf_storage_ops(c->storage);
    vf_storage_url_opts_t opts = {.expires = c->url_expires, .content_disposition = "inline"};
    char *url = NULL;
    int ret = ops->url(c->storage->state, key, &opts, &url, err);
    if (ret == 0 && !url)
        ret = -EIO;
    if (ret < 0) {
        free(url);
        return ret;
    }
    json_t *obj = json_pack("{s:s}", "url", url);
    *out = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    free(url);
    return *out ? 0 : -ENOMEM;
}

int vf_catalog_play_json(vf_catalog_t *cat, const vf_catalog_video_t *v, const char *quality, const char **json,
                         size_t *len, vf_error_t *err)
{
    catalog_impl_t *c = (catalog_impl_t *)cat;
    size_t slot = v->first_slot + v->nrenditions;
    const char *key = v->source_key;
    if (quality) {
        key = NULL;
        for (size_t i = 0; i < v->nrenditions && !key; i++)
            if (strcmp(v->qualities[i], quality) == 0) {
                key = v->keys[i];
                slot = v->first_slot + i;
            }
    }
    if (!key)
        return -ENOENT;
    if (!c->storage)
        return -ENOTSUP;
    char *made = atomic_load_explicit(&c->play_json[slot], memory_order_acquire);
    if (!made) {
        int ret = make_play_json(c, key, &made, err);
        if (ret < 0)
            return ret;
        char *expected = NULL;
        /* Another thread may have made it meanwhile: keep the first one. */
        if (!atomic_compare_exchange_strong_explicit(&c->play_json[slot], &expected, made, memory_order_acq_rel,
                                                     memory_order_acquire)) {
            free(made);
            made = expected;
        }
    }
    *json = made;
    *len = strlen(made);
    return 0;
}

/* --------------------------------------------------------------- building */

typedef struct growbuf {
    char *data;
    size_t len, cap;
} growbuf_t;

static int grow_append(const char *bytes, size_t n, void *arg)
{
    growbuf_t *b = arg;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* Copy converted_files of the video object into v's arrays. */
static int take_renditions(vf_catalog_video_t *v, json_t *obj)
{
    json_t *files = json_object_get(obj, "converted_files");
    size_t n = json_object_size(files);
    if (n == 0)
        return 0;
    v->qualities = calloc(n, sizeof *v->qualities);
    v->keys = calloc(n, sizeof *v->keys);
    if (!v->qualities || !v->keys)
        return -ENOMEM;
    const char *quality;
    json_t *key;
    json_object_foreach(files, quality, key) {
        if (!json_is_string(key))
            continue;
        v->qualities[v->nrenditions] = strdup(quality);
        v->keys[v->nrenditions] = strdup(json_string_value(key));
        if (!v->qualities[v->nrenditions] || !v->keys[v->nrenditions]) {
            v->nrenditions++; /* so that catalog_free frees the one that was made */
            return -ENOMEM;
        }
        v->nrenditions++;
    }
    return 0;
}

static int add_row(catalog_impl_t *c, const vf_app_t *app, const PGresult *res, int row, growbuf_t *body)
{
    json_t *obj = vf_video_json(app, res, row);
    if (!obj)
        return -ENOMEM;
    vf_catalog_video_t *v = &c->videos[c->nvideos++];
    int ret = -ENOMEM;
    v->id = strtoll(PQgetvalue(res, row, VF_VIDEO_COL_ID), NULL, 10);
    v->first_slot = c->nslots;
    if (!PQgetisnull(res, row, VF_VIDEO_COL_SOURCE_KEY) &&
        !(v->source_key = strdup(PQgetvalue(res, row, VF_VIDEO_COL_SOURCE_KEY))))
        goto out;
    if (take_renditions(v, obj) < 0)
        goto out;
    v->generation = atoi(PQgetvalue(res, row, VF_VIDEO_COL_GENERATION));
    snprintf(v->hls_state, sizeof v->hls_state, "%s", PQgetvalue(res, row, VF_VIDEO_COL_HLS_STATE));
    c->nslots += v->nrenditions + 1;
    if (row > 0 && grow_append(",", 1, body) < 0)
        goto out;
    v->json_off = body->len;
    if (json_dump_callback(obj, grow_append, body, JSON_COMPACT) != 0)
        goto out;
    v->json_len = body->len - v->json_off;
    vf_etag_of(body->data + v->json_off, v->json_len, v->etag);
    ret = 0;
out:
    json_decref(obj);
    return ret;
}

static int build(vf_thread_ctx_t *ctx, uint64_t generation, catalog_impl_t **out)
{
    PGresult *res = NULL;
    growbuf_t body = {0};
    catalog_impl_t *c = calloc(1, sizeof *c);
    int ret = -ENOMEM;
    if (!c)
        goto out;
    c->generation = generation;
    c->built_us = vf_mono_us();
    c->storage = ctx->app->storage;
    c->url_expires = ctx->app->cfg->media.url_expires;
    ret = vf_db_exec(ctx->db, &res,
                     "SELECT " VF_VIDEO_COLUMNS " FROM videos v ORDER BY v.created_at DESC, v.id DESC", 0, NULL);
    if (ret < 0)
        goto out;
    ret = -ENOMEM;
    int n = PQntuples(res);
    if (n > 0 && !(c->videos = calloc((size_t)n, sizeof *c->videos)))
        goto out;
    if (grow_append("[", 1, &body) < 0)
        goto out;
    for (int i = 0; i < n; i++)
        if (add_row(c, ctx->app, res, i, &body) < 0)
            goto out;
    if (grow_append("]", 1, &body) < 0)
        goto out;
    if (c->nslots > 0 && !(c->play_json = calloc(c->nslots, sizeof *c->play_json)))
        goto out;
    if (c->nvideos > 1)
        qsort(c->videos, c->nvideos, sizeof *c->videos, cmp_video_id);
    c->body = body.data;
    body.data = NULL;
    if (vf_coded_body_init(&c->coded, c->body, body.len) < 0)
        goto out;
    c->coded_ready = 1;
    memcpy(c->pub.etag, c->coded.etag, sizeof c->pub.etag);
    c->pub.body = c->body;
    c->pub.body_len = body.len;
    c->pub.videos = c->videos;
    c->pub.nvideos = c->nvideos;
    atomic_init(&c->refs, 1);
    *out = c;
    c = NULL;
    ret = 0;
out:
    if (ret == -ENOMEM)
        vf_error("content: out of memory building the catalogue");
    PQclear(res);
    free(body.data);
    if (c)
        catalog_free(c);
    return ret;
}

/* --------------------------------------------------------------- listening */

static void bump_generation(void) { atomic_fetch_add(&cache.generation, 1); }

/* 1 when vf_catalog_stop asked the listener to leave. */
static int stop_requested(int timeout_ms)
{
    struct pollfd pfd = {.fd = cache.wake[0], .events = POLLIN};
    return poll(&pfd, 1, timeout_ms) > 0;
}

/* Wait for notifications on a connection that LISTENs; returns 0 when the
 * connection fails, 1 when the listener is asked to stop. */
static int watch(PGconn *conn)
{
    for (;;) {
        /* libpq may have queued some while reading an earlier result. */
        int notified = 0;
        PGnotify *n;
        while ((n = PQnotifies(conn)) != NULL) {
            notified = 1;
            PQfreemem(n);
        }
        if (notified)
            bump_generation();
        if (PQstatus(conn) != CONNECTION_OK)
            return 0;
        struct pollfd pfd[2] = {{.fd = PQsocket(conn), .events = POLLIN},
                                {.fd = cache.wake[0], .events = POLLIN}};
        if (pfd[0].fd < 0)
            return 0;
        int rc = poll(pfd, 2, -1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc > 0 && pfd[1].revents)
            return 1;
        if (rc < 0 || !PQconsumeInput(conn))
            return 0;
    }
}

static void *listener_main(void *arg)
{
    vf_db_t *db = arg;
    vf_complain_t complain = {0};
    for (;;) {
        PGconn *conn = vf_db_conn(db);
        if (conn && vf_db_run(db, "LISTEN " VF_CATALOG_CHANNEL, 0, NULL) == 0) {
            if (complain.interval > 0)
                vf_info("content: listening for catalogue changes again");
            vf_complain_reset(&complain);
            bump_generation();
            atomic_store(&cache.listening, 1);
            int stop = watch(conn);
            atomic_store(&cache.listening, 0);
            bump_generation();
            if (stop)
                break;
            if (PQstatus(conn) == CONNECTION_OK)
                PQreset(conn); /* a failure vf_db_conn cannot see: start afresh */
        }
        if (vf_complain_should_log(&complain, 60))
            vf_warn("content: not listening for catalogue changes (%s); the catalogue is re-read every %d ms",
                    vf_db_last_error(db)[0] ? vf_db_last_error(db) : "connection lost", UNWATCHED_TTL_US / 1000);
        if (stop_requested(RELISTEN_WAIT_MS))
            break;
    }
    vf_db_free(&db);
    return NULL;
}

/* Whether the storage's URLs expire, as the plugin declares it (or, for a
 * 1.0 plugin, as the loader inferred). */
static int urls_expire(const vf_plugin_t *storage)
{
    return storage && (storage->storage_caps.flags & VF_STORAGE_URLS_EXPIRE);
}

int vf_catalog_start(const vf_app_t *app)
{
    int ret = 0;
    pthread_mutex_lock(&cache.lock);
    if (cache.started)
        goto out;
    cache.url_ttl_us = urls_expire(app->storage) ? (int64_t)app->cfg->media.url_expires * 1000000 / 3 : 0;
    cache.url_life_us = cache.url_ttl_us ? (int64_t)app->cfg->media.url_expires * 1000000 * 9 / 10 : 0;
    cache.max_stale_us = (int64_t)app->cfg->server.catalog_max_stale * 1000000;
    vf_db_t *db = vf_db_new(app->cfg);
    if (!db) {
        ret = -ENOMEM;
        goto out;
    }
    if (pipe2(cache.wake, O_CLOEXEC) != 0) {
        ret = -errno;
        vf_db_free(&db);
        goto out;
    }
    int rc = pthread_create(&cache.listener, NULL, listener_main, db);
    if (rc != 0) {
        ret = -rc;
        vf_db_free(&db);
        close(cache.wake[0]);
        close(cache.wake[1]);
        cache.wake[0] = cache.wake[1] = -1;
        goto out;
    }
    cache.started = 1;
out:
    pthread_mutex_unlock(&cache.lock);
    if (ret < 0)
        vf_error("content: cannot start the catalogue listener: %s", strerror(-ret));
    return ret;
}

void vf_catalog_stop(void)
{
    pthread_mutex_lock(&cache.lock);
    int started = cache.started;
    cache.started = 0;
    catalog_impl_t *cur = cache.current;
    cache.current = NULL;
    pthread_mutex_unlock(&cache.lock);
    if (started) {
        if (write(cache.wake[1], "x", 1) != 1)
            vf_warn("content: cannot wake the catalogue listener: %s", strerror(errno));
        pthread_join(cache.listener, NULL);
        close(cache.wake[0]);
        close(cache.wake[1]);
        cache.wake[0] = cache.wake[1] = -1;
    }
    if (cur)
        vf_catalog_release(&cur->pub);
}

/* ------------------------------------------------------------------ access */

/* Called with cache.lock held. */
static int is_fresh(const catalog_impl_t *c)
{
    if (c->generation != atomic_load(&cache.generation))
        return 0;
    int64_t age = vf_mono_us() - c->built_us;
    if (cache.url_ttl_us > 0 && age >= cache.url_ttl_us)
        return 0;
    return atomic_load(&cache.listening) || age < UNWATCHED_TTL_US;
}

/* Called with cache.lock held: the current catalogue, though stale, while
 * the database cannot give a new one (a restart, a failover): readers keep
 * their answers for at most server.catalog_max_stale seconds past the
 * catalogue's fresh life, and never once its URLs may have expired. */
static catalog_impl_t *stale_fallback(int64_t now)
{
    catalog_impl_t *cur = cache.current;
    if (!cur || cache.max_stale_us <= 0)
        return NULL;
    int64_t age = now - cur->built_us;
    int64_t fresh = cache.url_ttl_us > 0 ? cache.url_ttl_us : UNWATCHED_TTL_US;
    if (age >= fresh + cache.max_stale_us || (cache.url_life_us > 0 && age >= cache.url_life_us))
        return NULL;
    catalog_ref(cur);
    return cur;
}

int vf_catalog_get(vf_thread_ctx_t *ctx, vf_catalog_t **out)
{
    *out = NULL;
    int64_t now = vf_mono_us();
    pthread_mutex_lock(&cache.lock);
    catalog_impl_t *cur = cache.current;
    if (cur && is_fresh(cur)) {
        catalog_ref(cur);
        pthread_mutex_unlock(&cache.lock);
        *out = &cur->pub;
        return 0;
    }
    /* The database just failed us: do not make every request wait for a
     * connection attempt while the stale catalogue can answer. */
    catalog_impl_t *stale = now < cache.rebuild_after_us ? stale_fallback(now) : NULL;
    pthread_mutex_unlock(&cache.lock);
    if (stale) {
        *out = &stale->pub;
        return 0;
    }

    uint64_t generation = atomic_load(&cache.generation);
    catalog_impl_t *built = NULL;
    int ret = build(ctx, generation, &built);
    if (ret < 0) {
        pthread_mutex_lock(&cache.lock);
        cache.rebuild_after_us = vf_mono_us() + REBUILD_RETRY_US;
        stale = ret == -ECONNRESET ? stale_fallback(vf_mono_us()) : NULL;
        int complain = stale && vf_complain_should_log(&cache.stale_complaint, 30);
        pthread_mutex_unlock(&cache.lock);
        if (!stale)
            return ret;
        if (complain)
            vf_warn("content: the database is unreachable; serving the catalogue built %lld ms ago",
                    (long long)((vf_mono_us() - stale->built_us) / 1000));
        *out = &stale->pub;
        return 0;
    }
    catalog_impl_t *replaced = NULL;
    pthread_mutex_lock(&cache.lock);
    vf_complain_reset(&cache.stale_complaint);
    cache.rebuild_after_us = 0;
    /* Another thread may have stored one read after a newer notification. */
    if (!cache.current || built->generation >= cache.current->generation) {
        replaced = cache.current;
        catalog_ref(built);
        cache.current = built;
    }
    pthread_mutex_unlock(&cache.lock);
    if (replaced)
        vf_catalog_release(&replaced->pub);
    *out = &built->pub;
    return 0;
}
