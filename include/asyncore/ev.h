/**
 * @file
 * ev.h - run a map's channels inside a libev loop.
 *
 * Link with `pkg-config asyncore-ev` (Debian's libev ships no pkg-config
 * file: the module adds -lev itself). Uses only the public hook contract
 * of asyncore.h.
 *
 * How the map runs: an ev_prepare watcher refreshes the map's interest
 * before every wait (ac_map_refresh(), nothing else) and arms an ev_timer
 * for the map's deadline (ac_map_timeout(): the next timer, 0 while
 * readiness is pending); an ev_check watcher runs what came due
 * (ac_map_run_due()) after every wait. Readiness comes from an ev_io per
 * channel (PER_FD: started when the channel wants something, stopped when
 * it no longer does or before its descriptor closes; the default, as
 * libev's own epoll serves idle channels at no cost) or from one ev_io on
 * the map's epoll descriptor (BACKEND_FD). So
 * handlers, timers and calls run in the iteration whose wait they ended,
 * and `while (!done) ev_run(loop, EVRUN_ONCE);` returns once any of them
 * sets `done`.
 *
 * Loop lifetime, libuv's rule: the adapter's watchers keep ev_run() going
 * while the map is alive (ac_map_alive()), so ev_run(loop, 0) returns once
 * the map is empty and the program's own watchers are done. A nested
 * ev_run() from one of the map's handlers does not dispatch the map: a
 * channel's watcher that fires inside it is held until the handler
 * returns. Freeing the map while attached is safe (ac_ev_map() becomes
 * NULL); so is detaching with channels open.
 */
#ifndef ASYNCORE_EV_H
#define ASYNCORE_EV_H

#include <asyncore/asyncore.h>
#include <ev.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A map's attachment to a libev loop (opaque). */
typedef struct ac_ev ac_ev;

/** How the adapter waits for the map's channels. */
typedef enum {
    AC_EV_AUTO = 0,   /**< PER_FD (libev's own epoll costs less than
                           an epoll inside it: bench/results.md) */
    AC_EV_PER_FD,     /**< one ev_io per channel */
    AC_EV_BACKEND_FD  /**< one ev_io on the map's epoll fd */
} ac_ev_mode;

/** Attach `map` to `loop` (the map must have no other host; the loop must
 * outlive the attachment). NULL with errno: EINVAL, EBUSY (the map has a
 * host, or this is one of its handlers), EOPNOTSUPP (BACKEND_FD off
 * epoll), ENOMEM. */
AC_EXTERN ac_ev *ac_ev_attach(ac_map *map, struct ev_loop *loop,
                              ac_ev_mode mode);

/** Stop the adapter's watchers and free the attachment: the map's channels
 * stay open. Safe after the map was freed. -EBUSY from a handler of the
 * map, -EINVAL for NULL. */
AC_EXTERN int ac_ev_detach(ac_ev *a);

/** The attached map: NULL once it was freed. */
AC_EXTERN ac_map *ac_ev_map(const ac_ev *a);
/** The mode in use (never AUTO). */
AC_EXTERN ac_ev_mode ac_ev_get_mode(const ac_ev *a);
/** Loop iterations the adapter has seen (prepare calls; a test counter). */
AC_EXTERN unsigned long ac_ev_iterations(const ac_ev *a);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCORE_EV_H */
