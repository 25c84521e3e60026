/**
 * @file
 * asynchat.h - Python's asynchat: a channel that splits its input at a
 * terminator (a byte string, a byte count, or none) and queues output from
 * buffers and producers. Conventions as in asyncore.h.
 *
 * A chat class is an ac_chat_class: a dispatcher class plus the two
 * asynchat methods. Derive from async_chat by naming AC_CHAT_PARENT as
 * your dispatcher class's parent:
 *
 *   static const ac_chat_class my_chat = {
 *       .base = {.name = "my_chat", .parent = AC_CHAT_PARENT,
 *                .handle_close = my_close, .destroy = my_destroy},
 *       .found_terminator = my_found_terminator,
 *   };
 *   ac_chat_init(&c->chat, &my_chat, map);
 *
 * Every class between yours and AC_CHAT_PARENT must be an ac_chat_class
 * too, so that NULL chat methods can be inherited.
 */
#ifndef ASYNCORE_ASYNCHAT_H
#define ASYNCORE_ASYNCHAT_H

#include <asyncore/asyncore.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An async_chat channel; see struct ac_chat. */
typedef struct ac_chat ac_chat;
/// @cond PRIVATE
struct ac__chat_out;
/// @endcond

/** A chat class: a dispatcher class plus the asynchat methods. */
typedef struct ac_chat_class {
    ac_dispatcher_class base; /**< the dispatcher methods */
    /** Bytes of the current record (never the terminator). Default: append
     * to the channel's incoming buffer, read with ac_chat_data(). */
    void (*collect_incoming_data)(ac_chat *c, const void *data, size_t len);
    /** The terminator was found (or the byte count reached). The terminator
     * may be changed here: it applies to the bytes already received.
     * Default: log "unhandled found_terminator" once. */
    void (*found_terminator)(ac_chat *c);
    /** A record grew past ac_chat_set_max_line(). The rest of it is
     * discarded up to its terminator, which then ends it without a
     * found_terminator call. Default: handle_error(EMSGSIZE,
     * "line too long"), which closes the channel. */
    void (*line_too_long)(ac_chat *c);
} ac_chat_class;

/** The library's async_chat class; its handlers are in the base entry. */
AC_EXTERN extern const ac_chat_class ac_chat_base_class;
/** Name it as your chat class's parent. */
#define AC_CHAT_PARENT (&ac_chat_base_class.base)

/** Python's ac_in_buffer_size / ac_out_buffer_size defaults. */
#define AC_CHAT_IN_BUFFER_SIZE 65536
#define AC_CHAT_OUT_BUFFER_SIZE 65536 /**< see AC_CHAT_IN_BUFFER_SIZE */

/**
 * Output producers (Python's push_with_producer). `more` returns the length
 * of the next chunk and points *chunk at it; the chunk must stay valid until
 * the next call to more or free. 0 means exhausted, a negative errno is a
 * failure reported to the channel's handle_error("producer"). `free`
 * (optional) is called exactly once when the producer is finished,
 * discarded, or the channel closes.
 */
typedef struct ac_producer {
    ssize_t (*more)(void *data, const void **chunk); /**< the next chunk */
    void (*free)(void *data); /**< optional: release `data` */
    void *data;               /**< the producer's state */
} ac_producer;

/** Python's simple_producer: a copy of `len` bytes given out in chunks of
 * `chunk_size` (0: 512, as Python). -ENOMEM. */
AC_EXTERN int ac_simple_producer(ac_producer *p, const void *data, size_t len,
                                 size_t chunk_size);

/** A producer that reads `fd` (a file: reads may block) until EOF in chunks
 * of `chunk_size` (0: 65536); closes fd when done if `close_fd`. On a
 * regular file pushed to a chat with no layer (ac_set_io) on its socket,
 * the chat sends it with sendfile(2), straight from the page cache, and
 * no chunk buffer is ever allocated. -ENOMEM. */
AC_EXTERN int ac_fd_producer(ac_producer *p, int fd, size_t chunk_size,
                             bool close_fd);

/** ac_fd_producer() for `len` bytes of a regular file from `offset`
 * (pread, or sendfile from that offset: the descriptor's own offset is
 * neither used nor moved, so one open file can serve several ranges). A
 * file that turns out shorter is a failure (-EIO to handle_error
 * "producer"): the peer was promised `len` bytes. -EINVAL, -ENOMEM. */
AC_EXTERN int ac_fd_producer_range(ac_producer *p, int fd, uint64_t offset,
                                   uint64_t len, size_t chunk_size,
                                   bool close_fd);

