/*
 * replay.c - the main() of the harnesses in builds without libFuzzer (gcc,
 * `make check`, `make distcheck`): runs every input kept in the harness's
 * corpus, tests/fuzz/<name>/ for the program fuzz_<name>, once.  The seeds
 * and every input that once crashed stay regression tests this way, in
 * every build.  Arguments, when given, are files or folders to run instead.
 */
#include "config.h"
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

/* Harnesses that need no set-up leave it out. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *data = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc(data, cap);
            if (!grown) {
                fprintf(stderr, "replay: out of memory reading %s\n", path);
                free(data);
                fclose(f);
                return -1;
            }
            data = grown;
        }
        size_t n = fread(data + size, 1, cap - size, f);
        size += n;
        if (n == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(data);
        return -1;
    }
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every regular file of dir, in name order; the count, or -1. */
static long replay_dir(const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s: %s\n", dir, strerror(errno));
        return -1;
    }
    long count = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (count >= 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            count = replay_file(path) == 0 ? count + 1 : -1;
        free(names[i]);
    }
    free(names);
    return count;
}

static long replay_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(sb.st_mode))
        return replay_dir(path);
    return replay_file(path) == 0 ? 1 : -1;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    long total = 0;
    if (argc > 1) {
        for (int i = 1; i < argc && total >= 0; i++) {
            long n = replay_path(argv[i]);
            total = n < 0 ? -1 : total + n;
        }
    } else {
        /* fuzz_<name> replays tests/fuzz/<name>/ of the source tree. */
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        if (strncmp(base, "lt-", 3) == 0)
            base += 3;
        const char *src = getenv("VF_SRCDIR");
        if (!src || strncmp(base, "fuzz_", 5) != 0) {
            fprintf(stderr, "replay: set VF_SRCDIR (make check does) or name the inputs to run\n");
            return 1;
        }
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/fuzz/%s", src, base + 5);
        total = replay_path(dir);
        /* A corpus that ran nothing proves nothing. */
        if (total == 0) {
            fprintf(stderr, "replay: %s holds no inputs\n", dir);
            return 1;
        }
        if (total > 0)
            printf("replay: %ld inputs of %s ran without a finding\n", total, dir);
    }
    return total < 0 ? 1 : 0;
}
