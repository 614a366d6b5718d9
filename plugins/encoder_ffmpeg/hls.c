/*
 * hls.c - see hls.h.  Each tick stats every rendition's playlist and
 * reads it again only when it changed (the muxer replaces it by rename,
 * so a read never sees half of one); it is small (about 40 bytes a
 * segment).  Reports run on the transcode's thread, one at a time.
 */
#include "hls.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmff.h"

#define NAME_LEN 64
#define PLAYLIST_MAX (16u << 20)
#define TEMP_SUFFIX ".tmp"     /* the hls muxer's temp_file names */

static void playlist_name(char *buf, size_t i)
{
    snprintf(buf, NAME_LEN, "r%zu.m3u8", i);
}

static void init_name(char *buf, size_t i)
{
    snprintf(buf, NAME_LEN, "r%zu-init.mp4", i);
}

static void segment_name(char *buf, size_t i, int64_t n)
{
    snprintf(buf, NAME_LEN, "r%zu-%" PRId64 ".m4s", i, n);
}

static const char *rendition_name(const ffe_hls_t *h, size_t i)
{
    const char *name = h->params->renditions[i].name;
    return name ? name : "?";
}

int ffe_hls_init(ffe_hls_t *h, const vf_host_api_t *host, const vf_transcode_params_t *params,
                 vf_error_t *err)
{
    memset(h, 0, sizeof *h);
    h->tracks = calloc(params->nrenditions, sizeof *h->tracks);
    if (!h->tracks)
        return host->error(err, ENOMEM, "out of memory");
    h->host = host;
    h->params = params;
    h->count = params->nrenditions;
    h->first = params->hls_first_segment;
    return 0;
}

void ffe_hls_resume(ffe_hls_t *h, const ffe_resume_t *resume)
{
    h->resume = resume;
    for (size_t i = 0; resume && i < h->count; i++)
        h->tracks[i].next = h->first;
}

void ffe_hls_report_all(ffe_hls_t *h)
{
    h->first = 0;
}

void ffe_hls_keyframes(const ffe_hls_t *h, char *buf, size_t len)
{
    snprintf(buf, len, "expr:gte(t,n_forced*%.6f)", h->params->hls_segment_seconds);
}

void ffe_hls_slave(const ffe_hls_t *h, size_t i, ffe_tee_t *tee)
{
    char name[NAME_LEN];
    ffe_tee_slave(tee, "hls");
    ffe_tee_option(tee, "hls_segment_type", "fmp4");
    /* The same number as in ffe_hls_keyframes(): cuts fall on those keyframes. */
    ffe_tee_optionf(tee, "hls_time", "%.6f", h->params->hls_segment_seconds);
    ffe_tee_option(tee, "hls_playlist_type", "event");
    ffe_tee_option(tee, "hls_flags", "independent_segments+temp_file");
    init_name(name, i);
    ffe_tee_option(tee, "hls_fmp4_init_filename", name);
    ffe_tee_optionf(tee, "start_number", "%" PRId64, h->resume ? h->first : (int64_t)0);
    ffe_tee_optionf(tee, "hls_segment_filename", "r%zu-%%d.m4s", i);
    playlist_name(name, i);
    ffe_tee_target(tee, name);
}

/* A file report() fails on before the callee has it: the caller already
 * counts it as handed over (init_reported, next), so ffe_hls_free() would
 * keep it.  Removed here instead. */
static void remove_unreported(ffe_hls_t *h, const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        h->host->log("encoder_ffmpeg", VF_LOG_WARNING, "cannot remove %s: %s", path, strerror(errno));
}

/* Hand one finished file to the callee; its negative return is ours.
 * ffmpeg's hls muxer lists a segment even when writing its end failed (it
 * ignores the close's error), so a full disk would publish a cut segment
 * unless its boxes are checked to add up.  A resumed run reports the
 * published initialisation segment and its segments moved onto the
 * published timeline (resume.h). */
