#define _GNU_SOURCE
#include "CSystemShims.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/// Moves `fd` above the standard streams (0, 1, 2), close-on-exec. A program started with
/// stdin or stdout closed would otherwise get them back from its first `pipe`/`open`, and then
/// read its own pipe as input or write its results into it.
static int above_standard_streams(int fd) {
    if (fd < 0 || fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    close(fd);
    errno = saved;
    return moved;
}

int cshim_above_standard_streams(int fd) {
    return above_standard_streams(fd);
}

int cshim_pidfd_open(pid_t pid) {
    return cshim_above_standard_streams((int)syscall(SYS_pidfd_open, pid, 0));
}

int cshim_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int cshim_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

int cshim_set_parent_death_signal(int sig) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0);
}

int cshim_timerfd_create(void) {
    return cshim_above_standard_streams(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
}

int cshim_timerfd_sleep_until(int timerfd, uint64_t deadline) {
    struct itimerspec when = {0};
    when.it_value.tv_sec = (time_t)(deadline / 1000000000u);
    when.it_value.tv_nsec = (long)(deadline % 1000000000u);
    if (when.it_value.tv_sec == 0 && when.it_value.tv_nsec == 0) when.it_value.tv_nsec = 1;
    if (timerfd_settime(timerfd, TFD_TIMER_ABSTIME, &when, NULL) != 0) return -1;
    uint64_t expirations;
    for (;;) {
        ssize_t got = read(timerfd, &expirations, sizeof expirations);
        if (got == (ssize_t)sizeof expirations) return 0;
        if (got < 0 && errno == EINTR) continue;
        return -1;
    }
}

int cshim_epoll_create(void) {
    return cshim_above_standard_streams(epoll_create1(EPOLL_CLOEXEC));
}

int cshim_epoll_add(int epfd, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int cshim_epoll_del(int epfd, int fd) {
    struct epoll_event ev = {0};
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
}

int cshim_eventfd(void) {
    return cshim_above_standard_streams(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
}

int cshim_pipe_cloexec(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        int moved = cshim_above_standard_streams(fds[i]);
        if (moved < 0) {
            int saved = errno;
            if (i == 0) close(fds[1]); else close(fds[0]);
            fds[0] = fds[1] = -1;
            errno = saved;
            return -1;
        }
        fds[i] = moved;
    }
    return 0;
}

int cshim_epoll_wait(int epfd, uint32_t *events, uint64_t *tokens, int maxevents, int timeout_ms) {
    struct epoll_event evs[256];
    if (maxevents > 256) maxevents = 256;
    int n = epoll_wait(epfd, evs, maxevents, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i] = evs[i].events;
        tokens[i] = evs[i].data.u64;
    }
    return n;
}

/// Empty signal mask, every signal at its default action, plus `extra_flags`.
static int set_clean_signals(posix_spawnattr_t *attr, short extra_flags) {
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int rc = posix_spawnattr_setsigmask(attr, &none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(attr, &all);
    if (rc == 0) rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | extra_flags);
    return rc;
}

int cshim_spawn_with_clean_signals(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                                   int stdin_fd, int stdout_fd, int stderr_fd, int search_path) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }
    if (rc == 0 && stdin_fd >= 0) rc = posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    if (rc == 0 && stdout_fd >= 0) rc = posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    if (rc == 0 && stderr_fd >= 0) rc = posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
    if (rc == 0) rc = set_clean_signals(&attr, 0);
    if (rc == 0) rc = search_path ? posix_spawnp(pid, path, &actions, &attr, argv, envp)
                                  : posix_spawn(pid, path, &actions, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

int cshim_spawn_worker(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                       const int *fds, int nfds, int stdout_fd, int stderr_fd) {
    if (nfds < 0 || nfds > 16) return EINVAL;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }

    // Move the inherited descriptors out of the way first, so that a source fd that happens to
    // equal a target slot (3, 4, ...) is never clobbered before it is copied. The staging slots
    // are the lowest numbers from 3 + nfds up that are no source: low, so that they stay below
    // the descriptor limit (a slot past `ulimit -n` makes dup2 fail with EBADF), and closed
    // again below.
    int staging[16];
    int candidate = 3 + nfds;
    for (int i = 0; i < nfds; i++) {
        for (;;) {
            int taken = candidate == stdout_fd || candidate == stderr_fd;
            for (int j = 0; j < nfds && !taken; j++) taken = candidate == fds[j];
            if (!taken) break;
            candidate++;
        }
        staging[i] = candidate++;
    }
    for (int i = 0; i < nfds && rc == 0; i++)
        rc = posix_spawn_file_actions_adddup2(&actions, fds[i], staging[i]);
    if (rc == 0 && stdout_fd >= 0) rc = posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    if (rc == 0 && stderr_fd >= 0) rc = posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
    // dup2 onto the final slot clears FD_CLOEXEC there; everything else is closed below.
    for (int i = 0; i < nfds && rc == 0; i++)
        rc = posix_spawn_file_actions_adddup2(&actions, staging[i], 3 + i);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3 + nfds);
#else
    for (int i = 0; i < nfds && rc == 0; i++)
        rc = posix_spawn_file_actions_addclose(&actions, staging[i]);
#endif

    if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
    if (rc == 0) rc = set_clean_signals(&attr, POSIX_SPAWN_SETPGROUP);
    if (rc == 0) rc = posix_spawn(pid, path, &actions, &attr, argv, envp);

    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

int cshim_spawn_launcher(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                         int stdin_fd, int stdout_fd, int stderr_fd) {
    // The three sources are pipe ends above 2 (cshim_pipe_cloexec), so no dup2 below clobbers
    // another source; stderr_fd < 0 leaves the parent's standard error in place.
    if (stdin_fd < 3 || stdout_fd < 3 || (stderr_fd >= 0 && stderr_fd < 3)) return EINVAL;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }
    rc = posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    if (rc == 0 && stderr_fd >= 0) rc = posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
    if (rc == 0) rc = set_clean_signals(&attr, POSIX_SPAWN_SETPGROUP);
    if (rc == 0) rc = posix_spawnp(pid, path, &actions, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

int cshim_usable_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}

int cshim_fix_mmap_threshold(void) {
    if (getenv("MALLOC_MMAP_THRESHOLD_") != NULL) return 0;
    return mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}
