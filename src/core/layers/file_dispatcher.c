/* Python's file_dispatcher: a channel over a duplicated non-socket fd,
 * with read/write as its I/O operations. */
#include "../internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

/* write(2) to a pipe whose reader is gone raises SIGPIPE, and there is no
 * MSG_NOSIGNAL for it. The library must not change the process's signal
 * disposition, so it blocks SIGPIPE in this thread for the write and
 * consumes the signal the write raised (unless one was already pending,
 * which belongs to someone else). */
static ssize_t file_send(ac_dispatcher *d, const void *buf, size_t len)
{
    sigset_t pipe_set, old, pending;
    ssize_t n;
    int err;
    bool was_pending;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old) != 0)
        return ac__io_result(write(d->fd, buf, len));
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    n = write(d->fd, buf, len);
    err = errno;
    if (n < 0 && err == EPIPE && !was_pending) {
        static const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return ac__io_result(n);
}

static ssize_t file_recv(ac_dispatcher *d, void *buf, size_t len)
{
    return ac__io_result(read(d->fd, buf, len));
}

/* No shutdown: a lingering close of a file just closes it. */
static const ac_io_ops file_io = {
    .name = "file",
    .send = file_send,
    .recv = file_recv,
};

int ac_file_dispatcher(ac_dispatcher *d, int fd)
{
    int copy, r;

    r = ac__check_fresh(d);
    if (r < 0)
        return r;
    if (fd < 0)
        return -EBADF;
    /* Our own copy: closing the channel leaves the caller's fd open. */
    copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0)
        return -errno;
    r = ac__set_nonblock(copy);
    if (r == 0) {
        ac_set_io(d, &file_io, NULL);
        r = ac__adopt(d, copy, AC__F_CONNECTED);
    }
    if (r < 0) {
        ac_set_io(d, NULL, NULL);
        close(copy);
    }
    return r;
}
