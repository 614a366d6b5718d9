/*
 * multipart.c - multipart uploads of storage_local, kept on disk so that
 * successive calls may come from different threads or processes.
 *
 * An upload <id> (32 hex digits) is two files in <root>/.uploads:
 *   <id>        the data written so far, each part's bytes at an offset;
 *   <id>.parts  a text sidecar, appended to and never rewritten:
 *               "key <key>\n", then per written part
 *               "part <n> <len> <etag> <offset>\n" (appended after the
 *               part's bytes are synced; a later line for the same n
 *               replaces the earlier one: the last write wins), and
 *               "drop <n>\n" before the last part is rewritten in place.
 *               (Lines "part <n> <len> <etag>" of older versions put the
 *               part right after the ones before.)
 * Every call takes flock(LOCK_EX) on the sidecar, so parts of one upload
 * are serialised across processes.
 *
 * New bytes always go to the end of the live parts, so a write never
 * touches bytes the sidecar still lists: a crash mid-write loses only the
 * unacknowledged part.  A retry of the last part (the usual case) first
 * drops it, then writes over its place, so the data stays contiguous and
 * completing is a rename; rewriting an earlier part puts the new bytes at
 * the end, and completing then copies the parts in order into a new file.
 * After a crash the data file may hold bytes past the live parts; they are
 * cut off before the next part or at completion.
 */
#include "storage_local.h"
#include "part_digest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SL_UPLOAD_ID_BYTES 16
#define SL_UPLOAD_ID_LEN (2 * SL_UPLOAD_ID_BYTES)
#define SL_ETAG_MAX 64
#define SL_SIDECAR_MAX (64 + SL_KEY_MAX + SL_MAX_PARTS * 128)

typedef struct part_record {
    uint64_t offset;
    uint64_t len;
    char etag[SL_ETAG_MAX];
} part_record_t;

/* An open, locked upload. */
typedef struct upload {
    int uploads_fd;
    int sidecar_fd;
    char data_name[SL_UPLOAD_ID_LEN + 1];
    char sidecar_name[SL_UPLOAD_ID_LEN + 8];
    part_record_t *parts; /* parts[i] is part i + 1 */
    size_t nparts;
    uint64_t data_end;    /* end of the live part furthest into the data file */
    off_t sidecar_len;    /* end of the last complete sidecar line */
} upload_t;

/* Recompute data_end after parts changed. */
static void find_data_end(upload_t *up)
{
    up->data_end = 0;
    for (size_t i = 0; i < up->nparts; i++)
        if (up->parts[i].offset + up->parts[i].len > up->data_end)
            up->data_end = up->parts[i].offset + up->parts[i].len;
}

/* Whether the parts lie in order from offset 0 with nothing between them:
 * the data file is then the object. */
static bool contiguous(const upload_t *up)
{
    uint64_t at = 0;
    for (size_t i = 0; i < up->nparts; i++) {
        if (up->parts[i].offset != at)
            return false;
        at += up->parts[i].len;
    }
    return at == up->data_end;
}

static void upload_close(upload_t *up)
{
    if (up->sidecar_fd >= 0)
        close(up->sidecar_fd); /* also drops the lock */
    if (up->uploads_fd >= 0)
        close(up->uploads_fd);
    free(up->parts);
    up->sidecar_fd = up->uploads_fd = -1;
    up->parts = NULL;
}

/* Ids become file names, so only exactly SL_UPLOAD_ID_LEN lowercase hex digits pass. */
static int check_upload_id(const sl_state_t *st, const char *id, vf_error_t *err)
{
    size_t len = id ? strnlen(id, SL_UPLOAD_ID_LEN + 1) : 0;
    bool hex = len == SL_UPLOAD_ID_LEN;
    for (size_t i = 0; hex && i < len; i++)
        hex = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
    if (!hex)
        return SL_FAIL(st, err, -EINVAL, "the upload id is not one storage_local issued (%d hex digits)",
                       SL_UPLOAD_ID_LEN);
    return 0;
}

