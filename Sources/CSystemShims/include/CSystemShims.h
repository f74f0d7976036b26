// Thin wrappers over Linux calls that Swift cannot call directly: variadic functions
// (`syscall`, `prctl`), the packed `struct epoll_event`, and posix_spawn set-up that glibc only
// declares under _GNU_SOURCE. Each function does one call and returns its result unchanged
// (-1 with errno set on failure) so that Swift code can wrap it like any other syscall.
#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H

#include <stdint.h>
#include <sys/types.h>

/// `fd` itself when it is above 2; otherwise a close-on-exec duplicate at 3 or above, with `fd`
/// closed (-1 and errno on failure). Every descriptor the shims below create goes through it.
int cshim_above_standard_streams(int fd);

/// pidfd_open(2): a file descriptor that becomes readable when `pid` exits.
int cshim_pidfd_open(pid_t pid);

/// pidfd_send_signal(2).
int cshim_pidfd_send_signal(int pidfd, int sig);

/// prctl(PR_SET_NAME, name): names the calling thread (the kernel keeps its first 15 bytes) for
/// `top -H`, `perf` and gdb.
int cshim_set_thread_name(const char *name);

/// prctl(PR_SET_PDEATHSIG, sig): deliver `sig` to this process when its parent thread exits.
int cshim_set_parent_death_signal(int sig);

/// timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), moved above the standard streams.
int cshim_timerfd_create(void);

/// Blocks until CLOCK_MONOTONIC reaches `deadline` (nanoseconds) by arming the timer
/// `timerfd` at that absolute time and reading it. Returns 0, or -1 with errno.
int cshim_timerfd_sleep_until(int timerfd, uint64_t deadline);

/// epoll_create1(EPOLL_CLOEXEC).
int cshim_epoll_create(void);

/// Fixes glibc's mmap threshold at its default, 128 KiB (`mallopt(M_MMAP_THRESHOLD, ...)`),
/// unless the environment sets `MALLOC_MMAP_THRESHOLD_`; returns 1 if it was set. Not in Swift's
/// Glibc module.
int cshim_fix_mmap_threshold(void);

/// epoll_ctl(2) ADD with the event's data set to `token`.
int cshim_epoll_add(int epfd, int fd, uint32_t events, uint64_t token);

/// epoll_ctl(2) DEL.
int cshim_epoll_del(int epfd, int fd);

/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).
int cshim_eventfd(void);

/// pipe2(fds, O_CLOEXEC).
int cshim_pipe_cloexec(int fds[2]);

/// epoll_wait(2) that unpacks the ready events into two plain arrays.
int cshim_epoll_wait(int epfd, uint32_t *events, uint64_t *tokens, int maxevents, int timeout_ms);

/// posix_spawn(3) of a worker: `fds[i]` becomes descriptor `3 + i` in the child (for i < nfds),
/// `stdout_fd`/`stderr_fd` (when >= 0) become 1 and 2, every other descriptor >= 3 + nfds is closed,
/// the signal mask is emptied and every signal is reset to its default action, and the child gets a
/// process group of its own (so a terminal's Ctrl-C reaches the parent, which then stops the pool).
/// Returns 0 or an errno value, like posix_spawn.
int cshim_spawn_worker(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                       const int *fds, int nfds, int stdout_fd, int stderr_fd);

/// posix_spawn(3) (posix_spawnp when `search_path` is non-zero) of an ordinary child: `stdin_fd`,
/// `stdout_fd`, `stderr_fd` (when >= 0) become 0, 1 and 2; the signal mask is emptied and every
/// signal reset to its default action, whatever the calling thread had (a thread of Swift's
/// cooperative pool blocks most signals, and a child inheriting that cannot be stopped).
/// Returns 0 or an errno value, like posix_spawn.
int cshim_spawn_with_clean_signals(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                                   int stdin_fd, int stdout_fd, int stderr_fd, int search_path);

/// posix_spawnp(3) of a worker's launcher (ssh, srun, a user's command): `stdin_fd` and
/// `stdout_fd` (pipe ends above 2) become 0 and 1 and carry the worker protocol, `stderr_fd` (when
/// >= 0) becomes 2; every other descriptor >= 3 is closed, signals are reset as for a worker, and
/// the child gets a process group of its own. Returns 0 or an errno value, like posix_spawn.
int cshim_spawn_launcher(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                         int stdin_fd, int stdout_fd, int stderr_fd);

/// The number of CPUs this process may run on (sched_getaffinity), or -1.
int cshim_usable_cpu_count(void);

#include "UnixSockets.h"

#endif
