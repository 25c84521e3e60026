/* What differs between systems, in one place, chosen by meson's checks
 * (ac_config.h), never by the system's name: sockets and accepted
 * connections born non-blocking and close-on-exec, the call wake-up's
 * descriptors, the keepalive idle time, a socket's unsent bytes,
 * memmem, strerror_r. (The file producer's reads where there is no Linux
 * sendfile are in layers/producers.c.) The portable build
 * (-Dportable=true) takes every fallback here on Linux, as macOS and the
 * BSDs would. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#if AC_HAVE_EVENTFD
#include <sys/eventfd.h>
#endif
#if AC_HAVE_SIOCOUTQ
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif

int ac__set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

#if !AC_HAVE_SOCK_CLOEXEC || !AC_HAVE_ACCEPT4 || !AC_HAVE_EVENTFD
/* Non-blocking and close-on-exec after the fact; closes `fd` on failure.
 * (A fork() in another thread before FD_CLOEXEC lands would leak it into
 * the child: what SOCK_CLOEXEC and accept4 exist for.) */
static int late_flags(int fd)
{
    int r = ac__set_nonblock(fd);

    if (r == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        r = -errno;
    if (r < 0)
        close(fd);
    return r < 0 ? r : fd;
}
#endif

/* Never SIGPIPE where send() has no MSG_NOSIGNAL (io.c). */
static int no_sigpipe(int fd)
{
#if !AC_HAVE_MSG_NOSIGNAL && AC_HAVE_SO_NOSIGPIPE
    int one = 1;

    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
    return fd;
}

int ac__socket(int family, int type)
{
#if AC_HAVE_SOCK_CLOEXEC
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    return fd < 0 ? -errno : no_sigpipe(fd);
#else
    int fd = socket(family, type, 0);

    return fd < 0 ? -errno : no_sigpipe(late_flags(fd));
#endif
}

int ac__accept(int lfd, struct sockaddr *sa, socklen_t *len)
{
#if AC_HAVE_ACCEPT4
    int fd = accept4(lfd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);

    return fd < 0 ? -errno : no_sigpipe(fd);
#else
    int fd = accept(lfd, sa, len);

    return fd < 0 ? -errno : no_sigpipe(late_flags(fd));
#endif
}

int ac__wake_open(int *rfd, int *wfd)
{
#if AC_HAVE_EVENTFD
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    if (fd < 0)
        return -errno;
    *rfd = *wfd = fd;
    return 0;
#else
    int p[2];

    if (pipe(p) < 0)
        return -errno;
    if ((*rfd = late_flags(p[0])) < 0) {
        close(p[1]);
        return *rfd;
    }
    if ((*wfd = late_flags(p[1])) < 0) {
        close(p[0]);
        return *wfd;
    }
    return 0;
#endif
}

int ac__keepalive_idle(int fd, int idle_s)
{
#if defined(TCP_KEEPIDLE) || defined(TCP_KEEPALIVE)
#ifdef TCP_KEEPIDLE
    int opt = TCP_KEEPIDLE;
#else
    int opt = TCP_KEEPALIVE; /* macOS's name for it */
#endif
    return setsockopt(fd, IPPROTO_TCP, opt, &idle_s, sizeof(idle_s)) < 0
               ? -errno
               : 0;
#else
    (void)fd;
    (void)idle_s;
    return -ENOTSUP; /* keepalive is on, at the system's idle time */
#endif
}

const char *ac__memmem(const char *p, size_t n, const char *t, size_t tl)
{
#if AC_HAVE_MEMMEM
    return memmem(p, n, t, tl);
#else
    /* terminators are short: each occurrence of the first byte, compared */
    const char *end = p + n, *q = p;

    while (end - q >= (ptrdiff_t)tl &&
           (q = memchr(q, t[0], (size_t)(end - q) - tl + 1))) {
        if (!memcmp(q, t, tl))
            return q;
        q++;
    }
    return NULL;
#endif
}

long ac__unsent(int fd)
{
#if AC_HAVE_SIOCOUTQ
    int n;

    return ioctl(fd, SIOCOUTQ, &n) < 0 ? -errno : n;
#else
    (void)fd;
    return -ENOTSUP;
#endif
}

const char *ac__strerror_r(int err, char *buf, size_t size)
{
#if AC_HAVE_GNU_STRERROR_R
    return strerror_r(err, buf, size); /* may return its own text */
#else
    if (strerror_r(err, buf, size) != 0)
        snprintf(buf, size, "Unknown error %d", err);
    return buf;
#endif
}
