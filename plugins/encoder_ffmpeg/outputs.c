/*
 * outputs.c - see outputs.h.  With tmp_dir on another file system the
 * rename fails with EXDEV; the data is then copied into a second temporary
 * beside the output first, so the final name still appears atomically.
 */
#include "outputs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "paths.h"

#define PART_SUFFIX ".part"

/* "<dir>/.<base of final>.XXXXXX.part", created empty; an absolute path,
 * as ffmpeg may run in another directory (paths.h). */
static int make_temp(const char *dir_or_null, const char *final_path, char **out)
{
    int ret = -ENOMEM;
    char *copy_dir = strdup(final_path), *copy_base = strdup(final_path), *path = NULL;
    char *dir = NULL;
    if (!copy_dir || !copy_base)
        goto out;
    if ((ret = ffe_absolute_path(dir_or_null ? dir_or_null : dirname(copy_dir), &dir)) < 0)
        goto out;
    ret = -ENOMEM;
    const char *base = basename(copy_base);
    if (asprintf(&path, "%s/.%s.XXXXXX" PART_SUFFIX, dir, base) < 0) {
        path = NULL;
        goto out;
    }
    int fd = mkostemps(path, (int)strlen(PART_SUFFIX), O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        goto out;
    }
    /* mkostemps() makes it 0600; outputs are ordinary public media files
     * (ffmpeg's -y keeps the mode of the file it truncates). */
    if (fchmod(fd, 0644) != 0) {
        ret = -errno;
        close(fd);
        unlink(path);
        goto out;
    }
    close(fd);
    *out = path;
    path = NULL;
    ret = 0;
out:
    free(path);
    free(dir);
    free(copy_dir);
    free(copy_base);
    return ret;
}

int ffe_outputs_add(ffe_outputs_t *o, const vf_host_api_t *host, const char *tmp_dir,
                    const char *final_path, vf_error_t *err)
{
    if (!final_path || !*final_path)
        return host->error(err, EINVAL, "an output path is missing");
    ffe_output_t *items = realloc(o->items, (o->count + 1) * sizeof *items);
    if (!items)
        return host->error(err, ENOMEM, "out of memory");
    o->items = items;
    ffe_output_t *item = &o->items[o->count];
    memset(item, 0, sizeof *item);
    item->final_path = strdup(final_path);
    if (!item->final_path)
        return host->error(err, ENOMEM, "out of memory");
    int ret = make_temp(tmp_dir, final_path, &item->tmp_path);
    if (ret < 0) {
        free(item->final_path);
        return host->error(err, ret, "cannot create a temporary file for %s in %s: %s", final_path,
                           tmp_dir ? tmp_dir : "its directory", strerror(-ret));
    }
    o->count++;
    return 0;
}

/* Move one temporary into place, across file systems if need be. */
static int move_into_place(ffe_output_t *item)
{
    if (rename(item->tmp_path, item->final_path) == 0)
        return 0;
    if (errno != EXDEV)
        return -errno;
    char *beside = NULL;
    int ret = make_temp(NULL, item->final_path, &beside);
    if (ret < 0)
        return ret;
    ret = ffe_copy_file(item->tmp_path, beside, 0);
    if (ret == 0 && rename(beside, item->final_path) != 0)
        ret = -errno;
    if (ret < 0)
        unlink(beside);
    else
        unlink(item->tmp_path);
    free(beside);
    return ret;
}

int ffe_outputs_commit(ffe_outputs_t *o, const vf_host_api_t *host, vf_error_t *err)
{
    int ret = 0;
    for (size_t i = 0; i < o->count && ret == 0; i++) {
        ffe_output_t *item = &o->items[i];
        struct stat st;
        if (stat(item->tmp_path, &st) != 0 || st.st_size == 0) {
            ret = host->error(err, EIO, "ffmpeg wrote nothing for %s", item->final_path);
            break;
        }
        int moved = move_into_place(item);
        if (moved < 0) {
            ret = host->error(err, moved, "cannot move the finished %s into place: %s",
                              item->final_path, strerror(-moved));
            break;
        }
        item->committed = 1;
    }
    if (ret < 0)
        for (size_t i = 0; i < o->count; i++)
            if (o->items[i].committed) {
                unlink(o->items[i].final_path);
                o->items[i].committed = 0;
            }
    return ret;
}

void ffe_outputs_discard(ffe_outputs_t *o)
{
    for (size_t i = 0; i < o->count; i++) {
        if (!o->items[i].committed)
            unlink(o->items[i].tmp_path);
        free(o->items[i].final_path);
        free(o->items[i].tmp_path);
    }
    free(o->items);
    o->items = NULL;
    o->count = 0;
}
