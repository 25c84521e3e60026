/* Python's dispatcher_with_send: buffered output with declared interest. */
#include "../internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A drained buffer larger than this is given back, so idle channels that
 * once sent a burst do not keep it. */
#define KEEP_CAP (16 * 1024)

static bool with_send_writable(ac_dispatcher *d);

static ac_dispatcher_with_send *W(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, ac_dispatcher_with_send, base);
}

static void release(ac_dispatcher *d)
{
    ac_dispatcher_with_send *w = W(d);

    free(w->out);
    w->out = NULL;
    w->out_off = w->out_len = w->out_cap = 0;
}

/* Declared interest: read always, write while bytes wait (the core adds
 * write while connecting). Subclasses with their own predicates stay
 * pulled, and then with_send_writable() answers. */
static void sync_interest(ac_dispatcher_with_send *w)
{
    if (w->base.flags & AC__F_DECLARED)
        ac_set_interest(&w->base, AC_READ | (w->out_len ? AC_WRITE : 0));
}

int ac_with_send_init(ac_dispatcher_with_send *w,
                      const ac_dispatcher_class *klass, ac_map *map)
{
    int r;

    if (!w)
        return -EINVAL;
    r = ac_dispatcher_init(&w->base, klass ? klass : &ac_with_send_class, map);
    if (r < 0)
        return r;
    w->out = NULL;
    w->out_off = w->out_len = w->out_cap = 0;
    w->base.release = release;
    if (AC__METHOD(&w->base, readable) == ac_base_class.readable &&
        AC__METHOD(&w->base, writable) == with_send_writable)
        ac_set_interest(&w->base, AC_READ);
    return 0;
}

size_t ac_with_send_pending(const ac_dispatcher_with_send *w)
{
    return w ? w->out_len : 0;
}

int ac_with_send_flush(ac_dispatcher_with_send *w)
{
    ssize_t n;

    if (!w)
        return -EINVAL;
    if (w->out_len == 0)
        return 0;
    n = ac_send(&w->base, w->out + w->out_off, w->out_len);
    if (n < 0)
        return (int)n; /* reported; the channel may be gone */
    w->out_off += (size_t)n;
    w->out_len -= (size_t)n;
    if (w->out_len == 0) {
        w->out_off = 0;
        if (w->out_cap > KEEP_CAP)
            release(&w->base);
    }
    sync_interest(w);
    return 0;
}

int ac_with_send(ac_dispatcher_with_send *w, const void *buf, size_t len)
{
    const char *p = buf;
    ssize_t n;
    bool sent = false;

    if (!w || (!buf && len))
        return -EINVAL;
    if (ac_closed(&w->base) || AC__UNOPENED(&w->base))
        return -EBADF;
    if (len == 0)
        return 0;
    /* Nothing queued: write straight from the caller's buffer and copy only
     * what the socket did not take. */
    if (w->out_len == 0 && ac_connected(&w->base)) {
        n = ac_send(&w->base, p, len);
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
        sent = n > 0;
        if (len == 0)
            return 0;
    }
    if (ac__buf_append(&w->out, &w->out_off, &w->out_len, &w->out_cap, p,
                       len) < 0) {
        /* a first part is out and the rest can never follow: the stream
         * has a gap, so the channel cannot go on */
        if (sent)
            ac_handle_error(&w->base, ENOMEM, "send");
        return -ENOMEM;
    }
    if (ac_connected(&w->base))
        return ac_with_send_flush(w);
    sync_interest(w);
    return 0;
}

static void with_send_handle_write(ac_dispatcher *d)
{
    ac_with_send_flush(W(d));
}

static bool with_send_writable(ac_dispatcher *d)
{
    return !ac_connected(d) || W(d)->out_len > 0;
}

const ac_dispatcher_class ac_with_send_class = {
    .name = "dispatcher_with_send",
    .parent = &ac_base_class,
    .handle_write = with_send_handle_write,
    .writable = with_send_writable,
};
