/**
 * @file
 * uv.h - run an asyncore map inside a libuv loop.
 *
 * The adapter is a thin user of the readiness hooks (asyncore.h): one
 * uv_poll_t per watched channel, started or changed when the channel's
 * interest changes, stopped and closed when the channel leaves the map
 * (before its fd is closed, so a reused fd number starts clean); a
 * uv_prepare_t runs ac_map_refresh() (interest only) before each wait; a
 * uv_timer_t armed for the map's deadline (ac_map_timeout(): the next
 * timer, 0 while readiness is pending) ends the wait; a uv_check_t runs
 * what is due (ac_map_run_due()) after every poll. So handlers, timers and
 * calls run in the iteration whose wait they ended (also in
 * UV_RUN_NOWAIT), and
 * `while (!done) uv_run(loop, UV_RUN_ONCE);` returns once any of them sets
 * `done`.
 *
 * Loop lifetime: poll handles are ordinary (referenced) handles while they
 * wait for something; the prepare handle is referenced while the map has
 * channels, so uv_run(UV_RUN_DEFAULT) keeps running while the map has
 * channels and returns once the map is empty and the application's own
 * handles are done, like Python's loop().
 *
 * A poll handle that cannot be created or started (e.g. a bad fd) is
 * reported to the channel as handle_error(err, "watch") (handle_close for
 * EBADF, a disconnect errno); an error condition libuv reports while
 * polling is delivered as AC_ERR, so the core reads the socket's real
 * error (a refused connect reaches handle_error(ECONNREFUSED, "connect")).
 * Nothing aborts.
 */
#ifndef ASYNCORE_UV_H
#define ASYNCORE_UV_H

#include <asyncore/asyncore.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A map's attachment to a uv loop (opaque). */
typedef struct ac_uv ac_uv;

/** Attach `map` to `loop` (the map must not have other hooks). The loop
 * must outlive the attachment. NULL with errno: EINVAL, EBUSY (the map
 * already has hooks, or called from a handler), ENOMEM. */
AC_EXTERN ac_uv *ac_uv_attach(ac_map *map, uv_loop_t *loop);

/** Detach: every poll handle is stopped at once, the map's channels stay
 * open (the map's own backend waits for them again), and `cb` runs once
 * libuv has closed the adapter's handles, after which `a` is freed. Call
 * uv_run until then. Safe while channels are open and after the map was
 * freed. -EALREADY if a detach is in progress, -EBUSY from a handler of
 * the map. */
typedef void (*ac_uv_detach_cb)(void *data);
/** Detach (see ac_uv_detach_cb): 0, -EINVAL, -EALREADY, -EBUSY. */
AC_EXTERN int ac_uv_detach(ac_uv *a, ac_uv_detach_cb cb, void *data);

/** The attached map, or NULL once it was freed or detached. */
AC_EXTERN ac_map *ac_uv_map(const ac_uv *a);

/** Readiness events delivered to the map so far, and loop iterations seen
 * (prepare callbacks): counters for tests and statistics. */
AC_EXTERN unsigned long ac_uv_events(const ac_uv *a);
/** Loop iterations seen; see ac_uv_events(). */
AC_EXTERN unsigned long ac_uv_iterations(const ac_uv *a);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCORE_UV_H */
