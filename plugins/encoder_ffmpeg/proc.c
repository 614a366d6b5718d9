/*
 * proc.c - see proc.h.  The code between fork() and exec() uses only
 * async-signal-safe calls, because the host process is multi-threaded:
 * everything the child needs (resolved path, /dev/null, pipes) is prepared
 * before fork().
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int is_executable_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EACCES;
    return access(path, X_OK) == 0 ? 0 : -errno;
}

int ffe_resolve_program(const char *name, char **path)
{
    *path = NULL;
    if (!name || !*name)
        return -ENOENT;
    if (strchr(name, '/')) {
        int ret = is_executable_file(name);
        if (ret < 0)
            return ret;
        *path = strdup(name);
        return *path ? 0 : -ENOMEM;
    }
    const char *search = getenv("PATH");
    if (!search || !*search)
        search = "/usr/local/bin:/usr/bin:/bin";
    int ret = -ENOENT;
    while (*search) {
        size_t dirlen = strcspn(search, ":");
        char *candidate = malloc(dirlen + strlen(name) + 3);
        if (!candidate)
            return -ENOMEM;
        if (dirlen == 0)
            strcpy(candidate, ".");
        else {
            memcpy(candidate, search, dirlen);
            candidate[dirlen] = '\0';
        }
        strcat(candidate, "/");
        strcat(candidate, name);
        int found = is_executable_file(candidate);
        if (found == 0) {
            *path = candidate;
            return 0;
        }
        if (found == -EACCES)
            ret = -EACCES;
        free(candidate);
        search += dirlen;
        if (*search == ':')
            search++;
    }
    return ret;
}

/* Keep descriptors off 0..2 so the child's dup2() calls cannot clobber one
 * pipe with another when the host runs with a standard stream closed. */
static int lift_fd(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int lifted = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return lifted;
}

static int open_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -errno;
    fds[0] = lift_fd(fds[0]);
    fds[1] = lift_fd(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        int ret = -errno;
        if (fds[0] >= 0)
            close(fds[0]);
        if (fds[1] >= 0)
            close(fds[1]);
        fds[0] = fds[1] = -1;
        return ret;
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Runs in the child: async-signal-safe calls only. */
static void __attribute__((noreturn))
exec_child(char *const argv[], const char *cwd, int devnull, int out_w, int err_w, int status_w,
           int max_fd, pid_t parent)
{
    setpgid(0, 0);
    /* A worker killed with SIGKILL cannot stop its ffmpeg: the kernel does.
     * (The signal follows the forking thread, which waits for the child.) */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Ignored signals stay ignored across exec; ffmpeg must die on SIGTERM. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);

    if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        goto fail;
    if (cwd && chdir(cwd) != 0)
        goto fail;
    /* Everything from 3 up closes at exec, including descriptors other
     * threads of the host opened without O_CLOEXEC; status_w stays usable
     * until then. */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
        for (int fd = 3; fd < max_fd; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    execv(argv[0], argv);
fail:;
    int code = errno;
    ssize_t unused = write(status_w, &code, sizeof code);
    (void)unused;
    _exit(127);
}

int ffe_proc_start(char *const argv[], const char *cwd, ffe_proc_t *p)
{
    int ret = -EIO;
    int devnull = -1, out[2] = {-1, -1}, err[2] = {-1, -1}, status[2] = {-1, -1};
    p->pid = 0;
    p->out_fd = p->err_fd = -1;

    struct rlimit lim;
    int max_fd = 65536;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < 65536)
        max_fd = (int)lim.rlim_cur;

    devnull = lift_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (devnull < 0) {
        ret = -errno;
        goto out;
    }
    if ((ret = open_pipe(out)) < 0 || (ret = open_pipe(err)) < 0 || (ret = open_pipe(status)) < 0)
        goto out;

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        ret = -errno;
        goto out;
    }
    if (pid == 0)
        exec_child(argv, cwd, devnull, out[1], err[1], status[1], max_fd, parent);

    /* Also from the parent, so a kill(-pid) right after this returns
     * reaches the group even if the child was not scheduled yet. */
    (void)setpgid(pid, pid); /* EACCES: it already exec'd, after its own setpgid */
    close_fd(&out[1]);
    close_fd(&err[1]);
    close_fd(&status[1]);

    int child_errno = 0;
    ssize_t n;
    do
        n = read(status[0], &child_errno, sizeof child_errno);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof child_errno) {
        int wstatus;
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
            ;
        ret = child_errno ? -child_errno : -EIO;
        goto out;
    }
    if (fcntl(out[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(err[0], F_SETFL, O_NONBLOCK) != 0) {
        ret = -errno;
        p->pid = pid;
        p->out_fd = out[0];
        p->err_fd = err[0];
        out[0] = err[0] = -1;
        ffe_proc_kill(p, 0, NULL);
        goto out;
    }
    p->pid = pid;
    p->out_fd = out[0];
    p->err_fd = err[0];
    out[0] = err[0] = -1;
    ret = 0;
out:
    close_fd(&devnull);
    close_fd(&out[0]);
    close_fd(&out[1]);
    close_fd(&err[0]);
    close_fd(&err[1]);
    close_fd(&status[0]);
    close_fd(&status[1]);
    return ret;
}

int ffe_proc_exited(const ffe_proc_t *p)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno == EINTR ? 0 : 1;
    return info.si_pid == p->pid;
}

int ffe_proc_reap(ffe_proc_t *p, int *status)
{
    int wstatus = 0, ret = 0;
    close_fd(&p->out_fd);
    close_fd(&p->err_fd);
    if (p->pid > 0) {
        while (waitpid(p->pid, &wstatus, 0) < 0) {
            if (errno != EINTR) {
                ret = -errno;
                break;
            }
        }
        p->pid = 0;
    }
    if (status)
        *status = wstatus;
    return ret;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void ffe_proc_kill(ffe_proc_t *p, int grace_ms, int *status)
{
    if (p->pid <= 0) {
        ffe_proc_reap(p, status);
        return;
    }
    /* The unreaped leader keeps the group id reserved, so these kills
     * cannot reach an unrelated process. */
    kill(-p->pid, SIGTERM);
    for (int waited = 0; waited < grace_ms && !ffe_proc_exited(p); waited += 20)
        sleep_ms(20);
    kill(-p->pid, SIGKILL);
    ffe_proc_reap(p, status);
}
