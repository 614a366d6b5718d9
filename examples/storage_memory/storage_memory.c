/*
 * storage_memory.c - an example Videoflix storage plugin, built outside the
 * Videoflix tree from the installed headers alone (see README.md here).
 * Objects and unfinished multipart uploads live in this process's memory,
 * behind one mutex, up to `max_bytes`; they are gone when the process ends.
 * Useful for trying a setup without a disk or a bucket, and as a model of
 * the plugin ABI 1.1: settings and keys are checked by the host's helpers,
 * capabilities are declared, copies report progress and can be stopped.
 *
 * It owns nothing outside its own state; it includes only <videoflix/...>.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <videoflix/content_type.h>
#include <videoflix/storage.h>

#define NAME "storage_memory"
#define MAX_PARTS 1000
#define MAX_PART_SIZE ((size_t)8 << 20)
#define CHUNK ((size_t)1 << 20)   /* bytes copied between progress reports */

/* ------------------------------------------------------------ state */

typedef struct settings {
    char *public_url;             /* objects are served below it */
    int64_t max_bytes;            /* objects and parts held at once */
} settings_t;

static const vf_setting_t setting_table[] = {
    {.name = "public_url", .type = VF_SETTING_STRING, .flags = VF_SETTING_NONEMPTY,
     .offset = offsetof(settings_t, public_url), .str_default = "http://127.0.0.1:8000/media/"},
    {.name = "max_bytes", .type = VF_SETTING_INT64, .offset = offsetof(settings_t, max_bytes),
     .min = 1, .max = INT64_MAX, .int_default = (int64_t)256 << 20},
};
#define NSETTINGS (sizeof setting_table / sizeof setting_table[0])

typedef struct blob {
    char *bytes;
    size_t len;
    char etag[24];                /* quoted hash of the bytes */
} blob_t;

typedef struct object {
    char *key;
    blob_t data;
    int64_t mtime;
    struct object *next;
} object_t;

typedef struct upload {
    char id[33];
    char *key;
    blob_t parts[MAX_PARTS];      /* parts[n - 1] is part n */
    unsigned nparts;
    struct upload *next;
} upload_t;

typedef struct memory {
    const vf_host_api_t *host;
    settings_t settings;
    pthread_mutex_t lock;         /* guards everything below */
    object_t *objects;
    upload_t *uploads;
    size_t used;                  /* bytes in objects and parts */
} memory_t;

/* --------------------------------------------------------- helpers */

/* FNV-1a, quoted: the same bytes always get the same ETag. */
static void make_etag(blob_t *b)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < b->len; i++)
        h = (h ^ (unsigned char)b->bytes[i]) * 1099511628211u;
    snprintf(b->etag, sizeof b->etag, "\"%016llx\"", (unsigned long long)h);
}

/* Take `len` bytes of the budget; -ENOSPC when they do not fit. */
static int reserve(memory_t *m, size_t len, vf_error_t *err)
{
    if (len > (size_t)m->settings.max_bytes - m->used)
        return m->host->error(err, ENOSPC, NAME ": %zu more bytes would pass max_bytes (%lld)", len,
                              (long long)m->settings.max_bytes);
    m->used += len;
    return 0;
}

static void release(memory_t *m, blob_t *b)
{
    m->used -= b->len;
    free(b->bytes);
    *b = (blob_t){0};
}

static object_t **find_object(memory_t *m, const char *key)
{
    object_t **o = &m->objects;
    while (*o && strcmp((*o)->key, key) != 0)
        o = &(*o)->next;
    return o;
}

static upload_t **find_upload(memory_t *m, const char *id)
{
    upload_t **u = &m->uploads;
    while (*u && strcmp((*u)->id, id) != 0)
        u = &(*u)->next;
    return u;
}

/* Store `data` (taken) under `key`, replacing any object; lock held. */
static int store(memory_t *m, const char *key, blob_t *data, vf_error_t *err)
{
    object_t **slot = find_object(m, key), *o = *slot;
    if (!o) {
        if (!(o = calloc(1, sizeof *o)) || !(o->key = strdup(key))) {
            free(o);
            return m->host->error(err, ENOMEM, NAME ": out of memory");
        }
        *slot = o;
    } else
        release(m, &o->data);
    o->data = *data;
    o->mtime = (int64_t)time(NULL);
    *data = (blob_t){0};
    return 0;
}

