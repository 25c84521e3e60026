/* Per-channel I/O operations (socket by default; layers replace them) and
 * Python's send()/recv() on top of them. */
#include "internal.h"

#include <errno.h>
#include <sys/socket.h>

ssize_t ac__io_result(ssize_t n)
{
    if (n >= 0)
        return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN
                                                                     : -errno;
}

/* Never SIGPIPE: MSG_NOSIGNAL, or SO_NOSIGPIPE set when the socket was
 * made (compat.c). */
#if AC_HAVE_MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0
#endif

static ssize_t socket_send(ac_dispatcher *d, const void *buf, size_t len)
{
    ssize_t n = ac__io_result(send(d->fd, buf, len, SEND_FLAGS));

    if (AC__FLAG(d, AC__F_TIMED))
        ac__timed_out(d, n);
    return n;
}

static ssize_t socket_recv(ac_dispatcher *d, void *buf, size_t len)
{
    ssize_t n = ac__io_result(recv(d->fd, buf, len, 0));

    if (n > 0 && AC__FLAG(d, AC__F_TIMED))
        ac__timed_in(d);
    return n;
}

static int socket_shutdown(ac_dispatcher *d)
{
    return shutdown(d->fd, SHUT_WR) < 0 ? -errno : 0;
}

const ac_io_ops ac_socket_io = {
    .name = "socket",
    .send = socket_send,
    .recv = socket_recv,
    .shutdown = socket_shutdown,
    .close = NULL,
};

int ac_set_io(ac_dispatcher *d, const ac_io_ops *io, void *data)
{
    if (!d || (io && (!io->send || !io->recv)))
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CLOSED))
        return -EBADF;
    d->io = io ? io : &ac_socket_io;
    d->io_data = data;
    return 0;
}

const ac_io_ops *ac_get_io(const ac_dispatcher *d)
{
    return d ? d->io : NULL;
}

void *ac_get_io_data(const ac_dispatcher *d)
{
    return d ? d->io_data : NULL;
}

int ac__shutdown_write(ac_dispatcher *d)
{
    const ac_io_ops *io = d->io;
    int r;

    if (!io->shutdown)
        return -EOPNOTSUPP;
    r = io->shutdown(d);
    if (r == 0)
        d->flags |= AC__F_WRSHUT;
    return r;
}

/* A failed send/recv: a disconnect closes (Python's handle_close), anything
 * else is an error, named after the layer that failed if there is one
 * ("tls"); both run as a handler frame because they call user code that
 * may destroy the channel. */
static ssize_t io_failed(ac_dispatcher *d, int err, const char *where)
{
    ac_map *map = d->map;

    ac__enter(map);
    ac__fail(d, err, d->io == &ac_socket_io || !d->io->name ? where
                                                            : d->io->name);
    ac__leave(map);
    return -err;
}

ssize_t ac_send(ac_dispatcher *d, const void *buf, size_t len)
{
    ssize_t n;
    int r = ac__check_open(d);

    if (r < 0)
        return r;
    AC__THREAD_CHECK(d->map);
    if (!buf && len)
        return -EINVAL;
    if (AC__FLAG(d, AC__F_WRSHUT))
        return -EPIPE; /* writing was shut down (ac_close_lingering) */
    n = d->io->send(d, buf, len);
    if (n >= 0)
        return n;
    if (n == -EAGAIN)
        return 0;
    return io_failed(d, (int)-n, "send");
}

ssize_t ac_recv(ac_dispatcher *d, void *buf, size_t len)
{
    ssize_t n;
    ac_map *map;
    int r = ac__check_open(d);

    if (r < 0)
        return r;
    AC__THREAD_CHECK(d->map);
    if (!buf || len == 0)
        return -EINVAL;
    n = d->io->recv(d, buf, len);
    if (n > 0)
        return n;
    if (n == 0) {
        /* The peer closed: Python's recv() calls handle_close(). */
        map = d->map;
        ac__enter(map);
        ac_handle_close(d);
        ac__leave(map);
        return 0;
    }
    if (n == -EAGAIN)
        return -EAGAIN;
    return io_failed(d, (int)-n, "recv");
}
