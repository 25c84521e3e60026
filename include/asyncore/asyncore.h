/**
 * @file
 * asyncore.h - Python's asyncore in C: channels (dispatchers) over
 * non-blocking descriptors, kept in a map and driven by a loop, one step at a
 * time, or by a host event loop through readiness hooks.
 *
 * Conventions used throughout this header:
 *  - Functions returning int return 0 (or a count) on success and a negative
 *    errno on failure. Functions returning a pointer return NULL and set
 *    errno. No function aborts or exits on bad input.
 *  - "May be called from a handler" means from any callback of any channel
 *    of the same map, including the one currently running.
 *  - A map and its channels belong to one thread; different maps in
 *    different threads need no locking.
 */
#ifndef ASYNCORE_ASYNCORE_H
#define ASYNCORE_ASYNCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// @cond PRIVATE
#if defined(__GNUC__) && __GNUC__ >= 4
#define AC_EXTERN __attribute__((visibility("default")))
#define AC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define AC_EXTERN
#define AC_PRINTF(f, a)
#endif
/// @endcond

/* AC_VERSION_MAJOR, _MINOR, _PATCH and _NUMBER */
#include <asyncore/version.h>

/**
 * Event bits. They have the values of poll(2)'s POLLIN... on Linux (and of
 * GLib's G_IO_IN...), so hosts can usually pass them through unchanged.
 * Interest uses AC_IN, AC_PRI and AC_OUT; readiness may also carry the
 * three condition bits, which are always reported.
 */
enum {
    AC_IN = 0x001,   /**< readable, or a connection to accept */
    AC_PRI = 0x002,  /**< priority (out-of-band) data */
    AC_OUT = 0x004,  /**< writable, or a connect finished */
    AC_ERR = 0x008,  /**< error condition */
    AC_HUP = 0x010,  /**< hang-up */
    AC_NVAL = 0x020  /**< the descriptor is not open */
};

/** Shorthands for ac_set_interest(). AC_READ includes AC_PRI, as Python's
 * poll() loop registers POLLPRI with POLLIN for a readable channel. */
#define AC_READ (AC_IN | AC_PRI)
#define AC_WRITE AC_OUT /**< see AC_READ */

/** Polling backends a map can use. */
typedef enum {
    AC_BACKEND_DEFAULT = 0, /**< epoll where the build has it, else poll */
    AC_BACKEND_SELECT,      /**< select(2); refuses fds >= FD_SETSIZE (-ERANGE) */
    AC_BACKEND_POLL,        /**< poll(2) */
    AC_BACKEND_EPOLL        /**< epoll(7), Linux only: ENOSYS without it */
} ac_backend;

/** Log levels, Python's log_info "type" argument. */
typedef enum {
    AC_LOG_DEBUG = 0,
    AC_LOG_INFO,
    AC_LOG_WARNING,
    AC_LOG_ERROR
} ac_log_level;

/** A socket map (Python's socket_map): the channels of one loop. Opaque;
 * one thread at a time, except ac_map_call(). */
typedef struct ac_map ac_map;
/** A channel; see struct ac_dispatcher. */
typedef struct ac_dispatcher ac_dispatcher;
/** A channel's behaviour; see struct ac_dispatcher_class. */
typedef struct ac_dispatcher_class ac_dispatcher_class;
/** A layer's I/O operations; see struct ac_io_ops. */
typedef struct ac_io_ops ac_io_ops;

/**
 * The behaviour of a channel: Python's dispatcher methods as a const table.
 * Any NULL entry is looked up in `parent`, and when no class in the chain
 * has it, the base behaviour (ac_base_class) applies:
 *
 *   readable / writable   true (only asked for channels in pulled mode)
 *   handle_read/write/expt/connect
 *                         log "unhandled X event" once per channel (warning)
 *   handle_accept         ac_accept(), then handle_accepted() for each
 *                         connection; nothing to accept is not an error;
 *                         EMFILE/ENFILE are logged and keep the listener open
 *   handle_accepted       closes the new descriptor, logs a warning
 *   handle_close          logs a warning and calls ac_close()
 *   handle_error          logs one line (class, fd, where, strerror) at
 *                         AC_LOG_ERROR and calls handle_close()
 *   destroy               nothing
 *
 * A handler of a derived class calls its parent's behaviour explicitly, as
 * Python code calls dispatcher.handle_close(self): through the parent table
 * (e.g. ac_base_class.handle_close(d)); library classes fill every entry.
 */
struct ac_dispatcher_class {
    const char *name;                   /**< shown by ac_repr() and in logs */
    const ac_dispatcher_class *parent;  /**< NULL: the base class */

    bool (*readable)(ac_dispatcher *d); /**< wait for reading? (pulled) */
    bool (*writable)(ac_dispatcher *d); /**< wait for writing? (pulled) */

    void (*handle_read)(ac_dispatcher *d);    /**< data or EOF to read */
    void (*handle_write)(ac_dispatcher *d);   /**< room to write */
    void (*handle_expt)(ac_dispatcher *d);    /**< out-of-band data */
    void (*handle_connect)(ac_dispatcher *d); /**< a connect completed */
    void (*handle_accept)(ac_dispatcher *d);  /**< connections to accept */
    /** `fd` is a new non-blocking, close-on-exec connected socket that the
     * handler now owns (adopt it with ac_set_socket() or close it). */
    void (*handle_accepted)(ac_dispatcher *d, int fd,
                            const struct sockaddr *addr, socklen_t addrlen);
    void (*handle_close)(ac_dispatcher *d); /**< the peer closed */
    /** `err` is a positive errno; `where` names the operation ("connect",
     * "recv", "send", "accept", "watch", ...). */
    void (*handle_error)(ac_dispatcher *d, int err, const char *where);

    /** Called exactly once after ac_close(), when no handler frame can still
     * touch the channel: the place to free the struct that embeds it. */
    void (*destroy)(ac_dispatcher *d);
};

/**
 * A channel. Embed it in your own struct (anywhere; see AC_CONTAINER_OF)
 * and initialise it with ac_dispatcher_init(). The fields are private: use
 * the accessor functions below. The struct is public only so that its size
 * is known to the compiler.
 */
struct ac_dispatcher {
    /// @cond PRIVATE
    const ac_dispatcher_class *klass;
    ac_map *map;
    int fd;
    unsigned flags;
    unsigned interest;   /**< declared interest */
    unsigned watched;    /**< interest the backend and host currently have */
    uint64_t epoch;      /**< map epoch when the channel joined the map */
    int slot;            /**< backend-private index */
    socklen_t addrlen;
    ac_dispatcher *prev, *next; /**< pulled-interest list, or pending destroys */
    void *host_data;     /**< for the host adapter (ac_get_host_data) */
    void (*release)(ac_dispatcher *d); /**< frees what a library class holds */
    const ac_io_ops *io; /**< I/O operations (ac_set_io) */
    void *io_data;
    unsigned pending;    /**< readiness held above the descriptor */
    struct sockaddr_storage addr;
    /// @endcond
};

