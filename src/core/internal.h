/* Private to the core floor: the map layout, the backend ops, and the few
 * internal services (frames, deadlines, scratch buffer) that layers use.
 * Nothing here names a layer. */
#ifndef ASYNCORE_INTERNAL_H
#define ASYNCORE_INTERNAL_H

#include "ac_config.h" /* AC_HAVE_*: meson's checks */
#include <asyncore/asyncore.h>
#include <pthread.h>
#include <signal.h>

#define AC__HIDDEN __attribute__((visibility("hidden")))

/* ac_dispatcher.flags */
enum {
    AC__F_CONNECTED = 1u << 0,
    AC__F_ACCEPTING = 1u << 1,
    AC__F_CONNECTING = 1u << 2,
    AC__F_IN_MAP = 1u << 3,
    AC__F_CLOSED = 1u << 4,
    AC__F_DECLARED = 1u << 5, /* interest declared, predicates not asked */
    AC__F_HOSTED = 1u << 6,   /* given to the host's watch hook */
    AC__F_NOWAIT = 1u << 7,   /* the waiter refused the fd (EPERM): pending */
    AC__F_ZOMBIE = 1u << 8,   /* closed, destroy pending */
    AC__F_STARVED = 1u << 9,  /* listener paused by EMFILE until an fd frees */
    AC__F_HAS_ADDR = 1u << 10,
    AC__F_WRSHUT = 1u << 11,  /* writing shut down: sends refused */
    AC__F_LISTED = 1u << 12,  /* in map->pending */
    AC__F_INTERNAL = 1u << 13, /* the map's own (call wake-up): not counted */
    AC__F_REWATCH = 1u << 14, /* the refresh's watch failed: tell after the wait */
    AC__F_NAMED = 1u << 15,   /* connecting by name, no descriptor yet:
                               * addr holds the state (connect.c) */
    /* "unhandled X event" already logged: one bit per kind (6) */
    AC__F_WARNED_SHIFT = 16,
    /* ac_set_layer_interest: the channel's events a layer holds back, and
     * the events it adds (AC_IN | AC_PRI | AC_OUT, three bits each) */
    AC__F_LHOLD_SHIFT = 22,
    AC__F_LADD_SHIFT = 25,
    AC__F_TIMED = 1u << 28,   /* has deadlines: a record in map->timed */
    AC__F_DEFERRED = 1u << 29, /* in map->deferred: the budget cut it off */
    AC__F_SERVED = 1u << 30,  /* served from map->deferred this iteration */
    AC__F_HELD = 1u << 31     /* async_chat holds input the budget cut off */
};
#define AC__LAYER_BITS(d, shift) (((d)->flags >> (shift)) & 7u)

/* One small ops struct per backend (one file each). `modify` moves a
 * channel's registration from `old` to `want` interest (0 = unregistered);
 * `wait` fills map->fired and returns how many, or a negative errno. */
typedef struct ac__backend_ops {
    const char *name;
    int max_fd; /* highest descriptor the backend can hold */
    int (*create)(ac_map *map);
    void (*destroy)(ac_map *map);
    int (*modify)(ac_map *map, ac_dispatcher *d, unsigned old, unsigned want);
    int (*wait)(ac_map *map, int timeout_ms);
} ac__backend_ops;

/* ac_timer.flags */
enum {
    AC__T_UNREF = 1u << 0,    /* does not keep the loop alive */
    AC__T_INTERNAL = 1u << 1  /* the library's own deadline */
};

/* A queued ac_map_call. */
typedef struct ac__call {
    void (*fn)(void *data);
    void *data;
} ac__call;

typedef struct ac__fired {
    int fd;
    unsigned revents;
} ac__fired;

struct ac_map {
    ac_dispatcher **fds; /* indexed by descriptor */
    size_t fds_cap;
    size_t count;

    const ac__backend_ops *ops;
    void *bstate; /* backend state */
    ac__fired *fired;
    size_t fired_cap;

    ac_hooks hooks;
    bool has_hooks; /* a host waits per fd (hooks.watch set) */
    bool hosted;    /* any host, waiting per fd or on the backend fd */

    ac_dispatcher *pulled;    /* channels whose predicates are asked */
    ac_dispatcher *iter_next; /* cursor that survives unlinking */
    ac_dispatcher *zombies;   /* closed channels waiting for destroy */
    ac_deferred *work, *work_tail; /* end-of-frame queue, FIFO */
    int depth;                /* handler frames running */
    uint64_t epoch;           /* bumped by every refresh */
    size_t nwatched;          /* channels with non-zero interest */
    volatile sig_atomic_t stop;

