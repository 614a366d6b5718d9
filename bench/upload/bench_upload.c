/*
 * bench_upload.c - the upload benchmark (README.md beside this file): for
 * each storage plugin, one file of --size MiB (default 1024)
 *   1. through the server: tus creation, then PATCH chunks of --chunk MiB
 *      (default 16) on one keep-alive connection, as tus-js-client sends
 *      them, into `videoflix serve`;
 *   2. straight to the same storage with the plugin itself, in the same
 *      run: put_file of the file (storage_local: a file copy into the
 *      storage root, synced once), and a multipart upload of the same parts
 *      as the chunks (each part durable before the next, as the server must
 *      have it before answering 204);
 * and prints the throughputs, the ratio to the direct write (goal >= 0.8;
 * storage_local: to the file copy, S3: to the multipart upload) and to the
 * same parts, and how much the server's resident memory grew during the
 * tus upload (goal < 32 MiB): VmRSS after minus before, and the peak,
 * VmHWM (reset before the upload through /proc/<pid>/clear_refs) minus
 * VmRSS before.  Every stored object is read back and compared.
 *
 * usage: bench_upload [--size MIB] [--chunk MIB] [--storage local|s3|both]
 *                     [--rounds N] [--threads N]
 * With --rounds, each time is the best of N (other load on the machine only
 * ever slows a run down), the three writes taking turns at going first
 * (run_round); the memory figures are the largest.  --threads is
 * server.threads (default 2).
 */
#include "config.h"
#include "tests/e2e/uploads_fixture.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

typedef struct result {
    double tus_s, copy_s, parts_s;
    long rss_before_kb, rss_after_kb, hwm_kb;
} result_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_upload: %s\n", what);
    exit(1);
}

/* The same bytes straight to storage as one file (put_file). */
static int direct_copy(vf_plugin_t *p, const char *key, const char *file)
{
    vf_error_t err = {0};
    int ret = vf_storage_ops(p)->put_file(p->state, key, file, &err);
    if (ret < 0)
        fprintf(stderr, "bench_upload: put_file: %s\n", err.message);
    return ret;
}

/* The same bytes straight to storage as a multipart upload in parts of
 * `chunk` bytes. */
static int direct_parts(vf_plugin_t *p, const char *key, const char *file, size_t size, size_t chunk, char *buf)
{
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    vf_error_t err = {0};
    int fd = open(file, O_RDONLY);
    if (fd < 0)
        return -1;
    char *upload_id = NULL;
    size_t nparts = (size + chunk - 1) / chunk;
    vf_storage_part_t *parts = calloc(nparts ? nparts : 1, sizeof *parts);
    char **etags = calloc(nparts ? nparts : 1, sizeof *etags);
    int ret = parts && etags ? ops->multipart_begin(p->state, key, &upload_id, &err) : -1;
    for (size_t i = 0; ret == 0 && i < nparts; i++) {
        size_t off = i * chunk, n = size - off < chunk ? size - off : chunk;
        ret = ufix_read_at(fd, buf, n, (off_t)off);
        if (ret == 0)
            ret = ops->multipart_write(p->state, key, upload_id, (unsigned)(i + 1), buf, n, &etags[i], &err);
        parts[i] = (vf_storage_part_t){(unsigned)(i + 1), etags[i]};
    }
    if (ret == 0)
        ret = ops->multipart_complete(p->state, key, upload_id, parts, nparts, &err);
    if (ret < 0)
        fprintf(stderr, "bench_upload: direct multipart upload: %s\n", err.message);
    for (size_t i = 0; etags && i < nparts; i++)
        free(etags[i]);
    free(etags);
    free(parts);
    free(upload_id);
    close(fd);
    return ret;
}

static vf_plugin_t *load_storage(ufix_t *f, int s3)
{
    char err[512], cfg[4200];
    vf_plugin_t *p = NULL;
    if (s3) {
        p = ufix_s3_plugin(err, sizeof err);
    } else {
        snprintf(cfg, sizeof cfg, "root = \"%s\"; public_url = \"%s/media/\";", f->media_root, f->base);
        p = vft_plugin_load("storage_local", VF_PLUGIN_STORAGE, cfg, err, sizeof err);
    }
    if (!p)
        fprintf(stderr, "bench_upload: %s\n", err);
    return p;
}

/* The stored object holds exactly the file's bytes (read back into a file
 * beside it, compared, removed). */