/** Recover the struct that embeds a channel:
 *   struct conn *c = AC_CONTAINER_OF(d, struct conn, base); */
#define AC_CONTAINER_OF(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/** The base class, with every entry filled in: call its functions to chain
 * to the base behaviour from your own handlers. */
AC_EXTERN extern const ac_dispatcher_class ac_base_class;

/* ------------------------------------------------------------------ */
/* Maps                                                               */
/* ------------------------------------------------------------------ */

/** Create an empty map using `backend`. NULL with errno EINVAL (unknown
 * backend), ENOSYS (backend not available here) or ENOMEM. */
AC_EXTERN ac_map *ac_map_new(ac_backend backend);

/** Python's socket_map: created on first use with the default backend.
 * NULL with errno ENOMEM if it cannot be created. Not thread-safe on
 * first call. Functions below that take a map use this one when given
 * NULL, except ac_map_free(). */
AC_EXTERN ac_map *ac_map_default(void);

/** Run the calls still queued (ac_map_call), close every channel (as
 * ac_close_all(map, true)), stop every timer, detach the host hooks and
 * free the map (its struct goes with the last ac_map_ref() reference).
 * -EBUSY from inside a handler of this map, -EINVAL for NULL. Freeing the
 * default map is allowed; ac_map_default() then makes a new one. */
AC_EXTERN int ac_map_free(ac_map *map);

/** Number of channels in the map. */
AC_EXTERN size_t ac_map_count(const ac_map *map);

/** The channel registered for `fd`, or NULL. */
AC_EXTERN ac_dispatcher *ac_map_get(const ac_map *map, int fd);

/** Switch backend, moving every channel's interest over. Not from a handler
 * (-EBUSY). -ERANGE if the select backend cannot hold a descriptor in use. */
AC_EXTERN int ac_map_set_backend(ac_map *map, ac_backend backend);
/** The map's backend (never AC_BACKEND_DEFAULT for a map). */
AC_EXTERN ac_backend ac_map_get_backend(const ac_map *map);
/** "select", "poll" or "epoll". */
AC_EXTERN const char *ac_backend_name(ac_backend backend);

/** Python's close_all(): close every channel. Errors other than EBADF are
 * returned (the first one) unless `ignore_all`; every channel is closed
 * and the map is empty either way. May be called from a handler. */
AC_EXTERN int ac_close_all(ac_map *map, bool ignore_all);

/** Logging: Python's log()/log_info(). Messages below the map's level
 * (default AC_LOG_WARNING) are dropped; the rest go to `fn` (default:
 * "level: message" on stderr). `msg` has no trailing newline. */
typedef void (*ac_log_fn)(ac_map *map, ac_log_level level, const char *msg,
                          void *data);
/** Send the map's log lines to `fn` with `data` (NULL: the default). */
AC_EXTERN void ac_map_set_log(ac_map *map, ac_log_fn fn, void *data);
/** Drop log lines below `level`. */
AC_EXTERN void ac_map_set_log_level(ac_map *map, ac_log_level level);
/** Python's log_info(message, type), printf-style, through the channel's
 * map. */
AC_EXTERN void ac_log_info(ac_dispatcher *d, ac_log_level level,
                           const char *fmt, ...) AC_PRINTF(3, 4);

/* ------------------------------------------------------------------ */
/* Loop                                                               */
/* ------------------------------------------------------------------ */

/** One iteration (Python's loop(count=1)): ask pulled channels their
 * predicates, wait up to `timeout_ms` (-1: no limit, 0: do not block;
 * shortened to the next timer, 0 while readiness is pending), dispatch
 * the ready descriptors, then run what came due: timers whose deadline
 * passed (the one that ended the wait included) and pending readiness.
 * So whatever ended the wait runs in this call, and
 * `while (!done) ac_poll_once(map, -1);` returns once a handler, a timer
 * or a call from another thread sets `done`. Returns the number of events
 * dispatched (descriptors, timers, pending channels), 0 at once for an
 * empty map (!ac_map_alive()), or a negative errno: -EBUSY if called from
 * a handler of this map, -EINTR if interrupted after ac_loop_stop(). EINTR
 * is otherwise retried. */
AC_EXTERN int ac_poll_once(ac_map *map, int timeout_ms);

/** How ac_loop() runs (Python's loop() arguments). */
typedef struct ac_loop_opts {
    int timeout_ms;     /**< per wait; Python's default is 30 s (30000) */
    int count;          /**< iterations; <= 0 runs until the map is empty */
    ac_backend backend; /**< AC_BACKEND_DEFAULT keeps the map's backend */
} ac_loop_opts;

/** Python's loop(): iterate until the map is empty (no channel, no active
 * referenced timer, no queued call: ac_map_alive()), `count` iterations
 * ran, or ac_loop_stop() was called. `opts` may be NULL (30 s,
 * unlimited). Returns 0 or the negative errno of a failed iteration. */
AC_EXTERN int ac_loop(ac_map *map, const ac_loop_opts *opts);

/** Make ac_loop() return after the current iteration; an interrupted wait
 * returns at once. Async-signal-safe: meant for SIGINT/SIGTERM handlers. */
AC_EXTERN void ac_loop_stop(ac_map *map);

/* ------------------------------------------------------------------ */
/* Readiness hooks: the contract with a host event loop               */
/* ------------------------------------------------------------------ */

/**
 * watch(data, d, fd, events): a channel joined the map, or its interest
 *   changed. Events may be 0 (keep the fd but wait for nothing): a channel
 *   with pulled interest joins with 0 and gets its interest at the next
 *   ac_map_refresh(). After the join, watch is called only on a real
 *   change. A negative return is reported to the channel as
 *   handle_error(-ret, "watch") (handle_close for a disconnect errno such
 *   as EBADF).
 * unwatch(data, d, fd): called once for every channel that was given to
 *   watch, before its fd is closed or it leaves the map (and for every
 *   channel when the hooks are removed). The fd is still open.
 * Each iteration of the host, in this order:
 *   1. before it sleeps: ac_map_refresh() (interest only: no handler,
 *      timer or call runs in it), then sleep at most ac_map_timeout()
 *      milliseconds (-1: no limit; 0: do not sleep);
 *   2. after the sleep, in the same iteration: ac_map_dispatch() for each
 *      ready fd, and ac_map_run_due() once the sleep ended (by a deadline,
 *      by a descriptor, or at once) - in the callback of the host's own
 *      deadline timer, or after the descriptors.
 * Whatever ended the sleep then runs in the iteration it ended, so a
 * program stepping the host (`while (!done) step();`) never sleeps with
 * work already taken on. The map has channels of its own: the wake-up
 * of ac_map_call() (an eventfd read with AC_IN, joined first) and the
 * connection attempts of ac_connect_host(). Hosts watch them like the
 * others; they do not count in ac_map_count(), ac_map_get() does not
 * return them, and they do not keep a loop alive (ac_map_alive() does).
 */
