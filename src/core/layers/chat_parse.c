/* async_chat's terminator parser: bytes in, collect_incoming_data and
 * found_terminator calls out. No I/O: the channel (chat.c) and
 * ac_chat_feed() hand it bytes. */
#include "chat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A layer's class over a chat (TLS) has room for the chat entries, NULL. */
_Static_assert(sizeof(ac_chat_class) <= sizeof(ac_layer_class),
               "ac_layer_class must cover ac_chat_class");

static const ac_chat_class *as_chat(const ac_dispatcher_class *k)
{
    return (const ac_chat_class *)(const void *)k;
}

/* Chat methods are inherited like dispatcher ones, along the chain of chat
 * classes that ends at ac_chat_base_class. */
#define CHAT_METHOD(c, slot)                                                 \
    ({                                                                       \
        const ac_dispatcher_class *k_ = (c)->base.klass;                     \
        __typeof__(((ac_chat_class *)0)->slot) m_ = NULL;                       \
        for (; k_ && !m_; k_ = k_->parent) {                                 \
            m_ = as_chat(k_)->slot;                                          \
            if (k_ == AC_CHAT_PARENT)                                        \
                break;                                                       \
        }                                                                    \
        m_ ? m_ : ac_chat_base_class.slot;                                   \
    })


int ac_chat_set_terminator(ac_chat *c, const void *term, size_t len)
{
    char *t;

    if (!c)
        return -EINVAL;
    if (ac__chat_gone(c))
        return -EBADF; /* its memory was released; nothing may be kept */
    if (!term || len == 0) {
        c->term_kind = AC_TERM_NONE;
        return 0;
    }
    if (len <= sizeof(c->term_inline)) {
        t = c->term_inline;
    } else {
        t = c->term != c->term_inline && c->term_len >= len ? c->term : NULL;
        if (!t) {
            t = malloc(len);
            if (!t)
                return -ENOMEM;
        }
    }
    memmove(t, term, len);
    if (c->term && c->term != c->term_inline && c->term != t)
        free(c->term);
    c->term = t;
    c->term_len = len;
    c->term_kind = AC_TERM_BYTES;
    return 0;
}

int ac_chat_set_terminator_count(ac_chat *c, long long n)
{
    if (!c || n < 0)
        return -EINVAL;
    if (ac__chat_gone(c))
        return -EBADF;
    c->term_kind = AC_TERM_COUNT;
    c->count = (unsigned long long)n;
    return 0;
}

ac_term_kind ac_chat_get_terminator(const ac_chat *c, const void **term,
                                    size_t *len, unsigned long long *count)
{
    if (!c)
        return AC_TERM_NONE;
    if (term)
        *term = c->term_kind == AC_TERM_BYTES ? c->term : NULL;
    if (len)
        *len = c->term_kind == AC_TERM_BYTES ? c->term_len : 0;
    if (count)
        *count = c->term_kind == AC_TERM_COUNT ? c->count : 0;
    return (ac_term_kind)c->term_kind;
}

size_t ac_find_prefix_at_end(const void *hay, size_t hay_len,
                             const void *needle, size_t needle_len)
{
    const char *h = hay;
    size_t l = needle_len ? needle_len - 1 : 0;

    if (l > hay_len)
        l = hay_len;
    for (; l > 0; l--)
        if (memcmp(h + hay_len - l, needle, l) == 0)
            return l;
    return 0;
}

/* ---- input ---- */

static void collect(ac_chat *c, const char *p, size_t n)
{
    if (c->skipping)
        return;
    if (c->max_line && c->line_len + n > c->max_line) {
        c->skipping = true;
        c->line_len = 0;
        CHAT_METHOD(c, line_too_long)(c);
        return;
    }
    c->line_len += n;
    CHAT_METHOD(c, collect_incoming_data)(c, p, n);
}

static void found(ac_chat *c)
{
    c->line_len = 0;
    if (c->skipping) {
        c->skipping = false; /* the oversized record ends here, silently */
        return;
    }
    CHAT_METHOD(c, found_terminator)(c);
}

static int keep(ac_chat *c, const char *p, size_t n)
{
    if (n > c->kept_cap) {
        char *k = realloc(c->kept, n);
        if (!k)
            return -ENOMEM;
        c->kept = k;
        c->kept_cap = n;
    }
    memcpy(c->kept, p, n);
    c->kept_len = n;
    return 0;
}

