/**
 * @file
 * sdevent.h - run a map's channels inside a systemd sd-event loop.
 *
 * Link with `pkg-config asyncore-sdevent`. Uses only the public hook
 * contract of asyncore.h.
 *
 * How the map runs: a time source of the adapter's carries a prepare
 * callback, which sd-event calls before every wait: it refreshes the map's
 * interest (ac_map_refresh(), nothing else) and sets the source's time to
 * the map's deadline (ac_map_timeout(): the next timer, 0 while readiness
 * is pending; CLOCK_MONOTONIC, 1 us accuracy). The time source's callback
 * runs what is due (ac_map_run_due()). Readiness comes from an io source
 * per channel (PER_FD: created when the channel joins, its events changed
 * with its interest, disabled while it wants nothing, freed before its
 * descriptor closes) or from one io source on the map's epoll descriptor
 * (BACKEND_FD, the default on epoll maps: idle channels cost sd-event
 * nothing). So handlers, timers and calls run in the iteration whose wait
 * they ended, and `while (!done) sd_event_run(e, UINT64_MAX);` returns
 * once any of them sets `done` (sd-event dispatches one source per
 * iteration).
 *
 * sd-event has no notion of a loop that ends when nothing is left: run it
 * while ac_map_alive(map) (or until sd_event_exit()). It refuses to run
 * from inside its own callbacks, so no nested loop can reach the map.
 * Freeing the map while attached is safe (ac_sdevent_map() becomes NULL;
 * ac_sdevent_detach() then only frees); so is detaching with channels
 * open (the map's own backend waits for them again).
 */
#ifndef ASYNCORE_SDEVENT_H
#define ASYNCORE_SDEVENT_H

#include <asyncore/asyncore.h>
#include <systemd/sd-event.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A map's attachment to an sd_event loop (opaque). */
typedef struct ac_sdevent ac_sdevent;

/** How the adapter waits for the map's channels. */
typedef enum {
    AC_SDEVENT_AUTO = 0,   /**< BACKEND_FD on epoll maps, else PER_FD */
    AC_SDEVENT_PER_FD,     /**< one io source per channel */
    AC_SDEVENT_BACKEND_FD  /**< one io source on the map's epoll fd */
} ac_sdevent_mode;

/** Attach `map` to `e` (the map must have no other host; `e` must outlive
 * the attachment or see it detached first). NULL with errno: EINVAL,
 * EBUSY (the map has a host, or this is one of its handlers), EOPNOTSUPP
 * (BACKEND_FD off epoll), ENOMEM, or sd-event's error. */
AC_EXTERN ac_sdevent *ac_sdevent_attach(ac_map *map, sd_event *e,
                                        ac_sdevent_mode mode);

/** Detach and free the attachment (and its event sources): the map's
 * channels stay open. Safe after the map was freed. -EBUSY from a handler
 * of the map, -EINVAL for NULL. */
AC_EXTERN int ac_sdevent_detach(ac_sdevent *a);

/** The attached map: NULL once it was freed. */
AC_EXTERN ac_map *ac_sdevent_map(const ac_sdevent *a);
/** The mode in use (never AUTO). */
AC_EXTERN ac_sdevent_mode ac_sdevent_get_mode(const ac_sdevent *a);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCORE_SDEVENT_H */