/** The channel. Embed it; the fields are private. */
struct ac_chat {
    ac_dispatcher base; /**< the channel */
    /// @cond PRIVATE
    unsigned char term_kind;
    char term_inline[15];
    char *term;               /**< terminator bytes (term_inline or heap) */
    size_t term_len;
    unsigned long long count; /**< numeric terminator: bytes still to collect */
    char *kept;               /**< tail that may start a terminator */
    size_t kept_len, kept_cap;
    char *incoming;           /**< default collect_incoming_data */
    size_t inc_len, inc_cap;
    size_t line_len, max_line;
    bool skipping, feeding;
    unsigned gen;             /**< bumped by discard_buffers */
    size_t in_size, out_size, out_bytes;
    struct ac__chat_out *out_head, *out_tail;
    ac_deferred flush;        /**< sends due when the handler frame ends */
    /// @endcond
};

/** The chat that embeds channel `d`. */
#define AC_CHAT_OF(d) AC_CONTAINER_OF(d, ac_chat, base)

/** ac_dispatcher_init() for a chat; `klass` NULL: ac_chat_base_class. No
 * terminator is set (Python's default: None). */
AC_EXTERN int ac_chat_init(ac_chat *c, const ac_chat_class *klass,
                           ac_map *map);

/** What splits a chat's input into records. */
typedef enum {
    AC_TERM_NONE = 0, /**< collect everything */
    AC_TERM_BYTES,    /**< split at a byte string */
    AC_TERM_COUNT     /**< collect a number of bytes */
} ac_term_kind;

/** A byte string of any length and content (NUL included; copied). `len` 0
 * or NULL `term` means no terminator. -ENOMEM; -EBADF once the channel is
 * closed (as for every ac_chat_ call that changes state). */
AC_EXTERN int ac_chat_set_terminator(ac_chat *c, const void *term, size_t len);
/** Collect exactly `n` bytes, then found_terminator; the count then reads
 * 0, which collects everything, as in Python. -EINVAL for n < 0. */
AC_EXTERN int ac_chat_set_terminator_count(ac_chat *c, long long n);
/** The current terminator: its kind, and its bytes or remaining count. */
AC_EXTERN ac_term_kind ac_chat_get_terminator(const ac_chat *c,
                                              const void **term, size_t *len,
                                              unsigned long long *count);

/** Queue a copy of `len` bytes. Pushes made while a handler of the map
 * runs are coalesced and sent together when the handler returns (in the
 * same loop iteration); outside handlers they are sent before this
 * returns. So a line and its "\n" leave in one segment, which also keeps
 * Nagle's algorithm and delayed ACKs from adding 40 ms round trips. Large
 * pushes go straight from `data` when nothing is queued. 0, -ENOMEM
 * (nothing queued; if the socket had already taken a first part of a large
 * push, the channel is failed with handle_error(ENOMEM, "send"): the rest
 * can never follow), -EBADF on a closed channel, or the negative errno of
 * a failed send (reported to the channel, which may then be closed). */
AC_EXTERN int ac_chat_push(ac_chat *c, const void *data, size_t len);
/** Queue a producer (the chat owns it from now on: its free runs even when
 * this fails). */
AC_EXTERN int ac_chat_push_with_producer(ac_chat *c, const ac_producer *p);
/** Python's close_when_done: handle_close runs once everything queued
 * before it was sent. Like push, it takes effect when the handler returns. */
AC_EXTERN int ac_chat_close_when_done(ac_chat *c);
/** Drop queued input and output (producers are freed). */
AC_EXTERN void ac_chat_discard_buffers(ac_chat *c);
/** Python's initiate_send(): send what the socket takes now. */
AC_EXTERN int ac_chat_initiate_send(ac_chat *c);
/** Bytes queued by ac_chat_push and not sent yet (producers not counted). */
AC_EXTERN size_t ac_chat_pending(const ac_chat *c);

/** Run `len` bytes through the terminator logic as if they had been
 * received (tests, or data that arrives another way). -EBUSY when called
 * from this channel's own collect/found handlers. */
AC_EXTERN int ac_chat_feed(ac_chat *c, const void *data, size_t len);

/** The bytes gathered by the default collect_incoming_data (Python's
 * _get_data idiom); the pointer is valid until the next collect.
 * ac_chat_clear_data() empties the buffer. */
AC_EXTERN const void *ac_chat_data(const ac_chat *c, size_t *len);
/** Empty the buffer of ac_chat_data(). */
AC_EXTERN void ac_chat_clear_data(ac_chat *c);

/** Cap a record at `max` bytes (0: no cap): see line_too_long. */
AC_EXTERN void ac_chat_set_max_line(ac_chat *c, size_t max);

/** Python's ac_in_buffer_size (bytes per recv) and ac_out_buffer_size
 * (bytes per send); 0 restores the default. -EINVAL for NULL. */
AC_EXTERN int ac_chat_set_buffer_sizes(ac_chat *c, size_t in_size,
                                       size_t out_size);

/** Python's find_prefix_at_end(): the length of the longest proper prefix
 * of `needle` that `hay` ends with. */
AC_EXTERN size_t ac_find_prefix_at_end(const void *hay, size_t hay_len,
                                       const void *needle, size_t needle_len);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCORE_ASYNCHAT_H */