typedef struct ac_hooks {
    /** A channel joined or its interest changed (see above). */
    int (*watch)(void *data, ac_dispatcher *d, int fd, unsigned events);
    /** A channel leaves; its fd is still open (see above). */
    void (*unwatch)(void *data, ac_dispatcher *d, int fd);
    void *data; /**< passed to every hook */
    /** Optional: these hooks are no longer used (replaced, removed, or the
     * map is being freed); called after the last unwatch. The host must
     * not call into the map from then on. */
    void (*detached)(void *data);
    /** Optional, for hosts with no "before sleeping" step (libevent) or
     * that stop when the map is not alive (libuv's reference counting):
     * the map wants ac_map_refresh() before the host next sleeps, because
     * a timer became the earliest deadline, a referenced timer made the
     * map alive again (maybe while the host's loop was not running), or a
     * channel joined a host that has no watch hook. Called in the map's
     * thread, possibly from inside a handler: schedule the refresh, do not
     * call it from here. */
    void (*wake)(void *data);
} ac_hooks;

/** Install hooks (copied) and call watch for every channel; NULL detaches,
 * calling unwatch for every channel and then the old hooks' detached.
 * Channels stay in the map; without hooks the map's own backend waits for
 * them again. A host that waits on ac_map_backend_fd() instead passes
 * hooks with watch and unwatch NULL: the map keeps its backend (and
 * ac_poll_once works), and the host only hears `detached`. One host at a
 * time: -EBUSY if hooks are already installed (remove them first), or
 * from a handler. A channel whose watch fails is told (handle_error
 * "watch"); if the watch of the map's own call wake-up fails, its error is
 * returned and nothing is installed (every channel given to watch was
 * unwatched; `detached` is not called). */
AC_EXTERN int ac_map_set_hooks(ac_map *map, const ac_hooks *hooks);

/** Before a host's wait: evaluate pulled predicates and push interest
 * changes to the hooks. Nothing else runs: no handler, timer or call (a
 * watch the host refused is reported by the next ac_map_run_due()).
 * Readiness dispatched afterwards reaches only channels that were in the
 * map at this call. Returns the number of channels with non-zero
 * interest, or a negative errno (-EBUSY from a handler of the map: a
 * nested loop then leaves the map alone). */
AC_EXTERN int ac_map_refresh(ac_map *map);

/** After a host's wait, in the same iteration: fire the timers whose
 * deadline has passed, deliver pending readiness to the channels that were
 * in the map at the last ac_map_refresh(), and report refused watches.
 * Cheap when nothing is due (a heap peek): a host may call it after every
 * wait. Returns how many timers and channels ran, or a negative errno
 * (-EBUSY from a handler of the map). */
AC_EXTERN int ac_map_run_due(ac_map *map);

/** Deliver readiness `revents` (AC_* bits) for `fd`. Returns 1 if a channel
 * handled it, 0 if none was due (no channel on that fd, or one that joined
 * after the last ac_map_refresh()) or the budget deferred it
 * (ac_map_set_budget()), or a negative errno. */
AC_EXTERN int ac_map_dispatch(ac_map *map, int fd, unsigned revents);

/** The epoll descriptor of a map on the epoll backend: a host may watch this
 * one fd for the whole map (installing hooks with watch and unwatch NULL),
 * call ac_map_refresh() before it sleeps (at most ac_map_timeout()), and
 * ac_map_dispatch_ready() after every sleep that the fd or the timeout
 * ended. (ac_poll_once(map, 0) works too, but refreshes a second time.)
 * -EOPNOTSUPP for other backends. */
AC_EXTERN int ac_map_backend_fd(const ac_map *map);

/** For a host waiting on ac_map_backend_fd(): collect what the map's
 * backend has ready, without waiting and without refreshing, dispatch it,
 * then ac_map_run_due(). Returns the number of events dispatched, or a
 * negative errno: -EBUSY from a handler or when per-fd hooks are
 * installed. */
AC_EXTERN int ac_map_dispatch_ready(ac_map *map);

/** Milliseconds until the map needs ac_map_run_due() even if no descriptor
 * becomes ready (the next timer, a lingering close expiring, a paused
 * listener retrying; rounded up, so a wait of this long ends at or after
 * the deadline), 0 while a channel has pending readiness (see "Layers"
 * below) or something is already due, or -1 if nothing is due. A host
 * must cap its wait with it: pending channels' descriptors may never
 * become ready (the data already sits above them). A host whose clock
 * counts whole milliseconds from a cached "now" (libuv) or runs behind
 * (libevent's coarse clock) arms its timer for correspondingly longer, or
 * its deadline fires before ac_map_run_due() finds anything due. */
AC_EXTERN int ac_map_timeout(const ac_map *map);

/** Per-channel pointer for the host adapter's own bookkeeping. */
AC_EXTERN void *ac_get_host_data(const ac_dispatcher *d);
/** Set the pointer ac_get_host_data() returns. */
AC_EXTERN void ac_set_host_data(ac_dispatcher *d, void *data);

/* ------------------------------------------------------------------ */
/* Channels                                                           */
/* ------------------------------------------------------------------ */

/** Prepare `d` with behaviour `klass` (NULL: the base class) for `map`
 * (NULL: the default map). The channel joins the map when it gets a
 * descriptor. -EINVAL for NULL d, -ENOMEM if the default map cannot be
 * made. */
AC_EXTERN int ac_dispatcher_init(ac_dispatcher *d,
                                 const ac_dispatcher_class *klass,
                                 ac_map *map);

/** Python's create_socket(): a non-blocking, close-on-exec socket of
 * `family` (AF_INET, AF_INET6, AF_UNIX) and `type` (SOCK_STREAM, ...),
 * added to the map. -EISCONN if the channel already has one, -EBADF if it
 * was closed, or the errno of socket(2). */
AC_EXTERN int ac_create_socket(ac_dispatcher *d, int family, int type);

/** Python's set_socket() / dispatcher(sock): adopt `fd` (the channel owns
 * it from now on and closes it), make it non-blocking and add it to the
 * map. A connected socket is marked connected (addr = its peer); a
 * listening one is marked accepting. On error the caller keeps the fd:
 * -ENOTSOCK, -EEXIST (fd already in the map), -ERANGE (select backend and
 * fd >= FD_SETSIZE), -EISCONN, -EBADF. */
AC_EXTERN int ac_set_socket(ac_dispatcher *d, int fd);

/** Python's file_dispatcher: duplicate `fd` (the caller keeps its own),
 * make it non-blocking and add the copy to the map, connected from the
 * start. ac_send/ac_recv then use write/read. For pipes, ttys, and also
 * regular files and devices that epoll (and libuv) refuse to wait on:
 * such a descriptor is always ready for the interest it declares, as
 * select and poll report it, on every backend and host (it becomes
 * pending readiness, see "Layers"). Its channel should close at EOF (the
 * base behaviour: ac_recv returning 0 calls handle_close), or the map
 * never waits again while it stays readable. */
