/* Python's file_dispatcher: a channel over a duplicated non-socket fd. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

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
    if (r == 0)
        r = ac__adopt(d, copy, AC__F_CONNECTED | AC__F_FILE);
    if (r < 0)
        close(copy);
    return r;
}

/* write(2) to a pipe whose reader is gone raises SIGPIPE, and there is no
 * MSG_NOSIGNAL for it. The library must not change the process's signal
 * disposition, so it blocks SIGPIPE in this thread for the write and
 * consumes the signal the write raised (unless one was already pending,
 * which belongs to someone else). */
ssize_t ac__file_write(int fd, const void *buf, size_t len)
{
    sigset_t pipe_set, old, pending;
    ssize_t n;
    int err;
    bool was_pending;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old) != 0)
        return write(fd, buf, len);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    n = write(fd, buf, len);
    err = errno;
    if (n < 0 && err == EPIPE && !was_pending) {
        static const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return n;
}