    ac_dispatcher **pending;  /* channels with d->pending set (or once were) */
    size_t npending, pending_cap;

    ac_timer **timers;        /* binary min-heap on due */
    size_t ntimers, timers_cap;
    size_t nref_timers;       /* active timers that keep the loop alive */
    uint16_t timer_gen;       /* bumped by every pass over due timers */
    ac_timer starve;          /* paused listeners retry when it fires */
    bool starved;

    /* ac_map_call: the only fields other threads touch, under call_lock */
    pthread_mutex_t call_lock;
    ac__call *calls;
    size_t ncalls, calls_cap;
    size_t calls_queued;      /* ncalls, readable without the lock */
    bool dead;                /* ac_map_free began: calls refused */
    int refs;                 /* atomic: ac_map_ref + the owner */
    int wake_fd;              /* written when calls arrive: an eventfd, or
                               * a pipe's write end (wake.fd reads it) */
    ac_dispatcher wake;       /* its internal channel */
    ac__call *running;        /* the batch being run, and its room */
    size_t running_cap;

    /* connecting by name: channels without a descriptor yet (counted in
     * `count`), and the connect whose handle_connect runs */
    struct ac__connect *naming;
    struct ac__connect *connected;
    struct ac__lookup **lookups; /* in flight, hashed by name and family */
    size_t lookups_cap, nlookups;
    struct ac__timed **timed; /* channels' deadlines (deadline.c) */
    size_t timed_cap, ntimed;

    /* the time budget of an iteration (budget.c) */
    uint64_t budget_ns;       /* 0: none */
    uint64_t iter_start;      /* the iteration's first dispatch (ns) */
    uint64_t iter_epoch;      /* the epoch that iteration began in */
    bool cut;                 /* the budget ended this iteration */
    unsigned iter_runs;       /* dispatches in it: the first needs no clock */
    uint64_t budget_cuts;
    struct ac__deferral *deferred; /* cut off, served first next time */
    size_t ndeferred, deferred_cap;
    ac_dispatcher **served;   /* served from it in this iteration */
    size_t nserved, served_cap;

    struct ac__debug *debug;  /* NULL unless debug mode is on (debug.c) */

    char *scratch; /* shared read buffer, see ac__scratch_get */
    size_t scratch_cap;
    bool scratch_busy;

    ac_log_fn log_fn;
    void *log_data;
    ac_log_level log_level;
};

typedef struct ac__deferral ac__deferral;

/* backends */
AC__HIDDEN extern const ac__backend_ops ac__select_ops;
AC__HIDDEN extern const ac__backend_ops ac__poll_ops;
AC__HIDDEN extern const ac__backend_ops ac__epoll_ops;
AC__HIDDEN int ac__fired_reserve(ac_map *map, size_t n);

/* map.c: membership, frames, logging */
AC__HIDDEN int ac__map_add(ac_map *map, ac_dispatcher *d);
AC__HIDDEN void ac__map_remove(ac_map *map, ac_dispatcher *d);
/* A handler frame: what closes inside it is destroyed, and deferred work
 * runs, when the outermost frame ends. */
AC__HIDDEN void ac__enter(ac_map *map);
AC__HIDDEN void ac__leave(ac_map *map);
AC__HIDDEN void ac__zombie(ac_map *map, ac_dispatcher *d);
AC__HIDDEN void ac__log(ac_map *map, ac_log_level level, const char *fmt, ...)
    AC_PRINTF(3, 4);

/* interest.c: interest, hosts, pending readiness, dispatch */
AC__HIDDEN int ac__join(ac_dispatcher *d);
AC__HIDDEN void ac__forget(ac_dispatcher *d);
AC__HIDDEN void ac__update_interest(ac_dispatcher *d);
AC__HIDDEN void ac__pending_drop(ac_map *map, ac_dispatcher *d);
AC__HIDDEN void ac__wake_host(ac_map *map);
AC__HIDDEN bool ac__pending_due(const ac_map *map);
AC__HIDDEN int ac__dispatch_fired(ac_map *map, size_t n);
AC__HIDDEN void ac__pulled_link(ac_map *map, ac_dispatcher *d);
AC__HIDDEN void ac__pulled_unlink(ac_map *map, ac_dispatcher *d);

/* budget.c: the time budget of an iteration. begin runs at each dispatch
 * entry point (inside its frame): the first of an iteration serves what
 * the last one deferred. dispatch dispatches, defers or drops one
 * channel's readiness (1 if dispatched). */
AC__HIDDEN int ac__budget_begin(ac_map *map);
AC__HIDDEN int ac__budget_dispatch(ac_map *map, ac_dispatcher *d,
                                   unsigned revents);
