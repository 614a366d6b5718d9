/*
 * tus_load.c - the upload load of bench/offload (README.md beside this
 * file): N tus uploads at once against a running server, each on its own
 * keep-alive connection, each starting a new upload when one is done, until
 * SIGTERM or SIGINT.  The tus requests are the test fixture's
 * (tests/e2e/uploads_fixture.c).
 *
 * usage: tus_load --base http://127.0.0.1:PORT --cookie "vf_access=..."
 *                 [--uploads 8] [--size MIB] [--chunk MIB] [--ready FILE]
 * --ready FILE is created once every upload has been created and is sending
 * its first chunk.  On exit it prints one line:
 *   "chunks N busy N failed N MiB N" (chunks stored, 503 answers, other
 *   failures, MiB stored); the exit status is 1 when any request failed
 *   other than with 503.
 */
#include "config.h"
#include "tests/e2e/uploads_fixture.h"

#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct shared {
    const char *base, *cookie, *ready;
    size_t size, chunk;
    const char *data;           /* chunk bytes, the same for every chunk */
    int uploads;
    pthread_mutex_t lock;
    int started;                /* uploads created */
    long chunks, busy, failed;
} shared_t;

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void count(shared_t *s, long *field)
{
    pthread_mutex_lock(&s->lock);
    (*field)++;
    pthread_mutex_unlock(&s->lock);
}

static void mark_started(shared_t *s)
{
    pthread_mutex_lock(&s->lock);
    if (++s->started == s->uploads && s->ready) {
        FILE *fp = fopen(s->ready, "w");
        if (fp)
            fclose(fp);
    }
    pthread_mutex_unlock(&s->lock);
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One uploader: uploads of s->size bytes, one after the other. */
static void *uploader(void *arg)
{
    shared_t *s = arg;
    ufix_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.base, sizeof f.base, "%s", s->base);
    snprintf(f.cookie, sizeof f.cookie, "%s", s->cookie);
    f.conn = curl_easy_init();
    if (!f.conn) {
        count(s, &s->failed);
        return NULL;
    }
    int first = 1;
    while (!stopping) {
        char path[256];
        long status = ufix_tus_create(&f, (int64_t)s->size, "load.bin", path, sizeof path);
        if (status != 201) {
            count(s, status == 503 ? &s->busy : &s->failed);
            pause_ms(1000);
            continue;
        }
        if (first)
            mark_started(s);
        first = 0;
        for (int64_t off = 0; !stopping && (size_t)off < s->size;) {
            size_t n = s->size - (size_t)off < s->chunk ? s->size - (size_t)off : s->chunk;
            int64_t next = -1;
            status = ufix_tus_patch(&f, path, off, s->data, n, &next);
            if (status == 204 && next == off + (int64_t)n) {
                count(s, &s->chunks);
                off = next;
            } else if (status == 503) {
                /* Refused before anything was stored: ask for the offset, as
                 * a tus client does, after the Retry-After pause. */
                count(s, &s->busy);
                pause_ms(1000);
                if (ufix_tus_head(&f, path, &next) == 200 && next >= 0)
                    off = next;
            } else {
                count(s, &s->failed);
                break;
            }
        }
    }
    curl_easy_cleanup(f.conn);
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"base", required_argument, NULL, 'b'},
                                         {"cookie", required_argument, NULL, 'c'},
                                         {"uploads", required_argument, NULL, 'n'},
                                         {"size", required_argument, NULL, 's'},
                                         {"chunk", required_argument, NULL, 'k'},
                                         {"ready", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    shared_t s = {.uploads = 8, .size = (size_t)256 << 20, .chunk = (size_t)16 << 20,
                  .lock = PTHREAD_MUTEX_INITIALIZER};
    int opt;
    while ((opt = getopt_long(argc, argv, "b:c:n:s:k:r:", opts, NULL)) != -1) {
        switch (opt) {
        case 'b': s.base = optarg; break;
        case 'c': s.cookie = optarg; break;
        case 'n': s.uploads = atoi(optarg); break;
        case 's': s.size = (size_t)strtol(optarg, NULL, 10) << 20; break;
        case 'k': s.chunk = (size_t)strtol(optarg, NULL, 10) << 20; break;
        case 'r': s.ready = optarg; break;
        default: goto usage;
        }
    }
    if (!s.base || !s.cookie || s.uploads < 1 || s.uploads > 256 || s.size == 0 || s.chunk == 0)
        goto usage;
    char *data = malloc(s.chunk);
    pthread_t *threads = calloc((size_t)s.uploads, sizeof *threads);
    if (!data || !threads || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "tus_load: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < s.chunk; i++)
        data[i] = (char)(i * 2654435761u >> 24);
    s.data = data;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int n = 0;
    for (; n < s.uploads; n++)
        if (pthread_create(&threads[n], NULL, uploader, &s) != 0)
            break;
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    printf("chunks %ld busy %ld failed %ld MiB %.0f\n", s.chunks, s.busy, s.failed,
           (double)s.chunks * (double)s.chunk / (1024.0 * 1024.0));
    free(threads);
    free(data);
    curl_global_cleanup();
    return s.failed > 0 || n < s.uploads ? 1 : 0;
usage:
    fprintf(stderr, "usage: tus_load --base URL --cookie 'vf_access=...' [--uploads N] [--size MIB] [--chunk MIB] "
                    "[--ready FILE]\n");
    return 2;
}
