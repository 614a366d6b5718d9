/*
 * sd_notify.c - see sd_notify.h.  The protocol is one datagram on an
 * AF_UNIX socket whose path is $NOTIFY_SOCKET ('@' first: the abstract
 * namespace), documented as a stable interface in sd_notify(3).  A dozen
 * lines of libc here rather than libsystemd: no dependency on hosts without
 * systemd, and nothing else of libsystemd is needed.
 */
#include "config.h"
#include "util/log.h"
#include "util/sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int send_state(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path)
        return -EINVAL;
    memcpy(addr.sun_path, path, len);
    if (path[0] == '@')
        addr.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    socklen_t addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/' ? 1 : 0));
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&addr, addrlen);
    int e = errno;
    close(fd);
    return n < 0 ? -e : 1;
}

int vf_sd_notify(const char *state)
{
    int rc = send_state(state);
    if (rc < 0)
        vf_warn("systemd: cannot notify the service manager at $NOTIFY_SOCKET: %s", strerror(-rc));
    return rc;
}

uint64_t vf_sd_watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    if (!usec || !*usec)
        return 0;
    const char *pid = getenv("WATCHDOG_PID");
    if (pid && *pid && strtol(pid, NULL, 10) != (long)getpid())
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(usec, &end, 10);
    if (errno || !end || *end || v == 0)
        return 0;
    return (uint64_t)v;
}
