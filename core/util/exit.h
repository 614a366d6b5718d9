/*
 * exit.h - the exit statuses of every videoflix command.
 */
#ifndef VF_UTIL_EXIT_H
#define VF_UTIL_EXIT_H

#define VF_EXIT_OK 0
#define VF_EXIT_FAILURE 1
#define VF_EXIT_USAGE 2

#endif