/* Report `done` of `total` bytes copied: 0, or -ECANCELED when the
 * caller's progress function asks to stop. */
static int stopped(memory_t *m, vf_progress_fn progress, void *ud, size_t done, size_t total, const char *what,
                   vf_error_t *err)
{
    if (progress && progress(ud, total ? 100.0 * (double)done / (double)total : 100.0) != 0)
        return m->host->error(err, ECANCELED, NAME ": the copy of %s was stopped", what);
    return 0;
}

static size_t chunk_at(size_t done, size_t total)
{
    return total - done < CHUNK ? total - done : CHUNK;
}

/* -------------------------------------------------- whole objects */

static int mem_put_file_progress(void *state, const char *key, const char *path, vf_progress_fn progress,
                                 void *ud, vf_error_t *err)
{
    memory_t *m = state;
    blob_t data = {0};
    FILE *f = NULL;
    struct stat sb;
    int ret = m->host->key_check(key, err);
    if (ret < 0)
        return ret;
    if (!(f = fopen(path, "rb")) || fstat(fileno(f), &sb) != 0) {
        ret = m->host->error(err, errno, NAME ": cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    data.len = (size_t)sb.st_size;
    if (!(data.bytes = malloc(data.len + 1))) {
        ret = m->host->error(err, ENOMEM, NAME ": no memory for %zu bytes", data.len);
        goto out;
    }
    /* Progress after every chunk; the last report (100) comes before the
     * object is stored, so stopping there still stores nothing. */
    size_t done = 0;
    do {
        size_t n = chunk_at(done, data.len);
        if (n && fread(data.bytes + done, 1, n, f) != n) {
            ret = m->host->error(err, EIO, NAME ": cannot read %s: it shrank while being read", path);
            goto out;
        }
        done += n;
        if ((ret = stopped(m, progress, ud, done, data.len, path, err)) < 0)
            goto out;
    } while (done < data.len);
    make_etag(&data);
    pthread_mutex_lock(&m->lock);
    ret = reserve(m, data.len, err);
    if (ret == 0 && (ret = store(m, key, &data, err)) < 0)
        m->used -= data.len;
    pthread_mutex_unlock(&m->lock);
out:
    free(data.bytes); /* NULL once stored */
    if (f)
        fclose(f);
    return ret;
}

static int mem_put_file(void *state, const char *key, const char *path, vf_error_t *err)
{
    return mem_put_file_progress(state, key, path, NULL, NULL, err);
}

/* A copy of the object's bytes, taken under the lock, so the file is
 * written without holding it. */
static int snapshot(memory_t *m, const char *key, blob_t *out, vf_error_t *err)
{
    int ret = m->host->key_check(key, err);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&m->lock);
    object_t *o = *find_object(m, key);
    if (!o)
        ret = m->host->error(err, ENOENT, NAME ": no object '%s'", key);
    else if (!(out->bytes = malloc(o->data.len + 1)))
        ret = m->host->error(err, ENOMEM, NAME ": out of memory");
    else {
        memcpy(out->bytes, o->data.bytes, o->data.len);
        out->len = o->data.len;
    }
    pthread_mutex_unlock(&m->lock);
    return ret;
}

/* 0, or -errno. */
static int write_all(int fd, const char *bytes, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, bytes, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        bytes += w;
        len -= (size_t)w;
    }
    return 0;
}

