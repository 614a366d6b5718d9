/*
 * paths.c - see paths.h.
 */
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ffe_absolute_path(const char *path, char **out)
{
    *out = NULL;
    if (path[0] == '/') {
        *out = strdup(path);
        return *out ? 0 : -ENOMEM;
    }
    for (size_t cap = 256; cap <= (1u << 20); cap *= 2) {
        char *cwd = malloc(cap);
        if (!cwd)
            return -ENOMEM;
        if (getcwd(cwd, cap)) {
            int n = asprintf(out, "%s%s%s", cwd, cwd[strlen(cwd) - 1] == '/' ? "" : "/", path);
            free(cwd);
            if (n < 0) {
                *out = NULL;
                return -ENOMEM;
            }
            return 0;
        }
        int e = errno;
        free(cwd);
        if (e != ERANGE)
            return -e;
    }
    return -ENAMETOOLONG;
}