AC__HIDDEN bool ac__budget_over(ac_map *map); /* reads the clock */
/* The iteration's budget is used up. Inline: without a budget, async_chat
 * asks once per record and the dispatch once per channel, for nothing. */
static inline bool ac__budget_spent(ac_map *map)
{
    return map->cut || (map->budget_ns && ac__budget_over(map));
}
AC__HIDDEN int ac__budget_defer(ac_map *map, ac_dispatcher *d,
                                unsigned revents);
AC__HIDDEN bool ac__budget_left(const ac_map *map);
AC__HIDDEN int ac__budget_reserve(ac_map *map); /* before a channel joins */
AC__HIDDEN void ac__budget_drop(ac_map *map, ac_dispatcher *d);
AC__HIDDEN void ac__budget_free(ac_map *map);

/* debug.c: debug mode; every entry is behind `if (map->debug)` */
AC__HIDDEN void ac__debug_env(ac_map *map);      /* AC_DEBUG at ac_map_new */
AC__HIDDEN void ac__debug_free(ac_map *map);     /* lists unclosed channels */
AC__HIDDEN void ac__debug_frame(ac_map *map, bool begin);
AC__HIDDEN void ac__debug_iteration(ac_map *map); /* at each refresh */
AC__HIDDEN void ac__debug_waited(ac_map *map, uint64_t ns);
/* Slow handlers: the clock before a handler (0 unless they are watched),
 * and the report after it if it ran too long: a channel's handler `what`,
 * or (d NULL) a timer callback or call `what` at address `fn`. */
AC__HIDDEN uint64_t ac__debug_clock(const ac_map *map);
AC__HIDDEN void ac__debug_after(ac_map *map, uint64_t t0,
                                const ac_dispatcher *d, const char *what,
                                uintptr_t fn);
AC__HIDDEN void ac__debug_thread(ac_map *map, const char *func,
                                 const void *site);
/* A call on the map from another thread than its own: reported once per
 * call site in debug mode. */
#define AC__THREAD_CHECK(map)                                                \
    do {                                                                     \
        if ((map) && (map)->debug)                                           \
            ac__debug_thread((map), __func__, __builtin_return_address(0));  \
    } while (0)

/* timer.c: the map's deadlines */
AC__HIDDEN uint64_t ac__now_ms(void);
AC__HIDDEN uint64_t ac__now_ns(void);
/* A deadline of the library's own (unreferenced, `fn` called when due). */
AC__HIDDEN int ac__timer_start(ac_map *map, ac_timer *t, uint64_t ms,
                               void (*fn)(ac_timer *t));
AC__HIDDEN void ac__timer_stop(ac_map *map, ac_timer *t);
/* Fire what is due; returns how many fired. */
AC__HIDDEN int ac__timers_run(ac_map *map);
AC__HIDDEN void ac__timers_stop_all(ac_map *map);

/* call.c: calls from other threads */
AC__HIDDEN int ac__calls_open(ac_map *map);
/* Run what is queued, refuse what comes later, close the wake-up. */
AC__HIDDEN void ac__calls_close(ac_map *map);
AC__HIDDEN void ac__starve(ac_dispatcher *d);
AC__HIDDEN void ac__unstarve(ac_map *map);

/* resolver.c: getaddrinfo on worker threads. A lookup of a name and
 * family already in flight for the same map is shared: every asker gets
 * the one answer. `done` runs in the map's thread (an ac_map_call) unless
 * the ask was cancelled first; the asker must not touch its ask after
 * either. */
typedef struct ac__lookup {
    struct ac__lookup *next;      /* the pool's queue */
    ac_map *map;                  /* referenced while the lookup lives */
    struct ac__ask *asks;         /* map thread only: who waits */
    struct ac__lookup *hnext;     /* map thread only: map->lookups chain */
    unsigned hash;
    bool gone;                    /* map thread only: nobody waits */
    int refs;                     /* atomic: the map side's, the worker's */
    int cancelled;                /* atomic: a worker may skip the lookup */
    int family;
    int err;                      /* 0, or positive errno / AC_EAI_* */
    struct addrinfo *res;
    char host[];
} ac__lookup;
typedef void (*ac__lookup_fn)(void *owner, const ac__lookup *l);
typedef struct ac__ask ac__ask;
AC__HIDDEN ac__ask *ac__lookup_start(ac_map *map, const char *host,
                                     int family, void *owner,
                                     ac__lookup_fn done);
