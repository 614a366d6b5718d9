/*
 * task_dir.h - the work directories of pipeline tasks under media.work_dir
 * (vf-task-<video>-<generation>-<task>): taking one for a running task,
 * giving it back, and removing those whose owner is dead.
 * Owns: the directories and their lock files; nothing else in the work
 * directory (a downloaded source lives inside a task directory).
 * Must not: decide which task runs (the advisory lock in pipeline_db.c does).
 */
#ifndef VF_TASK_DIR_H
#define VF_TASK_DIR_H

#include <stddef.h>

/* The name prefix of every task directory. */
#define VF_TASK_DIR_PREFIX "vf-task-"

typedef struct vf_task_dir {
    char *path;
    int lock_fd; /* holds the flock while the task runs; -1 when not held */
} vf_task_dir_t;

/* Create (or take over) `path`, lock it for this process and empty it of
 * what a dead owner left.  0; -EBUSY when a live owner holds it (after a
 * short wait for a sweep that may be removing it); another negative errno
 * with a sentence in err. */
int vf_task_dir_take(vf_task_dir_t *td, const char *path, int (*cancelled)(void *), void *ud, char *err,
                     size_t errlen);

/* Remove the directory and its contents while still holding the lock, then
 * release it.  Does nothing for a directory never taken. */
void vf_task_dir_release(vf_task_dir_t *td);

/* Remove every task directory in work_dir whose owner is dead (its lock is
 * free).  The number removed, or a negative errno when work_dir cannot be
 * read. */
int vf_task_dir_sweep(const char *work_dir);

#endif