static const char *search(const char *p, size_t n, const char *t, size_t tl)
{
    if (tl == 1)
        return memchr(p, t[0], n);
    return ac__memmem(p, n, t, tl);
}

/* Between two records: once the iteration's budget is spent, keep the
 * rest of the input for the channel's next turn (the map serves it first
 * in its next iteration, before the socket is read again). 1 if kept, 0
 * if the budget is not spent, -1 if the rest cannot be kept (told once):
 * then go on now, late beats lost. */
static int hold(ac_chat *c, const char *buf, size_t len)
{
    ac_map *map = c->base.map;

    if (!ac__budget_spent(map))
        return 0;
    if (keep(c, buf, len) < 0 || ac__budget_defer(map, &c->base, AC_IN) < 0) {
        c->kept_len = 0;
        ac_log_info(&c->base, AC_LOG_WARNING,
                    "%s: out of memory keeping %zu bytes past the budget; "
                    "handling them now", ac_class_name(&c->base), len);
        return -1;
    }
    c->base.flags |= AC__F_HELD;
    return 1;
}

/* Python's handle_read loop over buf[0, len), which starts with the bytes
 * kept from the previous read. Each byte is looked at a bounded number of
 * times: unterminated data is handed on at once and only a possible
 * terminator prefix is kept (D-04). Stops early if a handler closed the
 * channel or discarded the buffers. */
void ac__chat_process(ac_chat *c, const char *buf, size_t len)
{
    unsigned gen = c->gen;
    bool ended = false; /* a record ended: the budget may stop us here */
    int held = 0;

    c->feeding = true;
    c->base.flags &= ~AC__F_HELD;
    while (len > 0 && !ac__chat_gone(c) && gen == c->gen) {
        if (ended && held == 0 && (held = hold(c, buf, len)) > 0)
            break;
        ended = false;
        if (c->term_kind == AC_TERM_NONE ||
            (c->term_kind == AC_TERM_COUNT && c->count == 0)) {
            collect(c, buf, len);
            len = 0;
        } else if (c->term_kind == AC_TERM_COUNT) {
            if (len < c->count) {
                c->count -= len;
                collect(c, buf, len);
                len = 0;
            } else {
                size_t n = (size_t)c->count;
                collect(c, buf, n);
                buf += n;
                len -= n;
                c->count = 0;
                if (!ac__chat_gone(c) && gen == c->gen) {
                    found(c);
                    ended = true;
                }
            }
        } else {
            size_t tl = c->term_len;
            const char *hit = search(buf, len, c->term, tl);

            if (hit) {
                size_t idx = (size_t)(hit - buf);
                if (idx > 0)
                    collect(c, buf, idx);
                buf += idx + tl;
                len -= idx + tl;
                if (!ac__chat_gone(c) && gen == c->gen) {
                    found(c);
                    ended = true;
                }
            } else {
                size_t k = ac_find_prefix_at_end(buf, len, c->term, tl);
                if (k != len)
                    collect(c, buf, len - k);
                if (k && !ac__chat_gone(c) && gen == c->gen &&
                    keep(c, buf + len - k, k) < 0)
                    ac_handle_error(&c->base, ENOMEM, "recv");
                len = 0;
            }
        }
    }
    c->feeding = false;
}

/* Contiguous kept prefix + new bytes, in the map's shared buffer. */
char *ac__chat_with_kept(ac_chat *c, size_t extra)
{
    char *buf = ac__scratch_get(c->base.map, c->kept_len + extra);

    if (buf && c->kept_len)
        memcpy(buf, c->kept, c->kept_len);
    return buf;
}

int ac_chat_feed(ac_chat *c, const void *data, size_t len)
{
    ac_map *map;
    char *buf;

    if (!c || !c->base.map || (!data && len))
        return -EINVAL;
    if (ac__chat_gone(c))
        return -EBADF;
    if (c->feeding)
        return -EBUSY;
    map = c->base.map;
    ac__enter(map);
    if (c->kept_len == 0) {
        ac__chat_process(c, data, len);
    } else if ((buf = ac__chat_with_kept(c, len))) {
        size_t total = c->kept_len + len;
        memcpy(buf + c->kept_len, data, len);
        c->kept_len = 0;
        ac__chat_process(c, buf, total);
        ac__scratch_put(map, buf);
    } else {
        ac__leave(map);
        return -ENOMEM;
    }
    ac__leave(map);
    return 0;
}