AC__HIDDEN void ac__lookup_cancel(ac__ask *a);
/* At ac_map_free, once every ask is over. */
AC__HIDDEN void ac__lookups_free(ac_map *map);
/* getaddrinfo's EAI_* as a positive errno or AC_EAI_* code. */
AC__HIDDEN int ac__gai_error(int gai, int sys_errno);

/* connect.c: connecting by name */
AC__HIDDEN void ac__connect_cancel(ac_dispatcher *d);
/* A channel connecting by name (no descriptor yet), or NULL. */
AC__HIDDEN ac_dispatcher *ac__connect_first(const ac_map *map);

/* buffer.c */
AC__HIDDEN int ac__buf_append(char **buf, size_t *off, size_t *len,
                              size_t *cap, const void *data, size_t n);
/* A read buffer of at least `size` bytes shared by the map's channels, so
 * idle channels hold none; a nested user gets a private one. NULL if out
 * of memory. Give it back with ac__scratch_put. */
AC__HIDDEN char *ac__scratch_get(ac_map *map, size_t size);
AC__HIDDEN void ac__scratch_put(ac_map *map, char *buf);

/* dispatcher.c */
AC__HIDDEN int ac__check_fresh(const ac_dispatcher *d);
/* A usable, open channel: 0, -EINVAL or -EBADF. */
AC__HIDDEN int ac__check_open(const ac_dispatcher *d);
/* Neither a descriptor nor a connect by name: nothing to send on. */
#define AC__UNOPENED(d) ((d)->fd < 0 && !AC__FLAG(d, AC__F_NAMED))
AC__HIDDEN int ac__adopt(ac_dispatcher *d, int fd, unsigned flags);
/* Stop writing through the channel's I/O operations; sends are refused
 * (-EPIPE) from then on. Negative errno if it cannot half-close. */

/* compat.c: what differs between systems. Descriptors come back
 * non-blocking and close-on-exec, or as a negative errno. */
AC__HIDDEN int ac__set_nonblock(int fd);
AC__HIDDEN int ac__socket(int family, int type);
AC__HIDDEN int ac__accept(int lfd, struct sockaddr *sa, socklen_t *len);
/* The call wake-up: an eventfd (*rfd == *wfd) or a pipe. */
AC__HIDDEN int ac__wake_open(int *rfd, int *wfd);
/* TCP keepalive's idle time; -ENOTSUP where it cannot be set. */
AC__HIDDEN int ac__keepalive_idle(int fd, int idle_s);
/* Bytes the socket holds that its peer has not taken yet; -ENOTSUP where
 * the system cannot tell. */
AC__HIDDEN long ac__unsent(int fd);
/* memmem(3): the first `t` (tl >= 1 bytes) in p[0, n), or NULL. */
AC__HIDDEN const char *ac__memmem(const char *p, size_t n, const char *t,
                                  size_t tl);
AC__HIDDEN const char *ac__strerror_r(int err, char *buf, size_t size);

/* deadline.c: bytes that met the socket (n bytes the socket took, or a
 * negative errno), for channels with AC__F_TIMED only */
typedef struct ac__timed ac__timed;
AC__HIDDEN void ac__timed_in(ac_dispatcher *d);
AC__HIDDEN void ac__timed_out(ac_dispatcher *d, ssize_t n);
AC__HIDDEN void ac__timed_drop(ac_dispatcher *d); /* at close */
AC__HIDDEN void ac__timed_free(ac_map *map);

/* io.c */
AC__HIDDEN int ac__shutdown_write(ac_dispatcher *d);
/* A system call's result as I/O operations return it: n, -EAGAIN for
 * "not now" (EAGAIN, EWOULDBLOCK, EINTR), or -errno. */
AC__HIDDEN ssize_t ac__io_result(ssize_t n);

/* events.c */
AC__HIDDEN void ac__readwrite(ac_dispatcher *d, unsigned revents);
AC__HIDDEN bool ac__readable(ac_dispatcher *d);
AC__HIDDEN bool ac__writable(ac_dispatcher *d);
AC__HIDDEN void ac__fail(ac_dispatcher *d, int err, const char *where);
AC__HIDDEN bool ac__is_disconnect(int err);
AC__HIDDEN bool ac__connect_event(ac_dispatcher *d);

#define AC__FLAG(d, f) (((d)->flags & (f)) != 0)

/* Find a class method: the first non-NULL entry up the parent chain, or
 * the base class's. */
#define AC__METHOD(d, slot)                                                  \
    ({                                                                       \
        const ac_dispatcher_class *c_ = (d)->klass;                          \
        while (c_ && !c_->slot)                                              \
            c_ = c_->parent;                                                 \
        c_ ? c_->slot : ac_base_class.slot;                                  \
    })

#endif
