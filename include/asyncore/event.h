/**
 * @file
 * event.h - run a map's channels inside a libevent 2.1 event_base.
 *
 * Link with `pkg-config asyncore-event`. Uses only the public hook
 * contract of asyncore.h.
 *
 * libevent 2.1 has no "before sleeping" callback, so the adapter refreshes
 * the map (ac_map_refresh(): pulled predicates, interest) after every
 * callback it makes, and arms an event timer for the map's deadline
 * (ac_map_timeout(): the next timer, 0 while readiness is pending); that
 * timer's callback runs what is due (ac_map_run_due()), so timers and
 * pending readiness run in the iteration whose wait they ended, and
 * `while (!done) event_base_loop(base, EVLOOP_ONCE);` returns once a
 * handler, a timer or a call sets `done`.
 *
 * A channel added or a timer started outside the adapter's callbacks
 * (from main(), or from another libevent callback) reaches the adapter
 * through the map's wake hook: a zero-delay event refreshes the map, and
 * libevent marks it internal, so it does not end an EVLOOP_ONCE iteration
 * by itself: the iteration goes on to wait for the new deadline or
 * channel. What the map cannot hear is a pulled readable()/writable()
 * answer changed outside its handlers (by main() or another libevent
 * callback): call ac_event_refresh() after such a change, or use declared
 * interest (ac_set_interest), which has no such delay.
 *
 * event_base_dispatch() returns once nothing is pending; the adapter's
 * events count as pending only while the map is alive (ac_map_alive()), as
 * with libuv.
 */
#ifndef ASYNCORE_EVENT_H
#define ASYNCORE_EVENT_H

#include <asyncore/asyncore.h>
#include <event2/event.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A map's attachment to an event_base (opaque). */
typedef struct ac_event ac_event;

/** How the adapter waits for the map's channels. */
typedef enum {
    AC_EVENT_AUTO = 0,   /**< BACKEND_FD on epoll maps, else PER_FD */
    AC_EVENT_PER_FD,     /**< one libevent event per channel */
    AC_EVENT_BACKEND_FD  /**< one event on the map's epoll descriptor */
} ac_event_mode;

/** Attach `map` to `base` (the map must have no other host). NULL with
 * errno: EINVAL, EBUSY, EOPNOTSUPP (BACKEND_FD off epoll), ENOMEM. */
AC_EXTERN ac_event *ac_event_attach(ac_map *map, struct event_base *base,
                                    ac_event_mode mode);

/** Detach and free the attachment: the map's channels stay open (its own
 * backend waits for them again). Safe after the map was freed; not from a
 * handler of the map (-EBUSY). */
AC_EXTERN int ac_event_detach(ac_event *e);

/** Refresh now (see above) and re-arm the deadline. */
AC_EXTERN void ac_event_refresh(ac_event *e);

/** The attached map (NULL once freed), the mode in use, and counters for
 * tests: refreshes made, readiness events delivered. */
AC_EXTERN ac_map *ac_event_map(const ac_event *e);
/** The mode in use (never AUTO). */
AC_EXTERN ac_event_mode ac_event_get_mode(const ac_event *e);
/** Refreshes made so far (a test counter). */
AC_EXTERN unsigned long ac_event_refreshes(const ac_event *e);
/** Readiness events delivered so far (a test counter). */
AC_EXTERN unsigned long ac_event_events(const ac_event *e);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCORE_EVENT_H */
