#ifndef CSYSTEMSHIMS_UNIXSOCKETS_H
#define CSYSTEMSHIMS_UNIXSOCKETS_H

#include <sys/types.h>

/// A Unix stream socket listening at `path` (which must not exist), non-blocking and
/// close-on-exec, its file made mode 0600 before anyone can connect (`listen` comes after the
/// `chmod`). Returns the descriptor (always above 2) or -1 with errno set; ENAMETOOLONG when
/// `path` does not fit in `sun_path`.
int cshim_unix_listen(const char *path, int backlog);

/// A Unix stream socket connected to `path`, non-blocking and close-on-exec (above 2), or -1
/// with errno set.
int cshim_unix_connect(const char *path);

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; the descriptor is moved above 2.
int cshim_unix_accept(int fd);

/// The peer's credentials from SO_PEERCRED. Returns 0 or -1 with errno set.
int cshim_peer_credentials(int fd, uid_t *uid, pid_t *pid);

/// send(2) with MSG_NOSIGNAL: a peer gone is EPIPE, never SIGPIPE.
ssize_t cshim_send_nosignal(int fd, const void *bytes, size_t count);

#endif
