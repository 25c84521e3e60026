/* Python's asynchat: the channel, its output queue and its read path; the
 * terminator parser is in chat_parse.c, producers in producers.c. */
#include "chat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OUT_BYTES, OUT_PRODUCER, OUT_CLOSE };

struct ac__chat_out {
    struct ac__chat_out *next;
    int kind;
    char *buf; /* OUT_BYTES: buf[off, off + len) unsent */
    size_t off, len, cap;
    ac_producer prod; /* OUT_PRODUCER: chunk[chunk_off, chunk_len) unsent */
    const char *chunk;
    size_t chunk_off, chunk_len;
};

/* The bounded number of sends one initiate_send makes, so an endless
 * producer cannot starve the rest of the loop. */
#define SENDS_PER_CALL 64

/* Pushes at least this large skip the copy when nothing is queued. */
#define DIRECT_MIN 16384

/* A file producer on a socket with no layer is sent straight from the
 * page cache, this much per sendfile(2) at most (the kernel takes what
 * the socket has room for). */
#define SENDFILE_MAX (4u << 20)

static ac_chat *CH(ac_dispatcher *d)
{
    return AC_CHAT_OF(d);
}

/* ---- output ---- */

static void out_free(struct ac__chat_out *e)
{
    if (e->kind == OUT_PRODUCER && e->prod.free)
        e->prod.free(e->prod.data);
    free(e->buf);
    free(e);
}

static void out_pop(ac_chat *c)
{
    struct ac__chat_out *e = c->out_head;

    c->out_head = e->next;
    if (!c->out_head)
        c->out_tail = NULL;
    if (e->kind == OUT_BYTES)
        c->out_bytes -= e->len;
    out_free(e);
}

static void out_clear(ac_chat *c)
{
    while (c->out_head)
        out_pop(c);
}

static struct ac__chat_out *out_append(ac_chat *c, int kind)
{
    struct ac__chat_out *e = calloc(1, sizeof(*e));

    if (!e)
        return NULL;
    e->kind = kind;
    if (c->out_tail)
        c->out_tail->next = e;
    else
        c->out_head = e;
    c->out_tail = e;
    return e;
}

static void sync_interest(ac_chat *c)
{
    if (c->base.flags & AC__F_DECLARED)
        ac_set_interest(&c->base, AC_READ | (c->out_head ? AC_WRITE : 0));
}

/* Returns 0, or a negative errno after which the channel may be gone. */
static int initiate_send(ac_chat *c)
{
    int sends = 0;

    while (c->out_head && ac_connected(&c->base) && sends < SENDS_PER_CALL) {
        struct ac__chat_out *e = c->out_head;
        const char *p;
        size_t len;
        ssize_t n;

        if (e->kind == OUT_CLOSE) {
            out_pop(c);
            ac_handle_close(&c->base);
            return 0;
        }
        if (e->kind == OUT_PRODUCER && e->chunk_off == e->chunk_len &&
            ac_get_io(&c->base) == &ac_socket_io) {
            bool sock = false;
            n = ac__producer_sendfile(&e->prod, c->base.fd, SENDFILE_MAX,
                                      &sock);
            if (AC__FLAG(&c->base, AC__F_TIMED) && n != -ENOTSUP)
                ac__timed_out(&c->base, n);
            if (n == -EAGAIN)
                break;
            if (n == 0) {
                out_pop(c);
                continue;
            }
            if (n > 0) {
                if ((size_t)n < SENDFILE_MAX)
                    break; /* the socket is full */
                sends++;
                continue;
            }
            if (n != -ENOTSUP) {
                out_pop(c);
                if (sock) /* as ac_send reports it: a disconnect closes */
                    ac__fail(&c->base, (int)-n, "send");
                else
                    ac_handle_error(&c->base, (int)-n, "producer");
                return (int)n;
            }
        }
        if (e->kind == OUT_PRODUCER) {
            if (e->chunk_off == e->chunk_len) {
                const void *chunk = NULL;
                n = e->prod.more(e->prod.data, &chunk);
                if (n < 0) {
                    out_pop(c);
                    ac_handle_error(&c->base, (int)-n, "producer");
                    return (int)n;
                }
                if (n == 0) {
                    out_pop(c);
                    continue;
                }
                e->chunk = chunk;
                e->chunk_off = 0;
                e->chunk_len = (size_t)n;
            }
            p = e->chunk + e->chunk_off;
            len = e->chunk_len - e->chunk_off;
        } else {
            p = e->buf + e->off;
            len = e->len;
        }
        if (len > c->out_size)
            len = c->out_size;
        n = ac_send(&c->base, p, len);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        if (e->kind == OUT_PRODUCER) {
            e->chunk_off += (size_t)n;
        } else {
            e->off += (size_t)n;
            e->len -= (size_t)n;
            c->out_bytes -= (size_t)n;
            if (e->len == 0)
                out_pop(c);
        }
        if ((size_t)n < len)
            break; /* the socket is full */
        sends++;
    }
    sync_interest(c);
    return 0;
}