static int mem_get_file_progress(void *state, const char *key, const char *path, vf_progress_fn progress,
                                 void *ud, vf_error_t *err)
{
    memory_t *m = state;
    blob_t data = {0};
    int ret = snapshot(m, key, &data, err);
    if (ret < 0)
        return ret;
    /* A temporary file beside `path`, renamed over it at the end. */
    char *tmp = NULL;
    int fd = -1;
    if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
        tmp = NULL;
        ret = m->host->error(err, ENOMEM, NAME ": out of memory");
        goto out;
    }
    if ((fd = mkstemp(tmp)) < 0 || fchmod(fd, 0644) != 0) {
        ret = m->host->error(err, errno, NAME ": cannot write beside %s: %s", path, strerror(errno));
        goto out;
    }
    size_t done = 0;
    do {
        size_t n = chunk_at(done, data.len);
        if (n && (ret = write_all(fd, data.bytes + done, n)) < 0) {
            ret = m->host->error(err, -ret, NAME ": cannot write %s: %s", tmp, strerror(-ret));
            goto out;
        }
        done += n;
        if ((ret = stopped(m, progress, ud, done, data.len, key, err)) < 0)
            goto out;
    } while (done < data.len);
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        fd = -1;
        ret = m->host->error(err, errno, NAME ": cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    free(tmp);
    tmp = NULL; /* renamed: nothing to remove */
out:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    free(data.bytes);
    return ret;
}

static int mem_get_file(void *state, const char *key, const char *path, vf_error_t *err)
{
    return mem_get_file_progress(state, key, path, NULL, NULL, err);
}

static int mem_stat(void *state, const char *key, vf_storage_stat_t *out, vf_error_t *err)
{
    memory_t *m = state;
    int ret = m->host->key_check(key, err);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&m->lock);
    object_t *o = *find_object(m, key);
    if (!o)
        ret = m->host->error(err, ENOENT, NAME ": no object '%s'", key);
    else {
        memset(out, 0, sizeof *out);
        out->size = o->data.len;
        out->mtime = o->mtime;
        snprintf(out->etag, sizeof out->etag, "%s", o->data.etag);
        snprintf(out->content_type, sizeof out->content_type, "%s", vf_content_type_for_key(key));
    }
    pthread_mutex_unlock(&m->lock);
    return ret;
}