/* Whatever pieces the part's bytes come in (part_digest.h). */
static void part_etag(char out[SL_ETAG_MAX], unsigned number, const vf_storage_piece_t *pieces, size_t npieces,
                      size_t len)
{
    sl_digest_t d;
    sl_digest_init(&d);
    for (size_t k = 0; k < npieces; k++)
        sl_digest_update(&d, pieces[k].base, pieces[k].len);
    snprintf(out, SL_ETAG_MAX, "p%u-%zu-%016" PRIx64, number, len, sl_digest_final(&d));
}

static int open_uploads_dir(const sl_state_t *st, bool create, vf_error_t *err)
{
    int root = open(st->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        int e = errno;
        return SL_FAIL(st, err, -e, "cannot open the storage root %s: %s", st->root, sl_strerror(e));
    }
    if (create && mkdirat(root, SL_UPLOADS_DIR, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        close(root);
        return SL_FAIL(st, err, -e, "cannot create %s/%s: %s", st->root, SL_UPLOADS_DIR, sl_strerror(e));
    }
    int fd = openat(root, SL_UPLOADS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(root);
    if (fd < 0 && e == ENOENT)
        return SL_FAIL(st, err, -ENOENT, "unknown upload id");
    if (fd < 0)
        return SL_FAIL(st, err, -e, "cannot open %s/%s: %s", st->root, SL_UPLOADS_DIR, sl_strerror(e));
    return fd;
}

/* One "part" line: record (or replace) part n.  Returns false when the
 * line is not a part line that may follow the ones before. */
static bool parse_part(upload_t *up, const char *line)
{
    unsigned number;
    uint64_t len, offset;
    char etag[SL_ETAG_MAX];
    int used = -1;
    int fields = sscanf(line, "part %u %" SCNu64 " %63[0-9a-zA-Z-] %" SCNu64 "%n", &number, &len, etag, &offset,
                        &used);
    if (fields == 3) { /* an older version's line: right after the parts before */
        used = -1;
        offset = up->data_end;
        sscanf(line, "part %*u %*u %*s%n", &used);
    } else if (fields != 4) {
        return false;
    }
    if (used < 0 || line[used] != '\0' || number < 1 || number > up->nparts + 1 || number > SL_MAX_PARTS)
        return false;
    if (number == up->nparts + 1) {
        part_record_t *grown = realloc(up->parts, (up->nparts + 1) * sizeof *grown);
        if (!grown)
            return false;
        up->parts = grown;
        up->nparts++;
    }
    part_record_t *rec = &up->parts[number - 1];
    rec->offset = offset;
    rec->len = len;
    memcpy(rec->etag, etag, sizeof etag);
    find_data_end(up);
    return true;
}

/* Parse the sidecar text: the key line, then one line per part written or
 * dropped.  A last line without its newline is an append cut short by a
 * crash: ignored. */
static int parse_sidecar(const sl_state_t *st, upload_t *up, char *text, size_t len, const char *key,
                         vf_error_t *err)
{
    size_t line_no = 0;
    char *line = text;
    char *end = text + len;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            break;
        *nl = '\0';
        line_no++;
        unsigned dropped;
        int used = -1;
        if (line_no == 1) {
            if (strncmp(line, "key ", 4) != 0)
                return SL_FAIL(st, err, -EIO, "upload %s is damaged: its sidecar has no key line", up->data_name);
            if (strcmp(line + 4, key) != 0)
                return SL_FAIL(st, err, -EINVAL, "upload %s belongs to another key than '%.200s'", up->data_name,
                               key);
        } else if (sscanf(line, "drop %u%n", &dropped, &used) == 1 && used > 0 && line[used] == '\0' &&
                   up->nparts > 0 && dropped == up->nparts) {
            up->nparts--;
            find_data_end(up);
        } else if (!parse_part(up, line)) {
            return SL_FAIL(st, err, -EIO, "upload %s is damaged: line %zu of its sidecar is not a part it can follow",
                           up->data_name, line_no);
        }
        line = nl + 1;
        up->sidecar_len = (off_t)(line - text);
    }
    if (line_no == 0)
        return SL_FAIL(st, err, -EIO, "upload %s is damaged: its sidecar is empty", up->data_name);
    return 0;
}

/* Open and lock the upload, then read its part list.  -ENOENT for an
 * upload that does not exist or was completed or aborted meanwhile. */
static int upload_open(const sl_state_t *st, const char *key, const char *id, upload_t *up, vf_error_t *err)
{
    char *text = NULL;
    struct stat sb;
    int ret;

    *up = (upload_t){.uploads_fd = -1, .sidecar_fd = -1};
    if ((ret = check_upload_id(st, id, err)) < 0 || (ret = sl_key_check(st, key, err)) < 0)
        return ret;
    snprintf(up->data_name, sizeof up->data_name, "%s", id);
    snprintf(up->sidecar_name, sizeof up->sidecar_name, "%s.parts", id);
    up->uploads_fd = open_uploads_dir(st, false, err);
    if (up->uploads_fd < 0) {
        ret = up->uploads_fd;
        goto out;
    }
    up->sidecar_fd = openat(up->uploads_fd, up->sidecar_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (up->sidecar_fd < 0) {
        int e = errno;
        ret = e == ENOENT ? SL_FAIL(st, err, -ENOENT, "unknown upload id %s", id)
                          : SL_FAIL(st, err, -e, "cannot open upload %s: %s", id, sl_strerror(e));
        goto out;
    }
    while ((ret = flock(up->sidecar_fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (ret != 0) {
        int e = errno;
        ret = SL_FAIL(st, err, -e, "cannot lock upload %s: %s", id, sl_strerror(e));
        goto out;
    }
    if (fstat(up->sidecar_fd, &sb) != 0) {
        int e = errno;
        ret = SL_FAIL(st, err, -e, "cannot read upload %s: %s", id, sl_strerror(e));
        goto out;
    }
    if (sb.st_nlink == 0) {
        ret = SL_FAIL(st, err, -ENOENT, "upload %s was completed or aborted meanwhile", id);
        goto out;
    }
    if (sb.st_size > SL_SIDECAR_MAX) {
        ret = SL_FAIL(st, err, -EIO, "upload %s is damaged: its sidecar is too large", id);
        goto out;
    }
    text = malloc((size_t)sb.st_size + 1);
    if (!text) {
        ret = SL_FAIL(st, err, -ENOMEM, "out of memory");
        goto out;
    }
    ret = sl_read_all_at(up->sidecar_fd, text, (size_t)sb.st_size, 0);
    if (ret < 0) {
        ret = SL_FAIL(st, err, ret, "cannot read upload %s: %s", id, sl_strerror(ret));
        goto out;
    }
    text[sb.st_size] = '\0';
    ret = parse_sidecar(st, up, text, (size_t)sb.st_size, key, err);
out:
    free(text);
    if (ret < 0)
        upload_close(up);
    return ret;
}

/* Open the data file and cut off bytes no listed part accounts for. */
static int open_data(const sl_state_t *st, const upload_t *up, vf_error_t *err)
{
    struct stat sb;
    int fd = openat(up->uploads_fd, up->data_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return SL_FAIL(st, err, e == ENOENT ? -EIO : -e, "upload %s is damaged: cannot open its data: %s",
                       up->data_name, sl_strerror(e));
    }
    int ret = 0;
    if (fstat(fd, &sb) != 0)
        ret = SL_FAIL(st, err, -errno, "cannot read upload %s: %s", up->data_name, sl_strerror(errno));
    else if ((uint64_t)sb.st_size < up->data_end)
        ret = SL_FAIL(st, err, -EIO, "upload %s is damaged: %jd bytes of data for parts reaching %" PRIu64,
                      up->data_name, (intmax_t)sb.st_size, up->data_end);
    else if ((uint64_t)sb.st_size > up->data_end && ftruncate(fd, (off_t)up->data_end) != 0)
        ret = SL_FAIL(st, err, -errno, "cannot trim upload %s: %s", up->data_name, sl_strerror(errno));
    if (ret < 0) {
        close(fd);
        return ret;
    }
    return fd;
}

int sl_multipart_begin(void *state, const char *key, char **upload_id, vf_error_t *err)
{
    const sl_state_t *st = state;
    char id[SL_UPLOAD_ID_LEN + 1];
    char sidecar_name[SL_UPLOAD_ID_LEN + 8];
    char *header = NULL;
    int uploads = -1, sidecar = -1, data = -1;

    /* Refuse a key that cannot be completed before any part is sent. */
    int ret = sl_check_reachable(st, key, err);
    if (ret < 0)
        return ret;
    ret = sl_random_hex(id, SL_UPLOAD_ID_BYTES);
    if (ret < 0)
        return SL_FAIL(st, err, ret, "cannot draw an upload id: %s", sl_strerror(ret));
    snprintf(sidecar_name, sizeof sidecar_name, "%s.parts", id);
    int header_len = asprintf(&header, "key %s\n", key);
    if (header_len < 0) {
        header = NULL;
        return SL_FAIL(st, err, -ENOMEM, "out of memory");
    }
    uploads = open_uploads_dir(st, true, err);
    if (uploads < 0) {
        ret = uploads;
        goto out;
    }
    /* The sidecar first: it is what later calls look for. */
    sidecar = openat(uploads, sidecar_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (sidecar < 0) {
        ret = SL_FAIL(st, err, -errno, "cannot create upload %s: %s", id, sl_strerror(errno));
        goto out;
    }
    ret = sl_write_all_at(sidecar, header, (size_t)header_len, 0);
    if (ret == 0 && fsync(sidecar) != 0)
        ret = -errno;
    if (ret < 0) {
        ret = SL_FAIL(st, err, ret, "cannot write upload %s: %s", id, sl_strerror(ret));
        goto out;
    }
    data = openat(uploads, id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (data < 0 || fchmod(data, 0644) != 0 || fsync(uploads) != 0) {
        ret = SL_FAIL(st, err, -errno, "cannot create upload %s: %s", id, sl_strerror(errno));
        goto out;
    }
    *upload_id = strdup(id);
    if (!*upload_id) {
        ret = SL_FAIL(st, err, -ENOMEM, "out of memory");
        goto out;
    }
    ret = 0;
out:
    if (ret < 0 && data >= 0)
        unlinkat(uploads, id, 0);
    if (ret < 0 && sidecar >= 0)
        unlinkat(uploads, sidecar_name, 0);
    if (data >= 0)
        close(data);
    if (sidecar >= 0)
        close(sidecar);
    if (uploads >= 0)
        close(uploads);
    free(header);
    return ret;
}

/* Append one line to the sidecar and make it durable. */
static int append_line(upload_t *up, const char *line, size_t len)
{
    int ret = sl_write_all_at(up->sidecar_fd, line, len, up->sidecar_len);
    if (ret == 0 && ftruncate(up->sidecar_fd, up->sidecar_len + (off_t)len) != 0)
        ret = -errno;
    if (ret == 0 && fsync(up->sidecar_fd) != 0)
        ret = -errno;
    if (ret == 0)
        up->sidecar_len += (off_t)len;
    return ret;
}

int sl_multipart_write(void *state, const char *key, const char *upload_id, unsigned part_number,
                       const void *data, size_t len, char **etag, vf_error_t *err)
{
    const vf_storage_piece_t piece = {data, len};
    return sl_multipart_write_pieces(state, key, upload_id, part_number, &piece, 1, etag, err);
}

int sl_multipart_write_pieces(void *state, const char *key, const char *upload_id, unsigned part_number,
                              const vf_storage_piece_t *pieces, size_t npieces, char **etag, vf_error_t *err)
{
    const sl_state_t *st = state;
    upload_t up;
    char tag[SL_ETAG_MAX];
    char line[64 + SL_ETAG_MAX];
    int data_fd = -1;
    size_t len = 0;

    if (!pieces && npieces > 0)
        return SL_FAIL(st, err, -EINVAL, "part %u has no data", part_number);
    for (size_t i = 0; i < npieces; i++) {
        if (!pieces[i].base && pieces[i].len > 0)
            return SL_FAIL(st, err, -EINVAL, "part %u has no data", part_number);
        len += pieces[i].len;
    }
    int ret = upload_open(st, key, upload_id, &up, err);
    if (ret < 0)
        return ret;
    part_etag(tag, part_number, pieces, npieces, len);

    if (part_number < 1 || part_number > up.nparts + 1) {
        ret = SL_FAIL(st, err, -EINVAL, "part %u of upload %s is out of order: part %zu is expected next",
                      part_number, upload_id, up.nparts + 1);
        goto out;
    }
    if (part_number > up.nparts && up.nparts >= SL_MAX_PARTS) {
        ret = SL_FAIL(st, err, -EINVAL, "upload %s already has the most parts allowed (%d)", upload_id,
                      SL_MAX_PARTS);
        goto out;
    }
    const part_record_t *old = part_number <= up.nparts ? &up.parts[part_number - 1] : NULL;
    /* The same bytes again (the answer was lost): nothing to write. */
    if (old && old->len == len && strcmp(old->etag, tag) == 0)
        goto answer;
    /* Two lines at most; the sidecar's size is bounded by what is read back. */
    if (up.sidecar_len + 2 * (off_t)sizeof line > SL_SIDECAR_MAX) {
        ret = SL_FAIL(st, err, -EINVAL, "upload %s has had too many parts rewritten", upload_id);
        goto out;
    }
    data_fd = open_data(st, &up, err);
    if (data_fd < 0) {
        ret = data_fd;
        goto out;
    }
    uint64_t at = up.data_end;
    if (old && part_number == up.nparts && old->offset + old->len == up.data_end) {
        /* The last part again: dropped (durably) before its bytes are
         * overwritten, so a crash leaves it missing rather than wrong. */
        int n = snprintf(line, sizeof line, "drop %u\n", part_number);
        at = old->offset;
        ret = append_line(&up, line, (size_t)n);
        if (ret == 0 && ftruncate(data_fd, (off_t)at) != 0)
            ret = -errno;
        if (ret < 0) {
            ret = SL_FAIL(st, err, ret, "cannot replace part %u of upload %s: %s", part_number, upload_id,
                          sl_strerror(ret));
            goto out;
        }
    }
    /* Bytes synced before the sidecar line: a listed part is always whole. */
    ret = sl_write_pieces_at(data_fd, pieces, npieces, (off_t)at);
    if (ret == 0 && fsync(data_fd) != 0)
        ret = -errno;
    if (ret < 0) {
        ret = SL_FAIL(st, err, ret, "cannot write part %u of upload %s: %s", part_number, upload_id,
                      sl_strerror(ret));
        goto out;
    }
    int line_len = snprintf(line, sizeof line, "part %u %zu %s %" PRIu64 "\n", part_number, len, tag, at);
    ret = append_line(&up, line, (size_t)line_len);
    if (ret < 0) {
        ret = SL_FAIL(st, err, ret, "cannot record part %u of upload %s: %s", part_number, upload_id,
                      sl_strerror(ret));
        goto out;
    }
answer:
    *etag = strdup(tag);
    ret = *etag ? 0 : SL_FAIL(st, err, -ENOMEM, "out of memory");
out:
    if (data_fd >= 0)
        close(data_fd);
    upload_close(&up);
    return ret;
}

static int check_part_list(const sl_state_t *st, const upload_t *up, const vf_storage_part_t *parts,
                           size_t nparts, vf_error_t *err)
{
    if (nparts == 0 || !parts)
        return SL_FAIL(st, err, -EINVAL, "upload %s cannot be completed without parts", up->data_name);
    if (nparts != up->nparts)
        return SL_FAIL(st, err, -EINVAL, "upload %s has %zu parts, but %zu were listed to complete it",
                       up->data_name, up->nparts, nparts);
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].number != i + 1)
            return SL_FAIL(st, err, -EINVAL, "part %zu of the list for upload %s is numbered %u", i + 1,
                           up->data_name, parts[i].number);
        if (!parts[i].etag || strcmp(parts[i].etag, up->parts[i].etag) != 0)
            return SL_FAIL(st, err, -EINVAL, "part %zu of upload %s has another etag than the one listed", i + 1,
                           up->data_name);
    }
    return 0;
}

/* Parts rewritten out of place: copy them in order into `name` (in the
 * uploads directory), synced.  On failure nothing of it is left. */
static int assemble(const sl_state_t *st, const upload_t *up, int data_fd, const char *name, vf_error_t *err)
{
    int out = openat(up->uploads_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (out < 0)
        return SL_FAIL(st, err, -errno, "cannot assemble upload %s: %s", up->data_name, sl_strerror(errno));
    int ret = fchmod(out, 0644) == 0 ? 0 : -errno;
    for (size_t i = 0; ret == 0 && i < up->nparts; i++)
        ret = sl_copy_range(data_fd, (off_t)up->parts[i].offset, up->parts[i].len, out);
    if (ret == 0 && fsync(out) != 0)
        ret = -errno;
    if (close(out) != 0 && ret == 0)
        ret = -errno;
    if (ret < 0) {
        unlinkat(up->uploads_fd, name, 0);
        return SL_FAIL(st, err, ret, "cannot assemble upload %s: %s", up->data_name, sl_strerror(ret));
    }
    return 0;
}

int sl_multipart_complete(void *state, const char *key, const char *upload_id, const vf_storage_part_t *parts,
                          size_t nparts, vf_error_t *err)
{
    const sl_state_t *st = state;
    upload_t up;
    int data_fd = -1;

    int ret = upload_open(st, key, upload_id, &up, err);
    if (ret < 0)
        return ret;
    ret = check_part_list(st, &up, parts, nparts, err);
    if (ret < 0)
        goto out;
    data_fd = open_data(st, &up, err);
    if (data_fd < 0) {
        ret = data_fd;
        goto out;
    }
    const char *object = up.data_name;
    char whole_name[SL_UPLOAD_ID_LEN + 8];
    snprintf(whole_name, sizeof whole_name, "%s.whole", up.data_name);
    if (!contiguous(&up)) {
        ret = assemble(st, &up, data_fd, whole_name, err);
        if (ret < 0)
            goto out;
        object = whole_name;
    } else if (fsync(data_fd) != 0) {
        ret = SL_FAIL(st, err, -errno, "cannot sync upload %s: %s", upload_id, sl_strerror(errno));
        goto out;
    }
    ret = sl_rename_onto_key(st, up.uploads_fd, object, key, err);
    if (ret < 0)
        goto out;
    /* The object is in place; a sidecar (or data file) left by a failure
     * here is harmless (later calls find no data) and abort() clears it. */
    if ((object != up.data_name && unlinkat(up.uploads_fd, up.data_name, 0) != 0) ||
        unlinkat(up.uploads_fd, up.sidecar_name, 0) != 0 || fsync(up.uploads_fd) != 0)
        st->host->log(SL_NAME, VF_LOG_WARNING, "upload %s: cannot remove its sidecar: %s", upload_id,
                      sl_strerror(errno));
out:
    if (data_fd >= 0)
        close(data_fd);
    upload_close(&up);
    return ret;
}

int sl_multipart_abort(void *state, const char *key, const char *upload_id, vf_error_t *err)
{
    const sl_state_t *st = state;
    upload_t up;

    int ret = upload_open(st, key, upload_id, &up, err);
    if (ret == -ENOENT)
        return 0; /* unknown, completed or aborted: nothing left to remove */
    if (ret == -EIO) {
        /* A damaged sidecar is still ours to clear: reopen it without parsing. */
        st->host->log(SL_NAME, VF_LOG_WARNING, "aborting damaged upload %s: %s", upload_id, err ? err->message : "");
    } else if (ret < 0) {
        return ret;
    }
    int uploads = ret == 0 ? up.uploads_fd : open_uploads_dir(st, false, err);
    if (uploads < 0)
        return uploads == -ENOENT ? 0 : uploads;
    char sidecar_name[SL_UPLOAD_ID_LEN + 8], whole_name[SL_UPLOAD_ID_LEN + 8];
    snprintf(sidecar_name, sizeof sidecar_name, "%s.parts", upload_id);
    snprintf(whole_name, sizeof whole_name, "%s.whole", upload_id);
    ret = 0;
    if (unlinkat(uploads, whole_name, 0) != 0 && errno != ENOENT)
        ret = SL_FAIL(st, err, -errno, "cannot remove upload %s: %s", upload_id, sl_strerror(errno));
    else if (unlinkat(uploads, upload_id, 0) != 0 && errno != ENOENT)
        ret = SL_FAIL(st, err, -errno, "cannot remove upload %s: %s", upload_id, sl_strerror(errno));
    else if (unlinkat(uploads, sidecar_name, 0) != 0 && errno != ENOENT)
        ret = SL_FAIL(st, err, -errno, "cannot remove upload %s: %s", upload_id, sl_strerror(errno));
    else if (fsync(uploads) != 0)
        ret = SL_FAIL(st, err, -errno, "cannot sync %s: %s", SL_UPLOADS_DIR, sl_strerror(errno));
    if (uploads != up.uploads_fd)
        close(uploads);
    upload_close(&up);
    return ret;
}