static void flush(ac_deferred *w)
{
    ac_chat *c = AC_CONTAINER_OF(w, ac_chat, flush);

    if (!ac__chat_gone(c))
        initiate_send(c);
}

/* Sends are due when the outermost handler frame of the map ends: every
 * push a handler made goes out in as few sends as possible. */
static void schedule(ac_chat *c)
{
    ac_defer(c->base.map, &c->flush, flush);
}

/* Public entry points that may run user code (handle_close, destroy) do it
 * as a handler frame, and do not touch the channel afterwards. */
int ac_chat_initiate_send(ac_chat *c)
{
    ac_map *map;
    int r;

    if (!c || !c->base.map)
        return -EINVAL;
    if (ac__chat_gone(c))
        return -EBADF;
    map = c->base.map;
    ac__enter(map);
    r = initiate_send(c);
    ac__leave(map);
    return r;
}

static int push_bytes(ac_chat *c, const char *p, size_t len)
{
    struct ac__chat_out *e = c->out_tail;

    if (!e || e->kind != OUT_BYTES) {
        e = out_append(c, OUT_BYTES);
        if (!e)
            return -ENOMEM;
    }
    if (ac__buf_append(&e->buf, &e->off, &e->len, &e->cap, p, len) < 0)
        return -ENOMEM;
    c->out_bytes += len;
    return 0;
}

int ac_chat_push(ac_chat *c, const void *data, size_t len)
{
    const char *p = data;
    ac_map *map;
    int r;

    if (!c || (!data && len))
        return -EINVAL;
    if (ac__chat_gone(c) || AC__UNOPENED(&c->base))
        return -EBADF;
    if (len == 0)
        return 0;
    map = c->base.map;
    AC__THREAD_CHECK(map);
    ac__enter(map);
    /* A large push with nothing queued goes straight from the caller's
     * memory; only what the socket did not take is copied. */
    while (len >= DIRECT_MIN && !c->out_head && ac_connected(&c->base)) {
        size_t k = len < c->out_size ? len : c->out_size;
        ssize_t n = ac_send(&c->base, p, k);
        if (n <= 0) {
            if (n < 0) {
                ac__leave(map);
                return (int)n;
            }
            break;
        }
        p += n;
        len -= (size_t)n;
        if ((size_t)n < k)
            break;
    }
    r = len ? push_bytes(c, p, len) : 0;
    if (r == 0)
        schedule(c);
    else if (p != data) /* a first part is out, the rest cannot follow */
        ac_handle_error(&c->base, -r, "send");
    ac__leave(map); /* outside handlers, the send happens here */
    return r;
}

int ac_chat_push_with_producer(ac_chat *c, const ac_producer *p)
{
    struct ac__chat_out *e;

    if (!p || !p->more) {
        if (p && p->free)
            p->free(p->data);
        return -EINVAL;
    }
    if (!c || ac__chat_gone(c) || AC__UNOPENED(&c->base) ||
        !(e = out_append(c, OUT_PRODUCER))) {
        if (p->free)
            p->free(p->data);
        return !c ? -EINVAL
               : (ac__chat_gone(c) || AC__UNOPENED(&c->base)) ? -EBADF
                                                      : -ENOMEM;
    }
    e->prod = *p;
    schedule(c);
    return 0;
}

int ac_chat_close_when_done(ac_chat *c)
{
    if (!c)
        return -EINVAL;
    if (ac__chat_gone(c))
        return -EBADF;
    if (!out_append(c, OUT_CLOSE))
        return -ENOMEM;
    schedule(c);
    return 0;
}

size_t ac_chat_pending(const ac_chat *c)
{
    return c ? c->out_bytes : 0;
}

void ac_chat_discard_buffers(ac_chat *c)
{
    if (!c || ac__chat_gone(c))
        return;
    c->kept_len = 0;
    c->inc_len = 0;
    c->line_len = 0;
    c->skipping = false;
    c->gen++;
    out_clear(c);
    if (!ac__chat_gone(c))
        sync_interest(c);
}