AC_EXTERN int ac_file_dispatcher(ac_dispatcher *d, int fd);

/** Python's set_reuse_addr(): SO_REUSEADDR on the socket. */
AC_EXTERN int ac_set_reuse_addr(ac_dispatcher *d);

/** TCP_NODELAY (Nagle's algorithm off) on a TCP channel's socket, or back
 * on with `on` false. Unlike Python, the library turns it on for every TCP
 * socket it creates or adopts (ac_create_socket, ac_set_socket), as Go
 * does: with Nagle on, the last partial segment of every large write
 * waits for the peer's delayed ACK (bulk echo at a sixth of the speed),
 * and async_chat and with_send already coalesce what one handler sends.
 * 0, -EBADF on a closed channel, or setsockopt's errno (-ENOPROTOOPT: not
 * TCP). */
AC_EXTERN int ac_set_nodelay(ac_dispatcher *d, bool on);

/** SO_KEEPALIVE on the socket; with `idle_s` > 0 also the seconds of
 * silence before the first probe (TCP_KEEPIDLE, macOS's TCP_KEEPALIVE). 0,
 * -EBADF, -EINVAL, setsockopt's errno, or -ENOTSUP where the system has no
 * way to set the idle time (keepalive is on, at the system's idle time). */
AC_EXTERN int ac_set_keepalive(ac_dispatcher *d, bool on, int idle_s);

/* Deadlines: peers too slow or silent. */

/**
 * Read idle: handle_error(d, ETIMEDOUT, "read idle") once no byte came in
 * for `ms` (counted from this call, then from each read that brought
 * bytes, whether the channel wants to read or not); 0 clears it.
 *
 * Every deadline (ac_set_read_idle, ac_set_write_stall, ac_set_deadline)
 * fires at most once (set it again to re-arm) and ends in
 * `handle_error(d, ETIMEDOUT, WHERE)`, whose base behaviour logs one line
 * and closes the channel; WHERE ("read idle", "write stall", "deadline")
 * tells them apart. Bytes count where they meet the socket: under TLS a
 * stall is bytes the socket accepted, not plaintext. They fire at their
 * time or later (a timer of the map, in whole milliseconds), never while
 * bytes flow, on every host. While they do not fire they cost a clock read
 * per socket read or write of a channel that has one; no timer is re-armed
 * per byte. A channel connecting by name may have them (a deadline for the
 * whole connect). They end with the channel.
 * Returns 0, -EINVAL, -EBADF (closed, or no socket yet) or -ENOMEM.
 */
AC_EXTERN int ac_set_read_idle(ac_dispatcher *d, uint64_t ms);
/** Write stall: handle_error(d, ETIMEDOUT, "write stall") once output
 * waits and the socket has accepted none of it for `ms` (the peer stopped
 * reading); 0 clears it. See ac_set_read_idle(). */
AC_EXTERN int ac_set_write_stall(ac_dispatcher *d, uint64_t ms);
/** A deadline: handle_error(d, ETIMEDOUT, "deadline") `ms` after this
 * call, whatever flows ("this record must be complete by then"); 0 clears
 * it. See ac_set_read_idle(). */
AC_EXTERN int ac_set_deadline(ac_dispatcher *d, uint64_t ms);

/** Python's bind(): also records `addr` as the channel's address. */
AC_EXTERN int ac_bind(ac_dispatcher *d, const struct sockaddr *addr,
                      socklen_t addrlen);

/** Python's listen(): marks the channel accepting. A listening channel is
 * never waited on for writing. */
AC_EXTERN int ac_listen(ac_dispatcher *d, int backlog);

/** Python's connect(): starts a connection. 0 when it is in progress
 * (handle_connect follows on the first read or write event) or completed
 * at once (handle_connect has then already run: the channel may even be
 * closed); -EINVAL on a listening channel, -EISCONN / -EALREADY when
 * connected or connecting already; otherwise the negative errno of
 * connect(2). */
AC_EXTERN int ac_connect(ac_dispatcher *d, const struct sockaddr *addr,
                         socklen_t addrlen);

/** Python's accept(): a new non-blocking, close-on-exec fd owned by the
 * caller, with the peer address if `addr` is not NULL. -EAGAIN stands for
 * Python's None: nothing to accept (EAGAIN, EWOULDBLOCK, ECONNABORTED);
 * any other negative errno is a real error. No callback is made. */
AC_EXTERN int ac_accept(ac_dispatcher *d, struct sockaddr_storage *addr,
                        socklen_t *addrlen);

/** Python's send(): the number of bytes sent (0 when the socket would
 * block). A disconnect (ECONNRESET, EPIPE, ENOTCONN, ESHUTDOWN,
 * ECONNABORTED) calls handle_close, any other failure calls handle_error,
 * and the negative errno is returned: the channel may then be closed. Never
 * raises SIGPIPE. -EBADF on a closed channel, with no callback. */
AC_EXTERN ssize_t ac_send(ac_dispatcher *d, const void *buf, size_t len);

/** Python's recv(): bytes received (> 0); 0 when the peer closed, after
 * handle_close was called; -EAGAIN when nothing is available (not an
 * error, no callback). Other failures are reported as ac_send() does and
 * returned as a negative errno. -EINVAL for len 0. */
AC_EXTERN ssize_t ac_recv(ac_dispatcher *d, void *buf, size_t len);

/** Python's close(): unwatch in the host, remove from the map, close the
 * descriptor, all at once; destroy runs when no handler can still touch
 * the channel (at once outside handlers). Never call with a freed channel.
 * A second close returns -EBADF and does nothing. Otherwise 0 or the
 * negative errno of close(2) (the channel is closed regardless). May be
 * called from a handler. */
AC_EXTERN int ac_close(ac_dispatcher *d);

/** A lingering close, for a channel whose last words must reach a peer that
 * may still be sending: closing a socket with unread input makes the kernel
 * send a reset, which can destroy data not yet read by the peer. This
 * shuts down writing (the peer sees EOF after everything sent so far), then
 * reads and discards what still arrives until the peer closes, `max_bytes`
 * were discarded, or `timeout_ms` passed; then ac_close(). No handler of
 * the channel runs meanwhile, except destroy at the end. Queued output of
 * a library class (with_send, async_chat) is not sent: flush it first
 * (async_chat's close_when_done does). 0, or -EBADF / -ENOMEM (the channel
 * is then closed at once). May be called from a handler. */
AC_EXTERN int ac_close_lingering(ac_dispatcher *d, int timeout_ms,
                                 size_t max_bytes);

/** Interest. By default a channel's interest is pulled: its readable() and
 * writable() are asked before each wait, as in Python. ac_set_interest()
 * declares it instead (AC_READ, AC_WRITE or both, or 0), after which the
 * predicates are never called: an idle declared channel costs nothing per
 * iteration. While a connect is in progress AC_WRITE is implied; a
 * listening channel is never waited on for writing. ac_pull_interest()
 * goes back to the predicates. -EINVAL for bits other than AC_IN, AC_PRI,
 * AC_OUT; -EBADF on a closed channel. May be called from a handler. */