static int stored_equals(vf_plugin_t *p, const char *key, const char *file)
{
    char copy[4200];
    snprintf(copy, sizeof copy, "%s.stored", file);
    vf_error_t err = {0};
    int same = vf_storage_ops(p)->get_file(p->state, key, copy, &err) == 0 && vft_files_equal(file, copy);
    unlink(copy);
    return same;
}

/* Time one direct write and check what it stored. */
static double timed_direct(vf_plugin_t *p, int parts, const char *file, size_t size, size_t chunk, char *buf)
{
    char key[96];
    snprintf(key, sizeof key, "bench/direct-%d-%s.bin", (int)getpid(), parts ? "parts" : "copy");
    double t0 = now_s();
    if ((parts ? direct_parts(p, key, file, size, chunk, buf) : direct_copy(p, key, file)) != 0)
        die("the direct upload failed");
    double took = now_s() - t0;
    if (!stored_equals(p, key, file))
        die("the object stored directly differs from the file");
    vf_error_t err = {0};
    vf_storage_ops(p)->remove(p->state, key, &err);
    return took;
}

/* tus through the server: the time, and the server's memory around it. */
static double timed_tus(ufix_t *f, vf_plugin_t *p, const char *file, size_t size, size_t chunk, char *buf,
                        result_t *res)
{
    char path[256], id[33], key[96];
    if (ufix_reset_peak(f->server_pid) != 0)
        die("cannot reset the server's VmHWM through /proc/<pid>/clear_refs");
    res->rss_before_kb = ufix_proc_kb(f->server_pid, "VmRSS:");
    double t0 = now_s();
    if (ufix_tus_upload_chunks(f, file, size, chunk, buf, path, sizeof path) != 0)
        die("the tus upload failed");
    double took = now_s() - t0;
    res->rss_after_kb = ufix_proc_kb(f->server_pid, "VmRSS:");
    res->hwm_kb = ufix_proc_kb(f->server_pid, "VmHWM:");
    snprintf(key, sizeof key, "sources/%s.bin", ufix_upload_id(path, id));
    if (!stored_equals(p, key, file))
        die("the object stored through tus differs from the file");
    vf_error_t err = {0};
    vf_storage_ops(p)->remove(p->state, key, &err);
    return took;
}

/* One round: the three writes in an order that moves on by one each round
 * (round i starts with write i mod 3).  On the development VM a write
 * that follows the removal of another object's 1 GiB reuses that memory
 * while it is warm; the first write of a round gets memory the guest gave
 * back to its host, and the first touch of each page costs a fault in the
 * host (a 1 GiB file copy: about 600 MiB/s instead of 1200).  With three
 * rounds or more, every write has had each place in the order once, and the
 * best of them is compared. */
static void run_round(int s3, int threads, long round, const char *file, size_t size, size_t chunk, char *buf,
                      result_t *res)
{
    char extra[160];
    snprintf(extra, sizeof extra, "upload = { chunk_max = %zu; };", chunk);
    ufix_opts_t o = {.s3 = s3, .extra = extra, .threads = threads};
    ufix_t f;
    if (ufix_setup(&f, &o) != 0)
        die("the server did not start (see the fixture's messages above)");
    f.conn = curl_easy_init();
    vf_plugin_t *p = load_storage(&f, s3);
    if (!f.conn || !p)
        die("cannot set up the client or load the storage plugin");
    char path[256];
    /* Warm-up: the storage pool's threads and their connections start with
     * the first upload; a small one, so that it does not pre-grow memory. */
    memset(buf, 'w', 65536);
    if (ufix_tus_create(&f, 65536, "warm.bin", path, sizeof path) != 201 ||
        ufix_tus_patch(&f, path, 0, buf, 65536, NULL) != 204)
        die("the warm-up upload failed");

    for (long k = 0; k < 3; k++) {
        switch ((round + k) % 3) {
        case 0: res->tus_s = timed_tus(&f, p, file, size, chunk, buf, res); break;
        case 1: res->copy_s = timed_direct(p, 0, file, size, chunk, buf); break;
        default: res->parts_s = timed_direct(p, 1, file, size, chunk, buf); break;
        }
    }
    vft_plugin_free(p);
    curl_easy_cleanup(f.conn);
    f.conn = NULL;
    ufix_teardown(&f);
}