static void chat_handle_read(ac_dispatcher *d)
{
    ac_chat *c = CH(d);
    ac_map *map = d->map;
    char *buf;
    ssize_t n;
    bool held;

    if (c->feeding)
        return; /* a handler of ours is running: not now */
    /* records the budget cut off go first, and alone: what waits in the
     * socket stays there until they are done */
    held = AC__FLAG(d, AC__F_HELD);
    buf = ac__chat_with_kept(c, held ? 0 : c->in_size);
    if (!buf) {
        ac_handle_error(d, ENOMEM, "recv");
        return;
    }
    n = held ? 0 : ac_recv(d, buf + c->kept_len, c->in_size);
    if (n > 0 || (held && c->kept_len)) {
        size_t total = c->kept_len + (size_t)n;
        c->kept_len = 0;
        ac__chat_process(c, buf, total);
    }
    ac__scratch_put(map, buf);
}

static void chat_handle_write(ac_dispatcher *d)
{
    initiate_send(CH(d));
}

static void chat_handle_close(ac_dispatcher *d)
{
    ac_close(d);
}

/* Queued output starts flowing on its own once connected (handle_write):
 * a chat has nothing to do here, and nothing worth a warning. */
static void chat_handle_connect(ac_dispatcher *d)
{
    (void)d;
}

static bool chat_readable(ac_dispatcher *d)
{
    (void)d;
    return true;
}

static bool chat_writable(ac_dispatcher *d)
{
    return CH(d)->out_head || !ac_connected(d);
}

/* ---- default chat methods ---- */

static void chat_collect(ac_chat *c, const void *data, size_t len)
{
    size_t off = 0;

    if (ac__buf_append(&c->incoming, &off, &c->inc_len, &c->inc_cap, data,
                       len) < 0)
        ac_handle_error(&c->base, ENOMEM, "collect_incoming_data");
}

static void chat_found(ac_chat *c)
{
    ac_log_info(&c->base, AC_LOG_WARNING, "%s: unhandled found_terminator",
                ac_class_name(&c->base));
}

static void chat_too_long(ac_chat *c)
{
    ac_handle_error(&c->base, EMSGSIZE, "line too long");
}

static void release(ac_dispatcher *d)
{
    ac_chat *c = CH(d);

    ac_defer_cancel(c->base.map, &c->flush);
    out_clear(c);
    free(c->kept);
    free(c->incoming);
    if (c->term && c->term != c->term_inline)
        free(c->term);
    c->term = NULL;
    c->kept = c->incoming = NULL;
    c->kept_len = c->kept_cap = c->inc_len = c->inc_cap = 0;
}

const ac_chat_class ac_chat_base_class = {
    .base =
        {
            .name = "async_chat",
            .parent = &ac_base_class,
            .readable = chat_readable,
            .writable = chat_writable,
            .handle_read = chat_handle_read,
            .handle_write = chat_handle_write,
            .handle_connect = chat_handle_connect,
            .handle_close = chat_handle_close,
        },
    .collect_incoming_data = chat_collect,
    .found_terminator = chat_found,
    .line_too_long = chat_too_long,
};

int ac_chat_init(ac_chat *c, const ac_chat_class *klass, ac_map *map)
{
    const ac_dispatcher_class *k;
    int r;

    if (!c)
        return -EINVAL;
    if (!klass)
        klass = &ac_chat_base_class;
    for (k = &klass->base; k && k != AC_CHAT_PARENT; k = k->parent)
        ;
    if (!k)
        return -EINVAL; /* not derived from async_chat */
    r = ac_dispatcher_init(&c->base, &klass->base, map);
    if (r < 0)
        return r;
    memset((char *)c + sizeof(c->base), 0, sizeof(*c) - sizeof(c->base));
    c->in_size = AC_CHAT_IN_BUFFER_SIZE;
    c->out_size = AC_CHAT_OUT_BUFFER_SIZE;
    c->base.release = release;
    if (AC__METHOD(&c->base, readable) == chat_readable &&
        AC__METHOD(&c->base, writable) == chat_writable)
        ac_set_interest(&c->base, AC_READ);
    return 0;
}

int ac_chat_set_buffer_sizes(ac_chat *c, size_t in_size, size_t out_size)
{
    if (!c)
        return -EINVAL;
    if (ac__chat_gone(c))
        return -EBADF;
    c->in_size = in_size ? in_size : AC_CHAT_IN_BUFFER_SIZE;
    c->out_size = out_size ? out_size : AC_CHAT_OUT_BUFFER_SIZE;
    return 0;
}

void ac_chat_set_max_line(ac_chat *c, size_t max)
{
    if (c)
        c->max_line = max;
}

const void *ac_chat_data(const ac_chat *c, size_t *len)
{
    if (len)
        *len = c ? c->inc_len : 0;
    return c ? c->incoming : NULL;
}

void ac_chat_clear_data(ac_chat *c)
{
    if (c && !ac__chat_gone(c))
        c->inc_len = 0;
}

