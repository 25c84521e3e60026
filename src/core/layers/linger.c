/* Lingering close, as a layer: the channel's class and I/O operations are
 * swapped for ones that discard input until the peer closes, a byte budget
 * is spent or a deadline passes; the originals come back when it closes,
 * so the user's destroy runs as usual. */
#include "../internal.h"

#include <errno.h>
#include <stdlib.h>

typedef struct {
    ac_timer deadline;
    ac_dispatcher *d;
    size_t left; /* bytes still allowed to be discarded */
    const ac_dispatcher_class *klass;
    const ac_io_ops *io;
    void *io_data;
} linger;

static const ac_io_ops linger_io;

static linger *L(ac_dispatcher *d)
{
    return d->io_data;
}

/* The I/O operations lingering wraps see the channel as they left it (a
 * layer such as TLS finds its state through ac_get_io_data). */
static ssize_t lower_recv(ac_dispatcher *d, void *buf, size_t len)
{
    linger *l = L(d);
    ssize_t n;

    d->io = l->io;
    d->io_data = l->io_data;
    n = l->io->recv(d, buf, len);
    d->io = &linger_io;
    d->io_data = l;
    return n;
}

/* Discard what arrives; EOF, an error or the byte budget ends it. */
static void linger_read(ac_dispatcher *d)
{
    linger *l = L(d);
    char buf[4096];

    for (;;) {
        size_t want = l->left < sizeof(buf) ? l->left : sizeof(buf);
        ssize_t n;

        if (want == 0) {
            ac_close(d);
            return;
        }
        n = lower_recv(d, buf, want);
        if (n > 0) {
            l->left -= (size_t)n;
            continue;
        }
        if (n != -EAGAIN)
            ac_close(d);
        return;
    }
}

static void linger_close(ac_dispatcher *d)
{
    ac_close(d);
}

static void linger_error(ac_dispatcher *d, int err, const char *where)
{
    (void)err;
    (void)where;
    ac_close(d);
}

static void linger_ignore(ac_dispatcher *d)
{
    (void)d;
}

/* Every handler is ours while lingering: none of the user's runs. */
static const ac_layer_class linger_class = {
    .base = {
        .name = "lingering",
        .parent = &ac_base_class,
        .handle_read = linger_read,
        .handle_write = linger_ignore,
        .handle_expt = linger_read,
        .handle_connect = linger_ignore,
        .handle_close = linger_close,
        .handle_error = linger_error,
    },
};


static ssize_t linger_send(ac_dispatcher *d, const void *buf, size_t len)
{
    (void)d;
    (void)buf;
    (void)len;
    return -EPIPE;
}

/* The channel closes: give it back its own class and I/O, and let the
 * original I/O close too. */
static void linger_io_close(ac_dispatcher *d)
{
    linger *l = L(d);

    ac__timer_stop(d->map, &l->deadline);
    d->klass = l->klass;
    d->io = l->io;
    d->io_data = l->io_data;
    free(l);
    if (d->io && d->io->close)
        d->io->close(d);
}

static const ac_io_ops linger_io = {
    .name = "lingering",
    .send = linger_send,
    .recv = lower_recv,
    .close = linger_io_close,
};

static void expired(ac_timer *t)
{
    ac_close(AC_CONTAINER_OF(t, linger, deadline)->d);
}

int ac_close_lingering(ac_dispatcher *d, int timeout_ms, size_t max_bytes)
{
    linger *l;

    if (!d || !d->map)
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CLOSED) || d->fd < 0 || !AC__FLAG(d, AC__F_IN_MAP))
        return -EBADF;
    if (d->io == &linger_io)
        return 0;
    /* Nothing to wait for unless the write side could be shut: a listener,
     * a file or an unconnected socket just closes. */
    if (!AC__FLAG(d, AC__F_CONNECTED) || ac__shutdown_write(d) < 0) {
        ac_close(d);
        return 0;
    }
    l = calloc(1, sizeof(*l));
    if (!l || ac__timer_start(d->map, &l->deadline,
                              (uint64_t)(timeout_ms > 0 ? timeout_ms : 0),
                              expired) < 0) {
        free(l);
        ac_close(d);
        return -ENOMEM;
    }
    l->d = d;
    l->left = max_bytes;
    l->klass = d->klass;
    l->io = d->io;
    l->io_data = d->io_data;
    d->klass = &linger_class.base;
    d->io = &linger_io;
    d->io_data = l;
    ac_set_pending(d, 0);
    ac_set_interest(d, AC_IN);
    return 0;
}