static int report(ffe_hls_t *h, size_t i, int64_t sequence, const char *name, double duration,
                  vf_error_t *err)
{
    const vf_transcode_params_t *p = h->params;
    char *path = NULL;
    if (asprintf(&path, "%s/%s", p->hls_dir, name) < 0)
        return h->host->error(err, ENOMEM, "out of memory");
    int ret = 0;
    if (h->resume && ffe_bmff_whole_file(path))
        ret = sequence == VF_HLS_INIT ? ffe_resume_put_init(h->resume, i, path)
                                      : ffe_resume_segment(h->resume, i, path);
    if (ret < 0)
        ret = h->host->error(err, ret, "cannot continue the published HLS files of rendition %s with %s: %s",
                             rendition_name(h, i), name, strerror(-ret));
    else if (!ffe_bmff_whole_file(path))
        ret = h->host->error(err, EIO, "ffmpeg listed the HLS file %s of rendition %s, but it is cut short "
                                           "(a write failed: is the disk full?)", name, rendition_name(h, i));
    if (ret < 0) {
        remove_unreported(h, path);
        free(path);
        return ret;
    }
    vf_hls_file_t file = {
        .size = sizeof file,
        .rendition = i,
        .sequence = sequence,
        .path = path,
        .duration = duration,
    };
    ret = p->hls_file(p->hls_ud, &file);
    if (ret < 0)
        h->host->error(err, ret, "the HLS file %s of rendition %s was refused: %s", name,
                       rendition_name(h, i), strerror(-ret));
    free(path);
    return ret < 0 ? ret : 0;
}

static int unexpected(ffe_hls_t *h, size_t i, const char *what, const char *line, vf_error_t *err)
{
    return h->host->error(err, EIO, "ffmpeg's playlist for rendition %s has an unexpected %s: %.80s",
                          rendition_name(h, i), what, line);
}

/* Segment n, listed as `uri`: the initialisation segment first, then the
 * segment itself (removed instead when it comes before h->first). */
static int handle_segment(ffe_hls_t *h, size_t i, const char *map, int64_t n, const char *uri,
                          double duration, vf_error_t *err)
{
    ffe_hls_track_t *t = &h->tracks[i];
    char name[NAME_LEN];
    segment_name(name, i, n);
    if (strcmp(uri, name) != 0)
        return unexpected(h, i, "segment", uri, err);
    /* Each file is the callee's from the moment it is handed over, even
     * when the callee then refuses it. */
    if (!t->init_reported) {
        init_name(name, i);
        if (strcmp(map, name) != 0)
            return unexpected(h, i, "initialisation segment", map[0] ? map : "(none)", err);
        t->init_reported = 1;
        int ret = report(h, i, VF_HLS_INIT, name, 0, err);
        if (ret < 0)
            return ret;
    }
    t->next = n + 1;
    if (n >= h->first)
        return report(h, i, n, uri, duration, err);
    /* Published by the run this one resumes. */
    int dir = open(h->params->hls_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || (unlinkat(dir, uri, 0) != 0 && errno != ENOENT)) {
        int e = errno;
        if (dir >= 0)
            close(dir);
        return h->host->error(err, e, "cannot remove %s/%s: %s", h->params->hls_dir, uri, strerror(e));
    }
    close(dir);
    return 0;
}

/* "#EXT-X-MAP:URI="name"" -> name, or "" */
static void map_uri(const char *line, char *out, size_t len)
{
    out[0] = '\0';
    const char *uri = strstr(line, "URI=\"");
    if (!uri)
        return;
    uri += 5;
    size_t n = strcspn(uri, "\"");
    if (n < len && uri[n] == '"')
        snprintf(out, len, "%.*s", (int)n, uri);
}

/* Walk one playlist text (modified in place) and handle every segment
 * listed from track->next on. */
static int handle_playlist(ffe_hls_t *h, size_t i, char *text, vf_error_t *err)
{
    ffe_hls_track_t *t = &h->tracks[i];
    int64_t first = 0, index = 0;
    double duration = 0;
    char map[NAME_LEN] = "";
    int ended = 0;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line[strcspn(line, "\r")] = '\0';
        if (strncmp(line, "#EXT-X-MEDIA-SEQUENCE:", 22) == 0)
            first = strtoll(line + 22, NULL, 10);
        else if (strncmp(line, "#EXT-X-MAP:", 11) == 0)
            map_uri(line, map, sizeof map);
        else if (strncmp(line, "#EXTINF:", 8) == 0)
            duration = strtod(line + 8, NULL);
        else if (strcmp(line, "#EXT-X-ENDLIST") == 0)
            ended = 1;
        else if (line[0] && line[0] != '#') {
            int64_t n = first + index++;
            if (n < t->next)
                continue;
            if (n > t->next || !isfinite(duration) || duration <= 0)
                return unexpected(h, i, "segment", line, err);
            int ret = handle_segment(h, i, map, n, line, duration, err);
            if (ret < 0)
                return ret;
        }
    }
    t->ended = ended;
    return 0;
}

/* The playlist's text when it changed since the last read (or `force`):
 * 1 and *text malloc()ed; 0 when unchanged or not written yet. */
