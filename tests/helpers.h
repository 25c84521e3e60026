/* Shared test harness: every test runs once per mode (select, poll, epoll
 * and a host loop that drives the map only through the readiness hooks),
 * over real sockets, and ends by checking that no descriptor leaked. */
#ifndef AC_TEST_HELPERS_H
#define AC_TEST_HELPERS_H

#include <asyncore/asyncore.h>
#include <CUnit/CUnit.h>
#include <stdbool.h>

#include "ac_config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    T_SELECT, T_POLL, T_EPOLL, /* ac_poll_once on each backend */
    T_HOST,                    /* a poll() host loop written in helpers.c */
    T_UV,                      /* a uv loop through asyncore-uv */
    T_GLIB, T_GLIBFD,          /* a GMainContext: per fd, and backend fd */
    T_EVENT, T_EVENTFD,        /* a libevent base: per fd, and backend fd */
    T_QT, T_QTFD,              /* a Qt event dispatcher: per fd, backend fd */
    T_NMODES
} t_mode;

extern t_mode t_current;

/* A map for the current mode with a capturing log function (level INFO).
 * Records the open-descriptor count for t_map_done(). */
ac_map *t_map_new(void);
/* The backend of a map that a host waits on through the map's own
 * descriptor (epoll), and how many of a host adapter's modes the build
 * has: per descriptor always, on the map's descriptor only with epoll (the
 * portable build has none, and its maps are poll maps). */
#define T_FD_BACKEND (AC_HAVE_EPOLL ? AC_BACKEND_EPOLL : AC_BACKEND_POLL)
#define T_HOST_MODES (AC_HAVE_EPOLL ? 2 : 1)
/* Asserts the map is empty, frees it, asserts no descriptor leaked and the
 * host (in host mode) holds no watches. */
void t_map_done(ac_map *map);

/* One iteration in the current mode: ac_poll_once, one round of the
 * test's own poll()-based host loop, or uv_run(UV_RUN_ONCE) on a loop the
 * libuv adapter is attached to. Returns events dispatched. */
int t_step(ac_map *map, int timeout_ms);
/* Step until *flag is true or `ms` milliseconds passed; returns *flag. */
bool t_run_until(ac_map *map, const volatile bool *flag, int ms);
/* Step until the map is empty or `ms` passed. */
bool t_run_until_empty(ac_map *map, int ms);
/* Run the map the way the host's own loop runs, until the map is empty:
 * ac_loop (waits of `ms`), the test's host loop, uv_run(UV_RUN_DEFAULT),
 * or g_main_context_iteration(TRUE) while channels remain; gives up after
 * `ms`. Returns the milliseconds it took. */
long long t_run_host(ac_map *map, int ms);

/* A pulled predicate's answer or a channel's interest was changed by code
 * outside the map's handlers: the libevent host, which has no step before
 * its wait, is told (ac_event_refresh(), as event.h asks); others ask the
 * predicates before every wait anyway. */
void t_changed_outside(ac_map *map);
#define t_libevent() (t_current == T_EVENT || t_current == T_EVENTFD)

/* True when a host loop drives the map (hooks), not ac_poll_once. */
#define t_hosted() (((1u << t_current) & T_HOSTED) != 0)

/* Host-mode bookkeeping (only meaningful in T_HOST). */
int t_host_watch_calls(void);
int t_host_unwatch_calls(void);
int t_host_closed_fd_unwatches(void); /* unwatch called after close: bug */
unsigned t_host_events(int fd);       /* last events given to watch */

/* Log capture. */
bool t_log_contains(const char *needle);
int t_log_count(void);
void t_log_clear(void);
const char *t_log_text(void);

/* Sockets. */
int t_listener(int family, struct sockaddr_storage *addr, socklen_t *len);
void t_socketpair(int sv[2]);
int t_open_fds(void);
bool t_fd_open(int fd);

/* Register `tests` as one suite per mode in `modes` (a mask of 1 << mode),
 * named "NAME/mode". t_register() takes every mode. */
#define T_ALL ((1u << T_NMODES) - 1)
#define T_HOSTED \
    ((1u << T_HOST) | (1u << T_UV) | (1u << T_GLIB) | (1u << T_GLIBFD) | \
     (1u << T_EVENT) | (1u << T_EVENTFD) | (1u << T_QT) | (1u << T_QTFD))
#define T_NATIVE (T_ALL & ~T_HOSTED)
#define T_ONCE (1u << T_EPOLL)
void t_register_modes(const char *name, CU_TestInfo *tests, unsigned modes);
#define t_register(name, tests) t_register_modes(name, tests, T_ALL)
/* Standard main: registers via `reg`, runs, returns failures != 0. */
int t_main(int argc, char **argv, void (*reg)(void));


#define t_qt() (t_current == T_QT || t_current == T_QTFD)

/* A channel that records every handler call. Heap-allocated by tchan_new
 * and freed in destroy (which bumps t_destroyed). Optional per-instance
 * overrides run instead of the defaults:
 *   read     recv() into in[] (handle_close on EOF comes from ac_recv)
 *   accepted adopt the fd into a new tchan, stored in `peer`
 *   close    ac_close()
 *   error    record err/where, ac_close() */
typedef struct tchan tchan;
struct tchan {
    ac_dispatcher d;
    int n_read, n_write, n_expt, n_connect, n_accepted, n_close, n_error;
    int err;
    char where[512];
    bool want_read, want_write; /* predicate answers (pulled mode) */
    bool keep_memory;           /* destroy does not free: the test does */
    bool flag;
    char in[65536];
    size_t in_len;
    tchan *peer;
    void *user;
    void (*on_read)(tchan *t);
    void (*on_write)(tchan *t);
    void (*on_connect)(tchan *t);
    void (*on_expt)(tchan *t);
    void (*on_close)(tchan *t);
    void (*on_accepted)(tchan *t, int fd);
};

extern const ac_dispatcher_class tchan_class;
extern int t_destroyed;

tchan *tchan_new(ac_map *map);
/* on_close that leaves the channel open, so its counters stay readable. */
void tchan_keep_open(tchan *t);
#define TCHAN(dp) AC_CONTAINER_OF(dp, tchan, d)
/* A listening tchan on loopback of `family`; its address in *addr. */
tchan *tchan_server(ac_map *map, int family, struct sockaddr_storage *addr,
                    socklen_t *len);
/* A tchan connecting to addr. */
tchan *tchan_client(ac_map *map, const struct sockaddr_storage *addr,
                    socklen_t len);

#ifdef __cplusplus
}
#endif

#endif
