/**
 * @file
 * glib.h - run an asyncore map inside a GLib main context (and so inside a
 * GTK application).
 *
 * One GSource per map. Its prepare step runs ac_map_refresh() (interest
 * only) and bounds the wait by ac_map_timeout(); its check says whether a
 * descriptor is ready or something is due (a timer, pending readiness);
 * its dispatch runs them - handlers, timers and calls all run in the
 * dispatch of the iteration whose wait they ended, so
 * `while (!done) g_main_context_iteration(ctx, TRUE);` returns once any
 * of them sets `done`. It waits in one of two ways:
 *
 *  AC_GLIB_PER_FD      every channel's fd is added to the source with
 *                      g_source_add_unix_fd() and changed only when the
 *                      channel's interest changes (the readiness hooks);
 *                      ready fds go to ac_map_dispatch(). Portable, but
 *                      GLib polls every fd it watches on every iteration:
 *                      with thousands of idle channels every iteration of
 *                      the whole application slows down.
 *  AC_GLIB_BACKEND_FD  the source watches only the map's epoll descriptor
 *                      (ac_map_backend_fd()) and runs
 *                      ac_map_dispatch_ready() when it is readable or
 *                      something is due: idle channels cost GLib
 *                      nothing. Needs a map on the epoll backend.
 *  AC_GLIB_AUTO        BACKEND_FD when the map uses epoll, else PER_FD.
 *
 * Use it like any GSource:
 *
 *   GSource *s = ac_glib_source_new(map, AC_GLIB_AUTO);
 *   g_source_set_priority(s, G_PRIORITY_DEFAULT);   (optional)
 *   g_source_attach(s, context);                    (NULL: the default one)
 *   g_source_unref(s);
 *   ...
 *   g_source_destroy(s);   channels stay open; the map's own loop can
 *                          take over again
 *
 * Destroying the source with channels open, freeing the map while the
 * source is attached, and closing channels after the source is gone are
 * all safe. A thread-default context of another thread works as any
 * other: the map and the context then belong to that thread.
 */
#ifndef ASYNCORE_GLIB_H
#define ASYNCORE_GLIB_H

#include <asyncore/asyncore.h>
#include <glib.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How the source waits for the map's channels. */
typedef enum {
    AC_GLIB_AUTO = 0,   /**< BACKEND_FD on epoll maps, else PER_FD */
    AC_GLIB_PER_FD,     /**< one GLib unix fd per channel */
    AC_GLIB_BACKEND_FD  /**< one GLib unix fd: the map's epoll fd */
} ac_glib_mode;

/** A new source for `map` (one source per map at a time). NULL with errno:
 * EINVAL, EBUSY (the map already has a host), EOPNOTSUPP (BACKEND_FD on a
 * map that is not on epoll), ENOMEM. */
AC_EXTERN GSource *ac_glib_source_new(ac_map *map, ac_glib_mode mode);

/** The mode a source actually uses, and its map (NULL once the map was
 * freed or the source destroyed). */
AC_EXTERN ac_glib_mode ac_glib_source_mode(GSource *source);
/** The source's map; see ac_glib_source_mode(). */
AC_EXTERN ac_map *ac_glib_source_map(GSource *source);

/** Counters for tests and statistics: prepare calls (context iterations
 * seen) and readiness dispatches. */
AC_EXTERN unsigned long ac_glib_source_iterations(GSource *source);
/** Readiness dispatches; see ac_glib_source_iterations(). */
AC_EXTERN unsigned long ac_glib_source_dispatches(GSource *source);

/** The seed documents' way (PyMOTW, "Working with Other Event Loops"): an
 * idle source that calls ac_poll_once(map, 0) on every iteration and
 * removes itself when the map is empty. It works with any backend and no
 * hooks, but an idle source runs whenever nothing else does, so it keeps
 * one core busy as long as the map has channels. Prefer the source above.
 * Returns the source id (g_source_remove() stops it early). */
AC_EXTERN guint ac_glib_add_idle(ac_map *map, GMainContext *context);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCORE_GLIB_H */
