/*
 * reload.h - what SIGHUP changes in a running server or worker: the
 * settings of the log group (level, format, file), re-read from the
 * configuration file, and the log file reopened (after logrotate).
 * Everything else is read by running threads without locks, so it changes
 * only with a restart; a reload says so when the file differs elsewhere.
 * Owns: re-reading the file for a reload.  Must not: touch the running
 * configuration structure, which other threads read.
 */
#ifndef VF_RELOAD_H
#define VF_RELOAD_H

#include "config/conf.h"

/* Re-read `running->path`, apply its log settings and reopen the log file.
 * A file that no longer loads is reported and changes nothing.  0, or -1. */
int vf_reload_logging(const vf_config_t *running);

#endif
