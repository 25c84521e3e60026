/* async_chat's producers (Python's simple_producer, and one over a file
 * descriptor). */
#include "chat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if AC_HAVE_LINUX_SENDFILE
#include <sys/sendfile.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    size_t off, len, chunk;
    char data[];
} simple_state;

static ssize_t simple_more(void *data, const void **chunk)
{
    simple_state *s = data;
    size_t n = s->len - s->off;

    if (n > s->chunk)
        n = s->chunk;
    *chunk = s->data + s->off;
    s->off += n;
    return (ssize_t)n;
}

int ac_simple_producer(ac_producer *p, const void *data, size_t len,
                       size_t chunk_size)
{
    simple_state *s;

    if (!p || (!data && len))
        return -EINVAL;
    s = malloc(sizeof(*s) + len);
    if (!s)
        return -ENOMEM;
    s->off = 0;
    s->len = len;
    s->chunk = chunk_size ? chunk_size : 512;
    if (len)
        memcpy(s->data, data, len);
    p->more = simple_more;
    p->free = free;
    p->data = s;
    return 0;
}

typedef struct {
    int fd;
    bool close_fd;
    bool regular; /* a regular file: sendfile(2) can send it */
    bool ranged;  /* from `off`, `left` bytes, not the fd's offset */
    off_t off;
    uint64_t left;
    size_t chunk;
    char *buf;    /* made on the first read: sendfile needs none */
} fd_state;

static ssize_t fd_more(void *data, const void **chunk)
{
    fd_state *s = data;
    ssize_t n;

    if (s->ranged && !s->left)
        return 0;
    if (!s->buf && !(s->buf = malloc(s->chunk)))
        return -ENOMEM;
    do
        n = s->ranged ? pread(s->fd, s->buf,
                              s->left < s->chunk ? (size_t)s->left : s->chunk,
                              s->off)
                      : read(s->fd, s->buf, s->chunk);
    while (n < 0 && errno == EINTR);
    *chunk = s->buf;
    if (n < 0)
        return -errno;
    if (s->ranged) {
        if (n == 0)
            return -EIO; /* shorter than promised */
        s->off += n;
        s->left -= (uint64_t)n;
    }
    return n;
}

static void fd_free(void *data)
{
    fd_state *s = data;

    if (s->close_fd)
        close(s->fd);
    free(s->buf);
    free(s);
}

int ac_fd_producer_range(ac_producer *p, int fd, uint64_t offset,
                         uint64_t len, size_t chunk_size, bool close_fd)
{
    fd_state *s;
    int r;

    if (!p || fd < 0 || offset > (uint64_t)INT64_MAX ||
        len > (uint64_t)INT64_MAX - offset)
        return -EINVAL;
    if ((r = ac_fd_producer(p, fd, chunk_size, close_fd)) < 0)
        return r;
    s = p->data;
    s->ranged = true;
    s->off = (off_t)offset;
    s->left = len;
    return 0;
}

int ac_fd_producer(ac_producer *p, int fd, size_t chunk_size, bool close_fd)
{
    struct stat st;
    fd_state *s;

    if (!p || fd < 0)
        return -EINVAL;
    if (!chunk_size)
        chunk_size = 65536;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->fd = fd;
    s->close_fd = close_fd;
    s->chunk = chunk_size;
    s->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    p->more = fd_more;
    p->free = fd_free;
    p->data = s;
    return 0;
}

#if AC_HAVE_LINUX_SENDFILE
ssize_t ac__producer_sendfile(const ac_producer *p, int sock, size_t max,
                              bool *socket_side)
{
    fd_state *s = p->data;
    ssize_t n;

    if (p->more != fd_more || !s->regular)
        return -ENOTSUP;
    if (s->ranged && s->left < max)
        max = (size_t)s->left;
    if (s->ranged && !max)
        return 0;
    do /* from the file's own offset, as the reads would have, or ours */
        n = sendfile(sock, s->fd, s->ranged ? &s->off : NULL, max);
    while (n < 0 && errno == EINTR);
    if (n == 0 && s->ranged) {
        *socket_side = false;
        return -EIO; /* shorter than promised */
    }
    if (n >= 0) {
        if (s->ranged)
            s->left -= (uint64_t)n;
        return n;
    }
    if (errno == EAGAIN)
        return -EAGAIN;
    if (errno == EINVAL || errno == ENOSYS) { /* this file cannot: read it */
        s->regular = false;
        return -ENOTSUP;
    }
    *socket_side = errno != EIO && errno != EOVERFLOW && errno != ESPIPE;
    return -errno;
}
#else
/* No sendfile(2) with Linux's meaning (the BSDs' takes other arguments):
 * the producer's reads carry the file. */
ssize_t ac__producer_sendfile(const ac_producer *p, int sock, size_t max,
                              bool *socket_side)
{
    (void)p;
    (void)sock;
    (void)max;
    (void)socket_side;
    return -ENOTSUP;
}
#endif
