/*
 * proc.h - starting and stopping one external program (ffmpeg, ffprobe).
 * Owns: fork/exec without a shell, the child's process group, its pipes,
 * killing the whole group and reaping the child.
 *
 * The child runs in a process group of its own, with stdin on /dev/null,
 * stdout and stderr on pipes, default signal dispositions and an empty
 * signal mask; no other descriptor of this process survives its exec.
 */
#ifndef FFE_PROC_H
#define FFE_PROC_H

#include <sys/types.h>

typedef struct ffe_proc {
    pid_t pid;       /* also the process group id; 0 once reaped */
    int out_fd;      /* read end of the child's stdout, non-blocking; -1 when closed */
    int err_fd;      /* read end of the child's stderr, non-blocking; -1 when closed */
} ffe_proc_t;

/* Find `name` as execv() would need it: a name containing '/' is taken as
 * is, otherwise it is searched in $PATH.  *path is malloc()ed.  Returns 0,
 * -ENOENT or -EACCES. */
int ffe_resolve_program(const char *name, char **path);

/* Start argv[0] (a path from ffe_resolve_program) in directory `cwd`
 * (NULL: this process's).  Returns 0, or a negative errno: chdir() and
 * exec() failures in the child are reported here. */
int ffe_proc_start(char *const argv[], const char *cwd, ffe_proc_t *p);

/* Non-blocking check: 1 when the child has exited (it stays unreaped, so
 * its process group id cannot be reused yet), 0 when it still runs. */
int ffe_proc_exited(const ffe_proc_t *p);

/* Reap the child (blocking) and close the pipes; *status is a wait status. */
int ffe_proc_reap(ffe_proc_t *p, int *status);

/* SIGTERM the child's group, SIGKILL it after `grace_ms`, then reap. */
void ffe_proc_kill(ffe_proc_t *p, int grace_ms, int *status);

#endif