static int mem_remove(void *state, const char *key, vf_error_t *err)
{
    memory_t *m = state;
    int ret = m->host->key_check(key, err);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&m->lock);
    object_t **slot = find_object(m, key), *o = *slot;
    if (o) {
        *slot = o->next;
        release(m, &o->data);
        free(o->key);
        free(o);
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* public_url followed by the key, percent-encoded but for its slashes. */
static int mem_url(void *state, const char *key, const vf_storage_url_opts_t *opts, char **url, vf_error_t *err)
{
    memory_t *m = state;
    (void)opts; /* URLs do not expire, and the core serves the disposition */
    *url = NULL;
    int ret = m->host->key_check(key, err);
    if (ret < 0)
        return ret;
    size_t base = strlen(m->settings.public_url);
    char *out = malloc(base + 3 * strlen(key) + 1), *p;
    if (!out)
        return m->host->error(err, ENOMEM, NAME ": out of memory");
    memcpy(out, m->settings.public_url, base);
    p = out + base;
    for (const unsigned char *c = (const unsigned char *)key; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-._~/", *c))
            *p++ = (char)*c;
        else
            p += sprintf(p, "%%%02X", *c);
    }
    *p = '\0';
    *url = out;
    return 0;
}

/* --------------------------------------------------------- multipart */

static int mem_multipart_begin(void *state, const char *key, char **upload_id, vf_error_t *err)
{
    memory_t *m = state;
    *upload_id = NULL;
    int ret = m->host->key_check(key, err);
    if (ret < 0)
        return ret;
    unsigned char random[16];
    upload_t *u = calloc(1, sizeof *u);
    if (!u || !(u->key = strdup(key)) || !(*upload_id = malloc(sizeof u->id)))
        ret = m->host->error(err, ENOMEM, NAME ": out of memory");
    else if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random)
        ret = m->host->error(err, errno, NAME ": cannot make an upload id: %s", strerror(errno));
    if (ret < 0) {
        if (u)
            free(u->key);
        free(u);
        free(*upload_id);
        *upload_id = NULL;
        return ret;
    }
    for (size_t i = 0; i < sizeof random; i++)
        snprintf(u->id + 2 * i, 3, "%02x", random[i]);
    memcpy(*upload_id, u->id, sizeof u->id);
    pthread_mutex_lock(&m->lock);
    u->next = m->uploads;
    m->uploads = u;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* The upload `id` of `key`, lock held; NULL with -ENOENT or -EINVAL in *ret. */
static upload_t **lookup(memory_t *m, const char *key, const char *id, int *ret, vf_error_t *err)
{
    upload_t **u = id ? find_upload(m, id) : NULL;
    if (!u || !*u)
        *ret = m->host->error(err, ENOENT, NAME ": no upload '%s' (unknown, completed or aborted)", id ? id : "");
    else if (strcmp((*u)->key, key) != 0)
        *ret = m->host->error(err, EINVAL, NAME ": upload '%s' belongs to another key", id);
    else
        return u;
    return NULL;
}

static int mem_multipart_write(void *state, const char *key, const char *upload_id, unsigned part_number,
                               const void *data, size_t len, char **etag, vf_error_t *err)
{
    memory_t *m = state;
    *etag = NULL;
    int ret = m->host->key_check(key, err);
    if (ret < 0)
        return ret;
    if (len > MAX_PART_SIZE || (!data && len))
        return m->host->error(err, EINVAL, NAME ": a part is 0..%zu bytes of data, not %zu", MAX_PART_SIZE, len);
    blob_t part = {.len = len, .bytes = malloc(len + 1)};
    if (!part.bytes)
        return m->host->error(err, ENOMEM, NAME ": out of memory");
    memcpy(part.bytes, data ? data : "", len);
    make_etag(&part);

    pthread_mutex_lock(&m->lock);
    upload_t **slot = lookup(m, key, upload_id, &ret, err), *u = slot ? *slot : NULL;
    if (u && (part_number < 1 || part_number > u->nparts + 1 || part_number > MAX_PARTS))
        ret = m->host->error(err, EINVAL, NAME ": part %u cannot follow part %u (at most %d, in order)",
                             part_number, u->nparts, MAX_PARTS);
    else if (u && (ret = reserve(m, len, err)) == 0) {
        /* Written again: the last write wins. */
        if (part_number <= u->nparts)
            release(m, &u->parts[part_number - 1]);
        else
            u->nparts = part_number;
        u->parts[part_number - 1] = part;
        part.bytes = NULL;
        *etag = strdup(u->parts[part_number - 1].etag);
        if (!*etag)
            ret = m->host->error(err, ENOMEM, NAME ": out of memory");
    }
    pthread_mutex_unlock(&m->lock);
    free(part.bytes);
    return ret;
}

static void upload_free(memory_t *m, upload_t **slot)
{
    upload_t *u = *slot;
    *slot = u->next;
    for (unsigned i = 0; i < u->nparts; i++)
        release(m, &u->parts[i]);
    free(u->key);
    free(u);
}

static int mem_multipart_complete(void *state, const char *key, const char *upload_id,
                                  const vf_storage_part_t *parts, size_t nparts, vf_error_t *err)
{
    memory_t *m = state;
    int ret = m->host->key_check(key, err);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&m->lock);
    upload_t **slot = lookup(m, key, upload_id, &ret, err), *u = slot ? *slot : NULL;
    blob_t whole = {0};
    if (!u)
        goto out;
    if (nparts == 0 || nparts != u->nparts) {
        ret = m->host->error(err, EINVAL, NAME ": the list names %zu parts, the upload has %u", nparts, u->nparts);
        goto out;
    }
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].number != i + 1 || !parts[i].etag || strcmp(parts[i].etag, u->parts[i].etag) != 0) {
            ret = m->host->error(err, EINVAL, NAME ": entry %zu of the list is not part %zu as last written", i + 1,
                                 i + 1);
            goto out;
        }
        if (i + 1 < nparts && u->parts[i].len == 0) {
            ret = m->host->error(err, EINVAL, NAME ": part %zu is empty but not the last", i + 1);
            goto out;
        }
        whole.len += u->parts[i].len;
    }
    if (!(whole.bytes = malloc(whole.len + 1))) {
        ret = m->host->error(err, ENOMEM, NAME ": out of memory");
        goto out;
    }
    for (size_t i = 0, at = 0; i < nparts; at += u->parts[i].len, i++)
        memcpy(whole.bytes + at, u->parts[i].bytes, u->parts[i].len);
    make_etag(&whole);
    /* The parts' bytes become the object's: the budget stays the same. */
    m->used += whole.len;
    if ((ret = store(m, key, &whole, err)) < 0) {
        m->used -= whole.len;
        goto out;
    }
    upload_free(m, slot);
