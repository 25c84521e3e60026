/**
 * @file
 * hostkit.h - the host contract as a test kit, for adapter authors.
 *
 * An adapter that runs a map inside some event loop (asyncore.h,
 * "Readiness hooks") must keep a handful of promises that are easy to
 * break and hard to see: a step of the loop runs whatever ended its wait
 * (a timer's deadline, a descriptor, a call from another thread, pending
 * readiness), nothing of the map's runs before the wait, an idle map never
 * wakes the loop, a nested loop leaves the map alone. The kit checks them
 * against a real instance of your loop, over real sockets on loopback.
 *
 * Describe the loop in an ac_hostkit_host (how to attach a map to a new
 * instance of it, one step of it, teardown) and call ac_hostkit_run():
 *
 *   static const ac_hostkit_host my_host = {
 *       .name = "my-loop", .attach = my_attach, .step = my_step,
 *       .teardown = my_teardown,
 *   };
 *   int failed = ac_hostkit_run(&my_host, NULL);   (0: every case passed)
 *
 * It prints one line per case ("ok", "FAIL" with the reason, or "skip"
 * with what the host lacks) and a summary line. Link with
 * `pkg-config --libs asyncore-hostkit` (a static library; it uses threads
 * for the cross-thread cases). The library's own hosts (select, poll,
 * epoll, the hooks host, GLib, libuv, libevent and Qt, each mode) run
 * through the same kit in its test suite.
 *
 * The kit is a test program's helper: it runs in the calling thread, uses
 * the host's loop for a few seconds per case, and takes descriptors and
 * threads of its own while it runs. A case that would hang (a step that
 * never returns) is ended by a call from a watchdog thread after a few
 * seconds and reported as a failure: a host must at least run calls from
 * other threads for the kit to finish.
 */
#ifndef ASYNCORE_HOSTKIT_H
#define ASYNCORE_HOSTKIT_H

#include <asyncore/asyncore.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A host loop as the kit drives it. `attach`, `step` and `teardown` are
 * required; the rest are optional (NULL skips the cases that need them).
 */
typedef struct ac_hostkit_host {
    const char *name; /**< for the report */
    /** The backend of the maps the kit makes for this host
     * (AC_BACKEND_DEFAULT: epoll where the build has it, else poll); a
     * host that waits on the map's epoll descriptor needs epoll. */
    ac_backend backend;
    /** Whether `step` may be called from inside one of the host's own
     * callbacks (a nested loop, as a modal dialog runs one): true for
     * GLib, Qt and ac_poll_once; false for libuv and libevent, whose loops
     * refuse it. */
    bool nested;
    void *data; /**< passed to attach */

    /** Make a new instance of the loop (or take the thread's), attach
     * `map` to it, and keep what teardown needs in *host. 0 or a
     * negative errno. */
    int (*attach)(void *data, ac_map *map, void **host);
    /** One step of the loop, as its users write it:
     * g_main_context_iteration(ctx, TRUE), uv_run(loop, UV_RUN_ONCE), ...
     * With `timeout_ms` -1 the step waits as long as the loop's own step
     * does; otherwise it returns after about `timeout_ms` at the latest
     * (a timer of the loop's own bounds it), and 0 must not block. Returns
     * >= 0, or a negative errno that fails the case. */
    int (*step)(void *host, int timeout_ms);
    /** Detach the map from the loop: its channels stay open (the map's
     * own backend waits for them again). Optional. */
    int (*detach)(void *host);
    /** Undo attach: called after the map was freed (while attached) or
     * detached. Must leave no descriptor or thread of the loop's behind
     * that a second attach would not reuse. */
    void (*teardown)(void *host);
    /** Iterations of the loop so far (prepare calls, passes, ...), for the
     * cases that count wake-ups. Optional. */
    unsigned long (*iterations)(void *host);
} ac_hostkit_host;

/** How ac_hostkit_run() runs; NULL takes the defaults. */
typedef struct ac_hostkit_opts {
    FILE *out;          /**< the report (NULL: stdout) */
    const char *filter; /**< run only cases whose name contains this */
    bool verbose;       /**< print the measurements of passing cases too */
} ac_hostkit_opts;

/** Run every case of the host contract against `host` and report each.
 * Returns the number of failed cases (0: all passed), or -EINVAL when
 * `host` lacks attach, step or teardown. Call it outside any loop, from
 * the thread the host's loop belongs to. */
AC_EXTERN int ac_hostkit_run(const ac_hostkit_host *host,
                             const ac_hostkit_opts *opts);

/** The cases' names, in the order they run, NULL-terminated. */
AC_EXTERN const char *const *ac_hostkit_cases(void);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCORE_HOSTKIT_H */