static void print_row(const char *name, int s3, size_t size, const result_t *r)
{
    double mib = (double)size / MIB;
    double tus = mib / r->tus_s, copy = mib / r->copy_s, parts = mib / r->parts_s;
    /* The brief's direct write: a file copy for local storage, a multipart
     * upload for S3. */
    double ratio = tus / (s3 ? parts : copy);
    double grew = (double)(r->rss_after_kb - r->rss_before_kb) / 1024.0;
    double peak = (double)(r->hwm_kb - r->rss_before_kb) / 1024.0;
    printf("| %s | %.0f MiB | %.1f MiB/s | %.1f MiB/s | %.1f MiB/s | **%.2f** (%s) | %.2f | %.1f -> %.1f MiB | "
           "%+.1f MiB | %+.1f MiB (%s) |\n",
           name, mib, tus, copy, parts, ratio, ratio >= 0.8 ? "met" : "MISSED", tus / parts,
           (double)r->rss_before_kb / 1024.0, (double)r->rss_after_kb / 1024.0, grew, peak,
           peak < 32.0 ? "met" : "MISSED");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"size", required_argument, NULL, 's'},
                                         {"chunk", required_argument, NULL, 'c'},
                                         {"storage", required_argument, NULL, 'S'},
                                         {"rounds", required_argument, NULL, 'r'},
                                         {"threads", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    long size_mib = 1024, chunk_mib = 16, rounds = 1, threads = 2;
    const char *storage = "both";
    int opt;
    while ((opt = getopt_long(argc, argv, "s:c:S:r:t:", opts, NULL)) != -1) {
        switch (opt) {
        case 's': size_mib = strtol(optarg, NULL, 10); break;
        case 'c': chunk_mib = strtol(optarg, NULL, 10); break;
        case 'S': storage = optarg; break;
        case 'r': rounds = strtol(optarg, NULL, 10); break;
        case 't': threads = strtol(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: bench_upload [--size MIB] [--chunk MIB] [--storage local|s3|both] [--rounds N] "
                            "[--threads N]\n");
            return 2;
        }
    }
    if (size_mib < 1 || chunk_mib < 1 || chunk_mib > 2047 || rounds < 1 || threads < 1 || threads > 256 ||
        (strcmp(storage, "local") && strcmp(storage, "s3") && strcmp(storage, "both")))
        die("--size, --rounds must be >= 1, --chunk 1..2047, --threads 1..256, --storage local, s3 or both");
    size_t size = (size_t)size_mib << 20, chunk = (size_t)chunk_mib << 20;

    char *dir = vft_tmpdir("vf-bench-upload");
    char file[4096];
    snprintf(file, sizeof file, "%s/source.bin", dir);
    if (vft_write_pattern(file, size, 42) != 0)
        die("cannot write the source file");
    char *buf = malloc(chunk > 65536 ? chunk : 65536);
    if (!buf)
        die("out of memory");

    printf("\n%zu MiB in %zu MiB chunks, best of %ld; server: %ld HTTP threads, storage_threads and "
           "storage_queue at their defaults\n\n",
           size >> 20, chunk >> 20, rounds, threads);
    printf("| storage | size | tus through the server | put_file (file copy) | multipart, same parts | "
           "ratio to the direct write (>= 0.8) | ratio to the same parts | server RSS before -> after | "
           "RSS growth | peak growth (< 32 MiB) |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (int s3 = 0; s3 < 2; s3++) {
        if (strcmp(storage, "both") != 0 && strcmp(storage, s3 ? "s3" : "local") != 0)
            continue;
        result_t best = {0};
        for (long i = 0; i < rounds; i++) {
            result_t r = {0};
            run_round(s3, (int)threads, i, file, size, chunk, buf, &r);
            if (i == 0) {
                best = r;
                continue;
            }
            best.tus_s = r.tus_s < best.tus_s ? r.tus_s : best.tus_s;
            best.copy_s = r.copy_s < best.copy_s ? r.copy_s : best.copy_s;
            best.parts_s = r.parts_s < best.parts_s ? r.parts_s : best.parts_s;
            if (r.hwm_kb - r.rss_before_kb > best.hwm_kb - best.rss_before_kb) {
                best.hwm_kb = r.hwm_kb;
                best.rss_before_kb = r.rss_before_kb;
                best.rss_after_kb = r.rss_after_kb;
            }
        }
        print_row(s3 ? "storage_s3 (S3 test server)" : "storage_local", s3, size, &best);
    }
    free(buf);
    vft_rmrf(dir);
    free(dir);
    return 0;
}