out:
    pthread_mutex_unlock(&m->lock);
    free(whole.bytes);
    return ret;
}

static int mem_multipart_abort(void *state, const char *key, const char *upload_id, vf_error_t *err)
{
    memory_t *m = state;
    int ret = m->host->key_check(key, err);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&m->lock);
    upload_t **slot = lookup(m, key, upload_id, &ret, err);
    if (slot)
        upload_free(m, slot);
    pthread_mutex_unlock(&m->lock);
    return ret == -ENOENT ? 0 : ret; /* unknown or finished: nothing to abort */
}

/* ------------------------------------------------------ the plugin */

static int mem_capabilities(void *state, vf_storage_caps_t *caps)
{
    (void)state;
    /* Only what the caller's structure has room for. */
    if (VF_HAS_FIELD(vf_storage_caps_t, caps, flags))
        caps->flags = 0; /* no local paths; URLs do not expire */
    if (VF_HAS_FIELD(vf_storage_caps_t, caps, url_expires_max))
        caps->url_expires_default = caps->url_expires_max = 0;
    if (VF_HAS_FIELD(vf_storage_caps_t, caps, max_parts))
        caps->max_parts = MAX_PARTS;
    if (VF_HAS_FIELD(vf_storage_caps_t, caps, min_part_size))
        caps->min_part_size = 1;
    if (VF_HAS_FIELD(vf_storage_caps_t, caps, max_part_size))
        caps->max_part_size = MAX_PART_SIZE;
    return 0;
}

static void mem_destroy(void *state)
{
    memory_t *m = state;
    while (m->uploads)
        upload_free(m, &m->uploads);
    while (m->objects) {
        object_t *o = m->objects;
        m->objects = o->next;
        release(m, &o->data);
        free(o->key);
        free(o);
    }
    m->host->settings_free(setting_table, NSETTINGS, &m->settings);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int mem_create(const vf_host_api_t *host, const config_setting_t *cfg, void **state, vf_error_t *err)
{
    /* The settings and key helpers came with ABI 1.1. */
    if (!VF_HAS_FIELD(vf_host_api_t, host, key_check))
        return host->error(err, ENOTSUP, NAME " needs a videoflix with plugin ABI 1.1 or newer (this one has %u.%u)",
                           host->abi_major, host->abi_minor);
    memory_t *m = calloc(1, sizeof *m);
    if (!m)
        return host->error(err, ENOMEM, NAME ": out of memory");
    m->host = host;
    int ret = host->settings(NAME, cfg, setting_table, NSETTINGS, &m->settings, err);
    if (ret < 0) {
        free(m);
        return ret;
    }
    if (strncmp(m->settings.public_url, "http://", 7) != 0 && strncmp(m->settings.public_url, "https://", 8) != 0) {
        ret = host->setting_error(NAME, cfg, "public_url", err, EINVAL, "public_url must start with http:// or https://");
        host->settings_free(setting_table, NSETTINGS, &m->settings);
        free(m);
        return ret;
    }
    pthread_mutex_init(&m->lock, NULL);
    *state = m;
    return 0;
}

static const vf_storage_ops_t mem_ops = {
    .size = sizeof(vf_storage_ops_t),
    .min_part_size = 1,
    .put_file = mem_put_file,
    .get_file = mem_get_file,
    .stat = mem_stat,
    .remove = mem_remove,
    .url = mem_url,
    .local_path = NULL, /* nothing is on disk */
    .multipart_begin = mem_multipart_begin,
    .multipart_write = mem_multipart_write,
    .multipart_complete = mem_multipart_complete,
    .multipart_abort = mem_multipart_abort,
    .capabilities = mem_capabilities,
    .put_file_progress = mem_put_file_progress,
    .get_file_progress = mem_get_file_progress,
};

VF_PLUGIN_DEFINE(VF_PLUGIN_STORAGE, NAME, "1.0", "objects in this process's memory (an example plugin)",
                 mem_create, mem_destroy, &mem_ops);