AC_EXTERN int ac_set_interest(ac_dispatcher *d, unsigned events);
/** Back to pulled interest: see ac_set_interest(). */
AC_EXTERN int ac_pull_interest(ac_dispatcher *d);

/** The channel's own interest: as declared, or what its predicates last
 * answered (0 before they were first asked); AC_OUT while a declared
 * channel connects. What a layer adds or holds back
 * (ac_set_layer_interest) is not included. 0 for a closed channel. */
AC_EXTERN unsigned ac_get_interest(const ac_dispatcher *d);

/** Call the channel's (inherited) handlers, as the loop would. Useful to
 * chain or to drive a channel by hand. */
AC_EXTERN void ac_handle_close(ac_dispatcher *d);
/** The channel's handle_error(err, where); see ac_handle_close(). */
AC_EXTERN void ac_handle_error(ac_dispatcher *d, int err, const char *where);

/** State, as Python's attributes. */
AC_EXTERN int ac_fileno(const ac_dispatcher *d);      /**< -1 when closed */
AC_EXTERN bool ac_connected(const ac_dispatcher *d);  /**< Python's connected */
AC_EXTERN bool ac_accepting(const ac_dispatcher *d);  /**< Python's accepting */
AC_EXTERN bool ac_connecting(const ac_dispatcher *d); /**< connect under way */
AC_EXTERN bool ac_closed(const ac_dispatcher *d);     /**< ac_close() ran */
/** The map the channel belongs to. */
AC_EXTERN ac_map *ac_dispatcher_get_map(const ac_dispatcher *d);
/** The name of its class (the first named one up the parent chain). */
AC_EXTERN const char *ac_class_name(const ac_dispatcher *d);

/** Python's addr: the address given to bind/connect, or the peer of an
 * adopted socket. -ENOTCONN if there is none. */
AC_EXTERN int ac_get_addr(const ac_dispatcher *d, struct sockaddr_storage *addr,
                          socklen_t *addrlen);
/** getsockname/getpeername of the open socket. */
AC_EXTERN int ac_getsockname(const ac_dispatcher *d,
                             struct sockaddr_storage *addr, socklen_t *addrlen);
/** getpeername of the open socket; see ac_getsockname(). */
AC_EXTERN int ac_getpeername(const ac_dispatcher *d,
                             struct sockaddr_storage *addr, socklen_t *addrlen);

/** Python's repr(): "<NAME listening|connected ADDR at 0xPTR>" into buf
 * (always terminated). Returns buf. */
