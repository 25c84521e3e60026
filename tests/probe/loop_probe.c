/* LD_PRELOAD probe for GLib programs (Qt's default dispatcher is GLib's
 * too): a 1 ms timeout on the default main context, added before main()
 * runs, records when the loop first ran and the gaps between its runs;
 * written at exit to the file named by AC_PROBE_OUT as
 * "FIRST_MS MAX_GAP_MS RUNS P99_GAP_MS". A loop that stops (for a blocking
 * DNS lookup, a burst of handlers) shows as a gap. SIGUSR1 starts the gaps
 * again (a bench measures one burst, not the window's start-up). Only the
 * program named by AC_PROBE_PROG is probed (xvfb-run's Xvfb, xauth and
 * shells inherit the preload too). */
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gaps in 0.1 ms steps up to 10 s; longer ones land in the last */
#define STEPS 100000

static int active;

static gint64 start_us, last_us, max_gap_us, first_us = -1;
static long runs;
static unsigned *gaps;

static gboolean tick(gpointer data)
{
    gint64 now = g_get_monotonic_time(), gap = now - last_us;

    (void)data;
    if (first_us < 0) {
        first_us = now - start_us;
    } else {
        if (gap > max_gap_us)
            max_gap_us = gap;
        gaps[gap / 100 < STEPS ? gap / 100 : STEPS - 1]++;
    }
    last_us = now;
    runs++;
    return G_SOURCE_CONTINUE;
}

static gboolean restart(gpointer data)
{
    (void)data;
    max_gap_us = 0;
    runs = 0;
    memset(gaps, 0, STEPS * sizeof(*gaps));
    last_us = g_get_monotonic_time();
    return G_SOURCE_CONTINUE;
}

__attribute__((constructor)) static void probe_start(void)
{
    const char *prog = getenv("AC_PROBE_PROG");

    if (!prog || strcmp(prog, program_invocation_short_name) != 0)
        return;
    if (!(gaps = calloc(STEPS, sizeof(*gaps))))
        return;
    active = 1;
    start_us = g_get_monotonic_time();
    g_timeout_add(1, tick, NULL);
    g_unix_signal_add(SIGUSR1, restart, NULL);
}

static double p99_ms(void)
{
    long seen = 0, n = 0, want;
    int i;

    for (i = 0; i < STEPS; i++)
        n += gaps[i];
    want = (n * 99 + 99) / 100;
    for (i = 0; i < STEPS && n; i++)
        if ((seen += gaps[i]) >= want)
            return (i + 1) / 10.0; /* the step's upper end */
    return 0;
}

__attribute__((destructor)) static void probe_end(void)
{
    const char *out = getenv("AC_PROBE_OUT");
    FILE *f;

    if (!active || !out || !(f = fopen(out, "w")))
        return;
    fprintf(f, "%.1f %.1f %ld %.1f\n", first_us / 1000.0, max_gap_us / 1000.0,
            runs, p99_ms());
    fclose(f);
}
