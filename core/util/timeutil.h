/*
 * util/timeutil.h - clocks and timestamp formatting used everywhere.
 */
#ifndef VF_TIMEUTIL_H
#define VF_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, microseconds since the epoch. */
int64_t vf_now_us(void);
/* Monotonic clock, microseconds. */
int64_t vf_mono_us(void);
/* "2025-11-22T10:53:08.123456Z" into buf (>= 28 bytes). */
void vf_time_iso8601(int64_t us, char *buf, size_t len);
/* "Sat, 22 Nov 2025 10:53:08 GMT" (HTTP-date) into buf (>= 30 bytes). */
void vf_time_http(int64_t seconds, char *buf, size_t len);
/* Parse an HTTP-date; returns -1 on error. */
int64_t vf_time_parse_http(const char *s);
/* Sleep, restarting after signals. */
void vf_sleep_us(int64_t us);

#endif