static int read_playlist(ffe_hls_t *h, size_t i, int force, char **text, vf_error_t *err)
{
    ffe_hls_track_t *t = &h->tracks[i];
    char name[NAME_LEN];
    playlist_name(name, i);
    *text = NULL;
    int dir = open(h->params->hls_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = dir < 0 ? -1 : openat(dir, name, O_RDONLY | O_CLOEXEC);
    int e = errno, ret = 0;
    if (dir >= 0)
        close(dir);
    if (fd < 0)
        return e == ENOENT ? 0 : h->host->error(err, e, "cannot read %s/%s: %s", h->params->hls_dir,
                                                name, strerror(e));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ret = -errno;
        goto out;
    }
    if (!force && st.st_ino == t->seen_ino && st.st_size == t->seen_size &&
        st.st_mtim.tv_sec == t->seen_mtime.tv_sec && st.st_mtim.tv_nsec == t->seen_mtime.tv_nsec)
        goto out;
    if ((size_t)st.st_size > PLAYLIST_MAX) {
        ret = -EFBIG;
        goto out;
    }
    size_t len = 0, cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap + 1);
    if (!buf) {
        ret = -ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            free(buf);
            goto out;
        }
        if (n == 0 || (len += (size_t)n) == cap)
            break; /* a renamed file does not grow; more than its size is not ours */
    }
    buf[len] = '\0';
    t->seen_ino = st.st_ino;
    t->seen_size = st.st_size;
    t->seen_mtime = st.st_mtim;
    *text = buf;
    ret = 1;
out:
    close(fd);
    if (ret < 0)
        return h->host->error(err, ret, "cannot read %s/%s: %s", h->params->hls_dir, name,
                              strerror(-ret));
    return ret;
}

static int poll_track(ffe_hls_t *h, size_t i, int force, vf_error_t *err)
{
    char *text;
    int ret = read_playlist(h, i, force, &text, err);
    if (ret > 0) {
        ret = handle_playlist(h, i, text, err);
        free(text);
    }
    return ret;
}

int ffe_hls_tick(void *ud, vf_error_t *err)
{
    ffe_hls_t *h = ud;
    for (size_t i = 0; i < h->count; i++) {
        int ret = poll_track(h, i, 0, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

int ffe_hls_finish(ffe_hls_t *h, vf_error_t *err)
{
    for (size_t i = 0; i < h->count; i++) {
        int ret = poll_track(h, i, 1, err);
        if (ret < 0)
            return ret;
        const ffe_hls_track_t *t = &h->tracks[i];
        if (!t->init_reported || t->next == 0)
            return h->host->error(err, EIO, "ffmpeg wrote no HLS segment for rendition %s",
                                  rendition_name(h, i));
        if (!t->ended)
            return h->host->error(err, EIO, "ffmpeg's playlist for rendition %s did not end",
                                  rendition_name(h, i));
    }
    return 0;
}

/* Whether `name` in hls_dir is a file of ours not handed to the callee:
 * a playlist, a temporary, or a segment not reported. */
static int ours_unreported(const ffe_hls_t *h, const char *name)
{
    if (name[0] != 'r' || !isdigit((unsigned char)name[1]))
        return 0;
    char *end;
    errno = 0;
    unsigned long long i = strtoull(name + 1, &end, 10);
    if (errno || i >= h->count)
        return 0;
    char base[NAME_LEN], expected[NAME_LEN];
    size_t len = strlen(name), suffix = strlen(TEMP_SUFFIX);
    int temporary = len > suffix && strcmp(name + len - suffix, TEMP_SUFFIX) == 0;
    if (len >= sizeof base)
        return 0;
    snprintf(base, sizeof base, "%.*s", (int)(temporary ? len - suffix : len), name);
    const ffe_hls_track_t *t = &h->tracks[i];
    playlist_name(expected, (size_t)i);
    if (strcmp(base, expected) == 0)
        return 1;
    init_name(expected, (size_t)i);
    if (strcmp(base, expected) == 0)
        return temporary || !t->init_reported;
    if (*end != '-' || !isdigit((unsigned char)end[1]))
        return 0;
    long long n = strtoll(end + 1, NULL, 10);
    segment_name(expected, (size_t)i, n);
    return strcmp(base, expected) == 0 && (temporary || n >= t->next);
}

void ffe_hls_free(ffe_hls_t *h)
{
    if (h->tracks) {
        DIR *d = opendir(h->params->hls_dir);
        for (struct dirent *e; d && (e = readdir(d));)
            if (ours_unreported(h, e->d_name) && unlinkat(dirfd(d), e->d_name, 0) != 0 &&
                errno != ENOENT)
                h->host->log("encoder_ffmpeg", VF_LOG_WARNING, "cannot remove %s/%s: %s",
                             h->params->hls_dir, e->d_name, strerror(errno));
        if (d)
            closedir(d);
    }
    free(h->tracks);
    memset(h, 0, sizeof *h);
}
