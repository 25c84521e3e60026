/* Private to async_chat: what its channel (chat.c) uses of the terminator
 * parser (chat_parse.c). */
#ifndef ASYNCORE_LAYER_CHAT_H
#define ASYNCORE_LAYER_CHAT_H

#include "../internal.h"

#include <asyncore/asynchat.h>

static inline bool ac__chat_gone(const ac_chat *c)
{
    return AC__FLAG(&c->base, AC__F_CLOSED);
}

/* Split buf[0, len) (which starts with the bytes kept from the previous
 * call) at the terminator: collect_incoming_data / found_terminator. */
AC__HIDDEN void ac__chat_process(ac_chat *c, const char *buf, size_t len);

/* producers.c: send the rest of a file producer's regular file straight
 * from the page cache (sendfile(2)), at most `max` bytes: bytes sent, 0 at
 * the end of the file, -EAGAIN when the socket is full, -ENOTSUP when the
 * producer is not one (then use its `more`), or another negative errno
 * (*socket_side says whether the socket or the file failed). */
AC__HIDDEN ssize_t ac__producer_sendfile(const ac_producer *p, int sock,
                                         size_t max, bool *socket_side);

/* A buffer holding the kept prefix, with room for `extra` bytes after it
 * (the map's scratch buffer); NULL if out of memory. */
AC__HIDDEN char *ac__chat_with_kept(ac_chat *c, size_t extra);

#endif
