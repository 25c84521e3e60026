/* LD_PRELOAD probe for GLib programs: a 1 ms timeout on the default main
 * context, added before main() runs, records when the loop first ran and
 * the longest gap between two of its runs; written at exit to the file
 * named by AC_PROBE_OUT as "FIRST_MS MAX_GAP_MS RUNS". A loop that stops
 * (for a blocking DNS lookup, a burst of handlers) shows as a gap. Only
 * the program named by AC_PROBE_PROG is probed (xvfb-run's Xvfb, xauth and
 * shells inherit the preload too). */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int active;

static gint64 start_us, last_us, max_gap_us, first_us = -1;
static long runs;

static gboolean tick(gpointer data)
{
    gint64 now = g_get_monotonic_time();

    (void)data;
    if (first_us < 0)
        first_us = now - start_us;
    else if (now - last_us > max_gap_us)
        max_gap_us = now - last_us;
    last_us = now;
    runs++;
    return G_SOURCE_CONTINUE;
}

__attribute__((constructor)) static void probe_start(void)
{
    const char *prog = getenv("AC_PROBE_PROG");

    if (!prog || strcmp(prog, program_invocation_short_name) != 0)
        return;
    active = 1;
    start_us = g_get_monotonic_time();
    g_timeout_add(1, tick, NULL);
}

__attribute__((destructor)) static void probe_end(void)
{
    const char *out = getenv("AC_PROBE_OUT");
    FILE *f;

    if (!active || !out || !(f = fopen(out, "w")))
        return;
    fprintf(f, "%.1f %.1f %ld\n", first_us / 1000.0, max_gap_us / 1000.0,
            runs);
    fclose(f);
}
