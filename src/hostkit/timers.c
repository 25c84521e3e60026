/* Timers and calls on the host (C-80, C-81, C-84): deadline order, never
 * early, no drift, a timer stopped by another due in the same pass, and
 * calls from four threads each run once, in each thread's order. */
#include "kit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    ac_timer t;
    int id, *order, *n;
    double start, at[16];
    int fired;
    volatile bool *done;
    int want;
} tm;

static void tm_fired(ac_timer *t)
{
    tm *p = AC_CONTAINER_OF(t, tm, t);

    if (p->fired < 16)
        p->at[p->fired] = kit_now_ms();
    p->fired++;
    if (p->order)
        p->order[(*p->n)++] = p->id;
    if (p->done && p->fired == p->want)
        *p->done = true;
}

/* Deadline order (ties: start order), each at or after its timeout. */
static void order(kit *k)
{
    static const int after[4] = {30, 10, 20, 10};
    static const int expect[4] = {1, 3, 2, 0};
    tm ts[4];
    int seq[8], n = 0, i, steps;
    volatile bool done = false;

    memset(ts, 0, sizeof(ts));
    kit_settle(k);
    for (i = 0; i < 4; i++) {
        ts[i] = (tm){.id = i, .order = seq, .n = &n, .want = 1};
        ac_timer_init(&ts[i].t, k->map, tm_fired, NULL);
    }
    ts[0].done = &done; /* the last one */
    for (i = 0; i < 4; i++) {
        ts[i].start = kit_now_ms();
        ac_timer_start(&ts[i].t, (uint64_t)after[i], 0);
    }
    steps = kit_until(k, &done, 3000);
    for (i = 0; i < 4; i++)
        ac_timer_stop(&ts[i].t);
    if (steps < 0)
        return;
    KIT_CHECK(k, n == 4, "%d of 4 timers fired", n);
    for (i = 0; i < 4; i++) {
        KIT_CHECK(k, seq[i] == expect[i],
                  "fired in the order %d %d %d %d, not 1 3 2 0", seq[0],
                  seq[1], seq[2], seq[3]);
        KIT_CHECK(k, ts[i].at[0] - ts[i].start >= after[i],
                  "a %d ms timer fired after %.2f ms", after[i],
                  ts[i].at[0] - ts[i].start);
    }
}

/* A repeating timer keeps its period's grid: lateness does not add up. */
static void drift(kit *k)
{
    tm p = {.want = 10};
    volatile bool done = false;
    int steps, i;

    kit_settle(k);
    p.done = &done;
    ac_timer_init(&p.t, k->map, tm_fired, NULL);
    p.start = kit_now_ms();
    ac_timer_start(&p.t, 20, 20);
    steps = kit_until(k, &done, 3000);
    ac_timer_stop(&p.t);
    if (steps < 0)
        return;
    for (i = 0; i < 10; i++)
        KIT_CHECK(k, p.at[i] - p.start >= 20.0 * (i + 1),
                  "fire %d came %.2f ms after the start, early", i + 1,
                  p.at[i] - p.start);
    KIT_CHECK(k, p.at[9] - p.start < 200.0 + 80.0,
              "the 10th fire of a 20 ms timer came at %.0f ms: drift",
              p.at[9] - p.start);
    kit_note(k, "10th fire at %.1f ms", p.at[9] - p.start);
}

/* Two timers due in the same pass; the first stops the second, which then
 * does not fire. */
static tm *victim;

static void stop_victim(ac_timer *t)
{
    tm_fired(t);
    if (victim && &victim->t != t)
        ac_timer_stop(&victim->t);
}

static void stop_other(kit *k)
{
    tm a = {.want = 1}, b = {.want = 1};
    volatile bool done = false;
    struct timespec ts = {0, 30 * 1000000L};
    int steps;

    kit_settle(k);
    a.done = b.done = &done;
    ac_timer_init(&a.t, k->map, stop_victim, NULL);
    ac_timer_init(&b.t, k->map, stop_victim, NULL);
    victim = &b;
    ac_timer_start(&a.t, 10, 0);
    ac_timer_start(&b.t, 10, 0);
    nanosleep(&ts, NULL); /* both due before the next step */
    steps = kit_until(k, &done, 3000);
    if (steps >= 0)
        kit_step(k, 50);
    ac_timer_stop(&a.t);
    ac_timer_stop(&b.t);
    victim = NULL;
    if (steps < 0)
        return;
    KIT_CHECK(k, a.fired == 1 && b.fired == 0,
              "the first fired %d time(s), the one it stopped %d", a.fired,
              b.fired);
}

/* ---- C-84: calls from four threads ---- */

#define THREADS 4
#define CALLS 20000

typedef struct {
    kit *k;
    int next[THREADS], bad, total;
    volatile bool done;
} tally;

typedef struct {
    tally *t;
    int thread, seq;
} call;

static call calls[THREADS][CALLS];

static void counted(void *data)
{
    call *c = data;
    tally *t = c->t;

    if (t->next[c->thread] != c->seq)
        t->bad++;
    t->next[c->thread] = c->seq + 1;
    if (++t->total == THREADS * CALLS)
        t->done = true;
}

typedef struct {
    ac_map *map;
    int thread, refused;
} caller;

static void *call_all(void *arg)
{
    caller *c = arg;
    int i;

    for (i = 0; i < CALLS; i++)
        if (ac_map_call(c->map, counted, &calls[c->thread][i]) < 0)
            c->refused++;
    return NULL;
}

static void threads(kit *k)
{
    tally t = {.k = k};
    caller cs[THREADS];
    pthread_t th[THREADS];
    int i, j, started = 0, steps, refused = 0;

    for (i = 0; i < THREADS; i++)
        for (j = 0; j < CALLS; j++)
            calls[i][j] = (call){&t, i, j};
    for (i = 0; i < THREADS; i++) {
        cs[i] = (caller){k->map, i, 0};
        if (pthread_create(&th[i], NULL, call_all, &cs[i]) == 0)
            started++;
        else
            break;
    }
    steps = started == THREADS ? kit_until(k, &t.done, 20000) : -1;
    for (i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        refused += cs[i].refused;
    }
    while (t.total < started * CALLS - refused && kit_step(k, 100) >= 0 &&
           !k->failed)
        ; /* let what was queued run before `t` goes */
    KIT_CHECK(k, started == THREADS, "could not start the threads");
    if (steps < 0)
        return;
    KIT_CHECK(k, refused == 0, "%d calls refused", refused);
    KIT_CHECK(k, t.total == THREADS * CALLS, "%d of %d calls ran", t.total,
              THREADS * CALLS);
    KIT_CHECK(k, t.bad == 0, "%d calls ran out of their thread's order",
              t.bad);
    kit_note(k, "%d calls in %d steps", t.total, steps);
}

const kit_case kit_timer_cases[] = {
    {"timers/order", order, 0},
    {"timers/no-drift", drift, 0},
    {"timers/stop-other", stop_other, 0},
    {"calls/four-threads", threads, 0},
    {NULL, NULL, 0},
};