AC_EXTERN const char *ac_repr(const ac_dispatcher *d, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Addresses                                                          */
/* ------------------------------------------------------------------ */

/** Resolve `host` (name or numeric; NULL or "" = any address of `family`,
 * or loopback if `passive` is false) and numeric `port` with getaddrinfo.
 * This call BLOCKS for as long as the system's resolver takes (seconds
 * for a slow or silent nameserver): use it before a loop runs, for
 * instance for the address a server binds, and ac_connect_host() to
 * connect by name from a running loop. `family` AF_UNSPEC takes the
 * first result. A name that cannot be resolved returns a negative
 * AC_EAI_* code (see ac_connect_host()); -EINVAL, -EAFNOSUPPORT. */
AC_EXTERN int ac_resolve(const char *host, int port, int family, bool passive,
                         struct sockaddr_storage *addr, socklen_t *addrlen);

/** "127.0.0.1:80", "[::1]:80" or a unix path, into buf (always
 * terminated). Returns buf. */
AC_EXTERN const char *ac_addr_string(const struct sockaddr *addr,
                                     socklen_t addrlen, char *buf, size_t size);

/** The port of an AF_INET/AF_INET6 address, or -1. */
AC_EXTERN int ac_addr_port(const struct sockaddr *addr);

/** Room for any ac_addr_string() result. */
#define AC_ADDRSTRLEN 128

/* ------------------------------------------------------------------ */
/* Connecting by name                                                 */
/* ------------------------------------------------------------------ */

/**
 * Name resolution errors. They are not errno values: they lie above
 * errno's range, reach handle_error() as `err` (positive) and come back
 * from ac_resolve() negative; ac_strerror() gives their text.
 */
enum {
    AC_EAI_NONAME = 3001, /**< "name not found" (NXDOMAIN, not in hosts) */
    AC_EAI_AGAIN,         /**< "temporary failure in name resolution" */
    AC_EAI_FAIL,          /**< "name server failure" */
    AC_EAI_NODATA,        /**< "no address for the name" (of that family) */
    AC_EAI_OTHER          /**< "name resolution failed" */
};

/** How ac_connect_host() connects. Zero-initialise: every 0 means the
 * default. */
typedef struct ac_connect_opts {
    /** AF_UNSPEC (0: both families), AF_INET or AF_INET6. */
    int family;
    /** Milliseconds for the whole connect, lookups included; 0: 30,000;
     * -1: no limit. */
    int timeout_ms;
    /** RFC 8305's "Connection Attempt Delay": the next address is tried
     * this long after the previous attempt began, or at once when it
     * fails; 0: 250. */
    int attempt_delay_ms;
    /** RFC 8305's "Resolution Delay": how long to wait for the IPv6
     * answer when the IPv4 one came first; 0: 50. */
    int resolution_delay_ms;
} ac_connect_opts;

/**
 * Connect channel `d` to `host` (a name or an IPv4/IPv6 literal) on
 * `port`, without ever blocking the map's thread (Happy Eyeballs v2,
 * RFC 8305):
 *
 * - the IPv6 (AAAA) and IPv4 (A) lookups run at once, with getaddrinfo
 *   on the library's worker threads, so /etc/hosts, nsswitch and the
 *   system's resolver options apply; a literal needs no lookup;
 * - the first attempt starts on the first answer (IPv6 first; an IPv4
 *   answer waits up to `resolution_delay_ms` for the IPv6 one), then the
 *   families alternate, the next address every `attempt_delay_ms` or at
 *   once when an attempt fails; addresses that arrive late join in;
 * - the first connection to complete wins: the others are closed unseen,
 *   and the channel gets the winner's socket (its first descriptor:
 *   ac_fileno() is -1 until then) and handle_connect;
 * - or, when every address failed, the lookups found none, or
 *   `timeout_ms` passed: one handle_error(d, err, where), where `where`
 *   says what was tried, e.g. "resolve nosuch.test" with err
 *   AC_EAI_NONAME, or "connect localhost:8080 (tried [::1]:8080:
 *   Connection refused; 127.0.0.1:8080: Connection refused)" with the
 *   last attempt's errno (ETIMEDOUT for the timeout). The channel then
 *   has no descriptor and is in no map, as before this call: the base
 *   behaviour closes it; a handler may also call ac_connect_host() again.
 *
 * `d` must be initialised and have no socket yet (no ac_create_socket()):
 * the family is not known before the answers. Until the connection is
 * made the channel is connecting (ac_connecting()), counts in the map and
 * keeps the loop alive, takes pushes (with_send, async_chat) and a TLS
 * layer (ac_tls_start(), which then verifies and sends `host` as SNI);
 * socket calls on it (ac_send, ac_set_nodelay, ac_getpeername, ...) fail
 * with -ENOTCONN until handle_connect. It holds no descriptor; each
 * attempt holds one (two while a second address is tried beside the
 * first). ac_close() at any moment cancels
 * what is in flight: no handler runs afterwards, nothing leaks. So does
 * ac_map_free().
 *
 * Handlers never run inside this call. Returns 0, or: -EINVAL (NULL or
 * empty host, port not in 1..65535, bad options), -EAFNOSUPPORT (family),
 * -ENAMETOOLONG (host of 1,024 bytes or more), -EISCONN (the channel has
 * a socket or is connecting by name already), -EBADF (closed), -ENOMEM.
 * May be called from a handler, from another callback of the host's loop,
 * and from handle_error of a failed connect by name.
 *
 * Lookups run on a pool of at most 64 threads that grows with demand and
 * shrinks after 5 s idle: a lookup never waits for another unless 64 are
 * stuck at once. Connects on one map to the same name while its lookup is
 * in flight share that lookup (nothing is cached once it is answered).
 */
AC_EXTERN int ac_connect_host(ac_dispatcher *d, const char *host, int port,
                              const ac_connect_opts *opts);

/** The host name given to ac_connect_host(): while the connect is under
 * way and during its handle_connect; NULL otherwise. */
AC_EXTERN const char *ac_connect_host_name(const ac_dispatcher *d);

/* ------------------------------------------------------------------ */
/* dispatcher_with_send                                               */
/* ------------------------------------------------------------------ */

/**
 * Python's dispatcher_with_send: ac_with_send() queues bytes and sends
 * them in order as the socket accepts them. Its interest is declared
 * (read always; write while connecting or while bytes wait). Extend it by
 * naming &ac_with_send_class as your class's parent; embed the struct.
 */
typedef struct ac_dispatcher_with_send {
    ac_dispatcher base; /**< the channel */
    /// @cond PRIVATE
    char *out;
    size_t out_off, out_len, out_cap;
    /// @endcond
} ac_dispatcher_with_send;

/** The dispatcher_with_send class, a parent for your own. */
AC_EXTERN extern const ac_dispatcher_class ac_with_send_class;

/** ac_dispatcher_init() for a with_send channel; `klass` should have
 * ac_with_send_class in its parent chain (NULL: ac_with_send_class). */
AC_EXTERN int ac_with_send_init(ac_dispatcher_with_send *w,
                                const ac_dispatcher_class *klass, ac_map *map);

/** Queue `len` bytes (copied) and try to send at once. 0, or -ENOMEM
 * (nothing queued; if the socket had already taken a first part, the rest
 * can never follow and the channel is failed with handle_error(ENOMEM,
 * "send")), -EBADF on a closed channel, or the negative errno of a failed
 * send (reported to the channel as ac_send() does). */
AC_EXTERN int ac_with_send(ac_dispatcher_with_send *w, const void *buf,
                           size_t len);

/** Bytes queued and not yet sent. */
AC_EXTERN size_t ac_with_send_pending(const ac_dispatcher_with_send *w);

/** Python's initiate_send(): send what the socket accepts now. */
AC_EXTERN int ac_with_send_flush(ac_dispatcher_with_send *w);

/* ------------------------------------------------------------------ */
/* Timers                                                             */
/* ------------------------------------------------------------------ */

/**
 * A timer of a map: embedded in your own struct like a channel, one-shot
 * or repeating, on the monotonic clock with millisecond resolution. It
 * never fires early; a repeating timer keeps its period (due times are
 * multiples of the period from the start, so lateness does not
 * accumulate; periods missed while the loop was blocked are skipped, not
 * fired in a burst). Start and stop are O(log n). A callback may start,
 * stop or free any timer, its own included; a timer stopped before its
 * turn in the same iteration does not fire.
 *
 * Timers fire from ac_poll_once()/ac_loop() and, in a host loop, from
 * ac_map_run_due() after the wait their deadline ended: every host caps
 * its sleep with ac_map_timeout(), so a timer fires in the step it woke,
 * and an idle map with one 1 s repeating timer wakes its host once a
 * second.
 *
 * Keeping the loop alive (libuv's rule): an active timer keeps ac_loop()
 * running, and a host adapter's loop alive, like a channel does, unless it
 * was unreferenced with ac_timer_set_ref(t, false). ac_poll_once() on a
 * map with no channels but an active referenced timer waits for it.
 */
typedef struct ac_timer ac_timer;
/** What a timer calls when it fires. */
typedef void (*ac_timer_cb)(ac_timer *t);

/** A timer: embed it and use the functions below; the fields are private
 * (public only so that its size is known). */
struct ac_timer {
    /// @cond PRIVATE
    uint64_t due;            /**< ns, CLOCK_MONOTONIC */
    uint64_t repeat;         /**< ns */
    ac_map *map;
    ac_timer_cb cb;
    void *data;
    uint32_t slot;           /**< heap position + 1; 0 when stopped */
    uint16_t gen;            /**< start generation (no refire in one pass) */
    uint16_t flags;
    /// @endcond
};

/** Prepare `t` for `map` (NULL: the default map) with callback `cb` and a
 * user pointer (ac_timer_data). -EINVAL, -ENOMEM (no default map). */
AC_EXTERN int ac_timer_init(ac_timer *t, ac_map *map, ac_timer_cb cb,
                            void *data);
/** Fire after `timeout_ms`, then every `repeat_ms` if it is not 0.
 * Restarts an active timer. 0, -EINVAL (not initialised), -ENOMEM. */
AC_EXTERN int ac_timer_start(ac_timer *t, uint64_t timeout_ms,
                             uint64_t repeat_ms);
/** Stop it; harmless when stopped. The struct may be freed afterwards. */
AC_EXTERN int ac_timer_stop(ac_timer *t);
/** Started and not yet fired (or repeating) and not stopped. */
AC_EXTERN bool ac_timer_active(const ac_timer *t);
/** Milliseconds until it fires (rounded up; 0 if due or stopped). */
AC_EXTERN uint64_t ac_timer_due_in(const ac_timer *t);
/** The user pointer given to ac_timer_init(). */
AC_EXTERN void *ac_timer_data(const ac_timer *t);
/** Whether the active timer keeps the loop alive (default true). */
AC_EXTERN void ac_timer_set_ref(ac_timer *t, bool ref);

/** True while the loop has something to run for: a channel, an active
 * referenced timer, or a queued call. ac_loop() runs while it is true;
 * host adapters keep their loop alive by it. */
AC_EXTERN bool ac_map_alive(const ac_map *map);

/* ------------------------------------------------------------------ */
/* Keeping a host responsive: the time budget of an iteration         */
/* ------------------------------------------------------------------ */

/**
 * Bound the time the map's handlers take in one iteration of the loop
 * that runs it (a GUI's frame). Once the handlers of an iteration have
 * run for `ms` milliseconds, the map dispatches nothing more in it: the
 * readiness it is given is kept and served first in the next iteration,
 * in the order it was cut off, so no channel starves another;
 * ac_map_timeout() answers 0 meanwhile, so the host comes back as soon as
 * it has done its own work. async_chat stops between two records and
 * resumes with the rest of what it read: no byte is lost, reordered or
 * read twice. Timers and calls (ac_map_call) are never held back.
 *
 * A handler is never interrupted: the budget is looked at between
 * handlers (and between async_chat records), so one slow handler still
 * holds the loop for as long as it runs (debug mode names it). An
 * iteration is what runs between two ac_map_refresh() calls: every host
 * adapter refreshes before it waits.
 *
 * 0 (the default of every map) turns it off: everything ready is
 * dispatched at once, as Python does. The GLib and Qt adapters set 8 ms
 * when they attach a map whose budget is 0 (half a 60 Hz frame, leaving
 * the other half to the toolkit); set it after attaching to change it.
 * With a budget, the map keeps room to defer every channel (40 bytes
 * each), taken as channels join, so dispatching never allocates.
 * -EINVAL (NULL map), -ERANGE (over 60000), -ENOMEM. */
AC_EXTERN int ac_map_set_budget(ac_map *map, unsigned ms);
/** The budget the GLib and Qt adapters give a map without one. */
#define AC_BUDGET_GUI_MS 8
/** The budget in milliseconds, 0 if none; -EINVAL for NULL. */
AC_EXTERN int ac_map_get_budget(const ac_map *map);

/* ------------------------------------------------------------------ */
/* Debug mode                                                         */
/* ------------------------------------------------------------------ */

/** What debug mode watches (ac_map_set_debug()). */
enum {
    /** A handler, timer callback or call that runs longer than the
     * threshold logs one warning: channel class, repr, which handler,
     * how long. */
    AC_DEBUG_SLOW = 1u << 0,
    /** ac_map_free() lists the channels still open (class, repr, fd). */
    AC_DEBUG_UNCLOSED = 1u << 1,
    /** A call on the map or its channels from a thread other than the
     * one that runs it (ac_map_call() excepted) logs a warning, once per
     * call site. */
    AC_DEBUG_THREADS = 1u << 2,
    /** Keep the statistics of ac_map_get_stats(). */
    AC_DEBUG_STATS = 1u << 3,
    AC_DEBUG_ALL = 15 /**< all of the above */
};

/** The slow-handler threshold when none is given (asyncio's). */
#define AC_DEBUG_SLOW_DEFAULT_MS 100

/** A map's statistics (AC_DEBUG_STATS), since it was turned on or last
 * reset. Times in nanoseconds. */
typedef struct ac_map_stats {
    uint64_t iterations;   /**< iterations of the loop (refreshes) */
    uint64_t busy_ns;      /**< time the map held the loop: its handlers,
                                timer callbacks and calls, and its own work
                                around them */
    /** time the loop spent elsewhere: waiting in ac_poll_once(), or under
     * a host, the host's own wait and work; busy + wait is about elapsed */
    uint64_t wait_ns;
    uint64_t elapsed_ns;   /**< since the statistics began */
    /** loop delay: how long one iteration's work held the loop, which is
     * how long any other source of that loop waited because of the map */
    uint64_t delay_p50_ns;
    uint64_t delay_p99_ns; /**< see delay_p50_ns (within 1/8) */
    uint64_t delay_max_ns; /**< see delay_p50_ns (exact) */
    uint64_t slow;         /**< handlers over the slow threshold */
    uint64_t budget_cuts;  /**< iterations the budget ended (always kept) */
    uint64_t reserved[7];  /**< zero; room to grow */
} ac_map_stats;

/**
 * Turn debug mode on for `map` with the AC_DEBUG_* `flags` (0 turns it
 * off); `slow_ms` is the slow-handler threshold (0: 100 ms). A map is made
 * with debug mode on when the environment has AC_DEBUG=1 (all of it) or a
 * list of words (AC_DEBUG=slow,unclosed,threads,stats), and
 * AC_DEBUG_SLOW_MS sets the threshold. Its cost when off: one test per
 * handler frame. The map's thread is the one that created it until one
 * refreshes it (runs it): that one from then on. -EINVAL, -EBUSY from a
 * handler, -ENOMEM. */
AC_EXTERN int ac_map_set_debug(ac_map *map, unsigned flags, unsigned slow_ms);
/** The AC_DEBUG_* flags on. */
AC_EXTERN unsigned ac_map_get_debug(const ac_map *map);
/** Fill `st`; readable at any time, from the map's thread. -ENOTSUP (only
 * budget_cuts filled) when AC_DEBUG_STATS is off, -EINVAL. */
AC_EXTERN int ac_map_get_stats(const ac_map *map, ac_map_stats *st);
/** Start the statistics again from now. -ENOTSUP when debug mode is off. */
AC_EXTERN int ac_map_reset_stats(ac_map *map);

/* ------------------------------------------------------------------ */
/* Calls from other threads                                           */
/* ------------------------------------------------------------------ */

/**
 * ac_map_call(map, fn, data) is the one thread-safe entry of a map (the
 * medusa/Zope select_trigger's pull_trigger(thunk), g_main_context_invoke,
 * uv_async_send without the coalescing): fn(data) runs later in the
 * map's thread, as a handler frame (it may use any channel of the map),
 * and:
 *  - each call that returned 0 runs exactly once: in an iteration of the
 *    map, or at the latest inside ac_map_free(), never after it;
 *  - calls from one thread run in the order they were made;
 *  - the map wakes at once on every host (an eventfd the map watches like
 *    a channel; it does not count as one, nor keep the loop alive once
 *    the queue is empty).
 * Returns 0, -EINVAL, -ENOMEM, or -ESHUTDOWN once ac_map_free() began.
 * It takes a mutex and may allocate: not async-signal-safe (from a signal
 * handler use ac_loop_stop(), or write to a pipe of your own).
 *
 * The map's memory must stay valid while other threads may call: a thread
 * that might call across ac_map_free() holds a reference (ac_map_ref())
 * and drops it (ac_map_unref()) when it is done; ac_map_free() closes
 * everything at once and the struct itself goes with the last reference.
 */
AC_EXTERN int ac_map_call(ac_map *map, void (*fn)(void *data), void *data);
/** Keep the map's memory (not its channels) valid; returns `map`. */
AC_EXTERN ac_map *ac_map_ref(ac_map *map);
/** Drop a reference of ac_map_ref(); the last one (ac_map_free() drops
 * the owner's) frees the struct. */
AC_EXTERN void ac_map_unref(ac_map *map);

/* ------------------------------------------------------------------ */
/* Layers                                                             */
/* ------------------------------------------------------------------ */

/**
 * What a layer between a channel and its descriptor plugs in with (the
 * library's file_dispatcher and lingering close use it; a TLS layer is
 * its main purpose). Three mechanisms, and two helpers for layers that
 * must see events first (ac_set_class, ac_set_layer_interest):
 *
 * I/O operations: what ac_send(), ac_recv() and the lingering close's
 * write shutdown do for one channel. A channel starts with ac_socket_io;
 * ac_set_io() replaces it (the layer usually keeps the old one to call
 * through). `send` returns bytes taken (0 if none could be), `recv` bytes
 * read (> 0) or 0 at end of stream; both return -EAGAIN when nothing can
 * be done now and another negative errno on failure, which ac_send and
 * ac_recv report to the channel as for a socket. `shutdown` stops writing
 * (NULL: the channel cannot half-close); `close` (optional) runs when the
 * channel closes, before its descriptor does: free the layer's state.
 * A layer's failure reaches the channel as handle_error(d, err, name)
 * with the layer's `name` (a disconnect errno as handle_close).
 *
 * Pending readiness: a layer that holds input (or room for output) the
 * descriptor cannot show, such as a decrypted record buffered above an
 * empty socket, calls ac_set_pending(d, AC_IN). Until it clears it with
 * ac_set_pending(d, 0), the map dispatches the channel for those events
 * (as far as the channel is interested in them) in every iteration
 * without waiting: ac_poll_once does not block and ac_map_timeout()
 * returns 0, so every host, which caps its sleep with ac_map_timeout()
 * and calls ac_map_run_due() after it, dispatches it in that iteration
 * (and a step that delivered the last of it sleeps again in the next).
 *
 * End-of-frame work: ac_defer() runs a function once the outermost
 * handler frame of the map ends (at once, outside handlers): async_chat
 * coalesces the pushes of one handler into one send this way.
 */
struct ac_io_ops {
    const char *name; /**< for logs */
    /** Bytes taken, 0 if none could be, -EAGAIN, or a negative errno. */
    ssize_t (*send)(ac_dispatcher *d, const void *buf, size_t len);
    /** Bytes read, 0 at end of stream, -EAGAIN, or a negative errno. */
    ssize_t (*recv)(ac_dispatcher *d, void *buf, size_t len);
    /** Stop writing (lingering close); NULL: cannot half-close. */
    int (*shutdown)(ac_dispatcher *d);
    /** The channel closes, its fd is still open: free the layer. */
    void (*close)(ac_dispatcher *d);
};

/** send(MSG_NOSIGNAL) and recv(2) on the channel's socket. */
AC_EXTERN extern const ac_io_ops ac_socket_io;

/** Replace the channel's I/O operations (NULL: ac_socket_io) and the
 * layer's `data` (ac_get_io_data). -EBADF on a closed channel. */
AC_EXTERN int ac_set_io(ac_dispatcher *d, const ac_io_ops *io, void *data);
/** The channel's I/O operations. */
AC_EXTERN const ac_io_ops *ac_get_io(const ac_dispatcher *d);
/** The layer's pointer given to ac_set_io(). */
AC_EXTERN void *ac_get_io_data(const ac_dispatcher *d);

/** A class a layer installs over any channel (ac_set_class). Class types
 * that extend ac_dispatcher_class (ac_chat_class) add at most this many
 * entries after it, and look them up along the parent chain: a layer's
 * class, zero-initialised, inherits them all. */
typedef struct ac_layer_class {
    ac_dispatcher_class base;     /**< the layer's dispatcher methods */
    void (*extension[8])(void);   /**< left NULL: inherited */
} ac_layer_class;

/** Replace the channel's class (Python's `obj.__class__ = cls`), at any
 * time, even while closing; NULL: the base class. A layer that must see
 * the channel's events first installs an ac_layer_class whose `parent` is
 * the class it replaces, and puts that one back when it leaves (its io
 * `close`), before destroy runs. -EINVAL for a NULL channel. */
AC_EXTERN int ac_set_class(ac_dispatcher *d, const ac_dispatcher_class *klass);
/** The channel's class (a layer's, while one is installed). */
AC_EXTERN const ac_dispatcher_class *ac_get_class(const ac_dispatcher *d);

/** What a layer needs from the descriptor, whatever the channel's interest
 * (a TLS handshake reads while the channel waits to write): the channel's
 * interest in `hold` is not waited on and no pending readiness is
 * delivered for it, and `add` is waited on besides. Readiness reaches the
 * channel's class as usual, so such a layer installs its own class
 * (ac_set_class) to take what is its own. 0, 0 ends it. -EINVAL for bits
 * other than AC_IN, AC_PRI, AC_OUT; -EBADF on a closed channel; the
 * waiter's error (backend or host) if it refused the change: unlike
 * ac_set_interest(), no handler runs, the layer reports it. May be called
 * from a handler. */
AC_EXTERN int ac_set_layer_interest(ac_dispatcher *d, unsigned hold,
                                    unsigned add);

/** Mark the channel ready for `events` (AC_IN, AC_PRI, AC_OUT) whatever
 * its descriptor says, until changed again; 0 clears. -EINVAL for other
 * bits, -EBADF on a closed channel or one not in a map, -ENOMEM. May be
 * called from a handler. */
AC_EXTERN int ac_set_pending(ac_dispatcher *d, unsigned events);

/** A unit of end-of-frame work, embedded in the layer's own struct. */
typedef struct ac_deferred {
    /// @cond PRIVATE
    struct ac_deferred *next;
    void (*fn)(struct ac_deferred *w);
    bool queued;
    /// @endcond
} ac_deferred;

/** Queue `w` to run `fn(w)` when the outermost handler frame of `map`
 * ends, after the work queued before it; at once (before this returns)
 * when no handler runs. Queuing a queued unit again does nothing. `fn`
 * runs as a handler frame: it may close channels and push. 0 or -EINVAL. */
AC_EXTERN int ac_defer(ac_map *map, ac_deferred *w,
                       void (*fn)(ac_deferred *w));
/** Drop `w` from the queue if it is there (for instance when the struct
 * holding it is about to be freed). */
AC_EXTERN void ac_defer_cancel(ac_map *map, ac_deferred *w);

/* ------------------------------------------------------------------ */
/* Version and errors                                                 */
/* ------------------------------------------------------------------ */

/** The version of the library in use, "MAJOR.MINOR.PATCH" (it may differ
 * from the AC_VERSION_* a program was compiled with). */
AC_EXTERN const char *ac_version(void);
/** The same as AC_VERSION_NUMBER computes it. */
AC_EXTERN unsigned ac_version_number(void);

/** strerror() of a negative (or positive) errno, thread-safe. */
AC_EXTERN const char *ac_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCORE_ASYNCORE_H */
