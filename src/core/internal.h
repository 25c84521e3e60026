/* Private to the core: the map layout and the backend ops. */
#ifndef ASYNCORE_INTERNAL_H
#define ASYNCORE_INTERNAL_H

#include <asyncore/asyncore.h>
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
    AC__F_FILE = 1u << 7,     /* file_dispatcher: read/write, not recv/send */
    AC__F_ZOMBIE = 1u << 8,   /* closed, destroy pending */
    AC__F_STARVED = 1u << 9,  /* listener paused by EMFILE until an fd frees */
    AC__F_HAS_ADDR = 1u << 10,
    AC__F_LINGER = 1u << 11,  /* ac_close_lingering in progress */
    /* "unhandled X event" already logged: one bit per kind */
    AC__F_WARNED_SHIFT = 16
};

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

typedef struct ac__linger {
    struct ac__linger *next;
    ac_dispatcher *d;
    uint64_t deadline; /* ms, CLOCK_MONOTONIC */
    size_t left;       /* bytes still allowed to be discarded */
} ac__linger;

typedef struct ac__fired {
    int fd;
    unsigned revents;
} ac__fired;

struct ac_map {
    ac_dispatcher **fds; /* indexed by descriptor */
    size_t fds_cap;
    size_t count;

    const ac__backend_ops *ops;
    ac_backend backend;
    void *bstate; /* backend state */
    ac__fired *fired;
    size_t fired_cap;

    ac_hooks hooks;
    bool has_hooks; /* a host waits per fd (hooks.watch set) */
    bool hosted;    /* any host, waiting per fd or on the backend fd */

    ac_dispatcher *pulled;    /* channels whose predicates are asked */
    ac_dispatcher *iter_next; /* cursor that survives unlinking */
    ac_dispatcher *zombies;   /* closed channels waiting for destroy */
    int depth;                /* handler frames running */
    uint64_t epoch;           /* bumped by every refresh */
    size_t nwatched;          /* channels with non-zero interest */
    bool starved;             /* a listener waits for a descriptor */
    uint64_t starved_since;   /* ms, CLOCK_MONOTONIC */
    volatile sig_atomic_t stop;

    ac__linger *lingering;
    struct ac_chat *chat_flush; /* async_chats with sends due (asynchat.c) */

    char *scratch; /* shared read buffer (async_chat), see ac__scratch */
    size_t scratch_cap;
    bool scratch_busy;

    ac_log_fn log_fn;
    void *log_data;
    ac_log_level log_level;
};

/* backends */
AC__HIDDEN extern const ac__backend_ops ac__select_ops;
AC__HIDDEN extern const ac__backend_ops ac__poll_ops;
AC__HIDDEN extern const ac__backend_ops ac__epoll_ops;
AC__HIDDEN int ac__fired_reserve(ac_map *map, size_t n);

/* map.c */
AC__HIDDEN int ac__map_add(ac_map *map, ac_dispatcher *d);
AC__HIDDEN void ac__map_remove(ac_map *map, ac_dispatcher *d);
AC__HIDDEN void ac__enter(ac_map *map);
AC__HIDDEN void ac__leave(ac_map *map);
AC__HIDDEN void ac__zombie(ac_map *map, ac_dispatcher *d);
AC__HIDDEN void ac__update_interest(ac_dispatcher *d);
AC__HIDDEN int ac__dispatch_fired(ac_map *map, size_t n);
AC__HIDDEN void ac__starve(ac_dispatcher *d);
AC__HIDDEN int ac__starve_timeout(ac_map *map, int timeout_ms);
AC__HIDDEN void ac__log(ac_map *map, ac_log_level level, const char *fmt, ...)
    AC_PRINTF(3, 4);

/* buffer.c */
AC__HIDDEN int ac__buf_append(char **buf, size_t *off, size_t *len,
                              size_t *cap, const void *data, size_t n);

/* asynchat.c */
AC__HIDDEN void ac__chat_flush(ac_map *map);

/* linger.c */
AC__HIDDEN void ac__linger_event(ac_dispatcher *d, unsigned revents);
AC__HIDDEN void ac__linger_forget(ac_dispatcher *d);
AC__HIDDEN void ac__linger_expire(ac_map *map);
AC__HIDDEN uint64_t ac__now_ms(void);

/* A read buffer of at least `size` bytes shared by the map's channels, so
 * idle channels hold none; a nested user gets a private one. NULL if out
 * of memory. Give it back with ac__scratch_put. */
AC__HIDDEN char *ac__scratch_get(ac_map *map, size_t size);
AC__HIDDEN void ac__scratch_put(ac_map *map, char *buf);

/* dispatcher.c */
AC__HIDDEN int ac__check_fresh(const ac_dispatcher *d);
AC__HIDDEN int ac__set_nonblock(int fd);
AC__HIDDEN int ac__adopt(ac_dispatcher *d, int fd, unsigned flags);

/* events.c */
AC__HIDDEN void ac__readwrite(ac_dispatcher *d, unsigned revents);
AC__HIDDEN bool ac__readable(ac_dispatcher *d);
AC__HIDDEN bool ac__writable(ac_dispatcher *d);
AC__HIDDEN void ac__fail(ac_dispatcher *d, int err, const char *where);
AC__HIDDEN bool ac__is_disconnect(int err);
AC__HIDDEN bool ac__connect_event(ac_dispatcher *d);

/* file_dispatcher.c */
AC__HIDDEN ssize_t ac__file_write(int fd, const void *buf, size_t len);

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
