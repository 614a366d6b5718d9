/*
 * sd_notify.h - telling the service manager (systemd, Type=notify) how the
 * process is doing: READY=1, STOPPING=1, WATCHDOG=1, STATUS=...
 * Owns: the NOTIFY_SOCKET datagram protocol (sd_notify(3)) and reading
 * WATCHDOG_USEC.  Must not: decide when to notify (the server and the
 * worker do).
 */
#ifndef VF_SD_NOTIFY_H
#define VF_SD_NOTIFY_H

#include <stdint.h>

/* Send `state` (newline-separated VAR=value lines) to $NOTIFY_SOCKET.
 * 1 when sent, 0 when there is no NOTIFY_SOCKET (not under a notify
 * service manager), -errno when sending failed (logged as a warning). */
int vf_sd_notify(const char *state);
/* Microseconds between the watchdog pings the manager expects
 * ($WATCHDOG_USEC, when $WATCHDOG_PID is unset or this process), else 0. */
uint64_t vf_sd_watchdog_usec(void);

#endif
