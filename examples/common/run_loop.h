/* Who runs a map in the examples: ac_loop() itself, a GLib main context, a
 * libuv loop, a libevent base or a Qt event loop, one per thread; and
 * SIGINT/SIGTERM ending it all. */
#ifndef AC_EXAMPLES_RUN_LOOP_H
#define AC_EXAMPLES_RUN_LOOP_H

#include <asyncore/asyncore.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    EX_NATIVE, EX_GLIB, EX_UV, EX_EVENT, EX_QT, EX_SDEVENT, EX_EV
} ex_loop_kind;

/* The --loop names, for usage lines. */
#define EX_LOOPS "native|glib|uv|event|qt|sdevent|ev"

/* "native" | "glib" | ... | "ev", or a negative errno if this
 * build cannot run it (or the name is unknown): *why then says which. Call
 * it from the main thread: for "qt" it makes the QCoreApplication. */
int ex_loop_kind_of(const char *name, ex_loop_kind *kind, const char **why);

/* Run `map` in the calling thread until it is empty (!ac_map_alive):
 * ac_loop with waits of `timeout_ms`, a GMainContext of the thread's own
 * with the map's GSource, a uv loop, a libevent event_base, an sd_event
 * or a libev loop of the thread's own, or a QEventLoop. 0 or a negative
 * errno. */
int ex_run_map(ac_map *map, ex_loop_kind kind, int timeout_ms);

/* From now on SIGINT and SIGTERM close every channel of the `n` maps
 * (through ac_map_call, so from any thread), which ends their loops.
 * Blocks both signals in the calling thread, so call it before creating
 * other threads: they inherit the mask and a thread of its own waits. */
void ex_close_maps_on_signals(ac_map **maps, int n);

/* run_qt.cpp: the QCoreApplication (made once); a QEventLoop running `map`
 * until it is done; a QEventLoop calling `step` once per pass, as an idle
 * callback, until it returns false. */
void ex_qt_app(void);
int ex_run_qt(ac_map *map);
void ex_qt_idle(bool (*step)(void));

/* run_loop.c: an sd_event loop calling `step` from a defer source (sd-event's
 * idle callback) until it returns false. run_ev.c (libev's ev.h and
 * libevent's headers cannot meet in one file): a libev loop running `map`;
 * one calling `step` from an ev_idle until it returns false. */
void ex_sdevent_idle(bool (*step)(void));
int ex_run_ev(ac_map *map);
void ex_ev_idle(bool (*step)(void));

#ifdef __cplusplus
}
#endif

#endif
