/* ac_map_call (CONFORMANCE C-84, C-85) on every host: 4 threads x
 * 100,000 calls, each run exactly once in the map's thread and in each
 * thread's order; a call wakes a blocked map at once; calls racing
 * ac_map_free either run before it returns or are refused. ThreadSanitizer
 * runs this file in CI. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS 4
#define CALLS 100000

static double ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* An idle channel: calls alone do not keep a map alive. */
static int keeper_peer;

static tchan *keeper(ac_map *map)
{
    tchan *t = tchan_new(map);
    int sv[2];

    t_socketpair(sv);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&t->d, sv[0]), 0);
    ac_set_interest(&t->d, AC_READ);
    keeper_peer = sv[1];
    return t;
}

static void drop_keeper(tchan *t)
{
    ac_close(&t->d);
    close(keeper_peer);
}

/* ---- C-84: exactly once, in order, in the map's thread ---- */

static pthread_t map_thread;
static long next_seq[THREADS];  /* touched only in the map's thread */
static long ran, out_of_order, wrong_thread;

static void counted(void *data)
{
    uintptr_t v = (uintptr_t)data;
    int th = (int)(v >> 32);
    long seq = (long)(v & 0xffffffffu);

    if (!pthread_equal(pthread_self(), map_thread))
        wrong_thread++;
    if (seq != next_seq[th])
        out_of_order++;
    next_seq[th] = seq + 1;
    ran++;
}

typedef struct {
    ac_map *map;
    int id;
    long refused;
} caller;

static void *call_many(void *arg)
{
    caller *c = arg;
    long i;

    for (i = 0; i < CALLS; i++) {
        uintptr_t v = ((uintptr_t)c->id << 32) | (uintptr_t)i;
        while (ac_map_call(c->map, counted, (void *)v) == -ENOMEM)
            c->refused++;
    }
    return NULL;
}

static void test_many_threads(void)
{
    ac_map *map = t_map_new();
    tchan *k = keeper(map);
    pthread_t th[THREADS];
    caller c[THREADS];
    double t0;
    int i;

    map_thread = pthread_self();
    memset(next_seq, 0, sizeof(next_seq));
    ran = out_of_order = wrong_thread = 0;
    for (i = 0; i < THREADS; i++) {
        c[i] = (caller){.map = map, .id = i};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, call_many, &c[i]), 0);
    }
    t0 = ms_now();
    while (ran < (long)THREADS * CALLS && ms_now() - t0 < 60000)
        t_step(map, 100);
    for (i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    t_step(map, 0);
    CU_ASSERT_EQUAL(ran, (long)THREADS * CALLS);
    CU_ASSERT_EQUAL(out_of_order, 0);
    CU_ASSERT_EQUAL(wrong_thread, 0);
    for (i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL(next_seq[i], CALLS);
    CU_ASSERT_FALSE(ac_map_timeout(map) == 0); /* nothing left pending */
    drop_keeper(k);
    t_map_done(map);
}

/* ---- C-85: a call wakes a map blocked in its wait ---- */

static double called_at;

static void note_time(void *data)
{
    (void)data;
    called_at = ms_now();
}

static void *call_later(void *arg)
{
    usleep(100000);
    ac_map_call(arg, note_time, NULL);
    return NULL;
}

static void test_wakes_blocked_map(void)
{
    ac_map *map = t_map_new();
    tchan *k = keeper(map);
    pthread_t th;
    double t0, waited;

    called_at = 0;
    t0 = ms_now();
    pthread_create(&th, NULL, call_later, map);
    while (called_at == 0 && ms_now() - t0 < 10000)
        t_step(map, 5000); /* blocks: only the call can end it early */
    waited = ms_now() - t0;
    pthread_join(th, NULL);
    CU_ASSERT(called_at > 0);
    CU_ASSERT(waited < 3000); /* not the 5 s wait: the call woke it */
    drop_keeper(k);
    t_map_done(map);
}

/* Calls made from the map's own thread run later, not inside the call;
 * calls alone keep the loop alive until they ran. */
static int self_calls;

static void call_again(void *data)
{
    ac_map *map = data;

    if (++self_calls < 3)
        CU_ASSERT_EQUAL(ac_map_call(map, call_again, map), 0);
}

static void test_calls_from_own_thread(void)
{
    ac_map *map = t_map_new();

    self_calls = 0;
    CU_ASSERT_FALSE(ac_map_alive(map));
    CU_ASSERT_EQUAL(ac_map_call(map, call_again, map), 0);
    CU_ASSERT_EQUAL(self_calls, 0);
    CU_ASSERT_TRUE(ac_map_alive(map));
    t_run_host(map, 3000);
    CU_ASSERT_EQUAL(self_calls, 3);
    CU_ASSERT_FALSE(ac_map_alive(map));
    CU_ASSERT_EQUAL(ac_map_call(NULL, call_again, map), -EINVAL);
    CU_ASSERT_EQUAL(ac_map_call(map, NULL, map), -EINVAL);
    t_map_done(map);
}

/* ---- C-85: calls racing ac_map_free ---- */

static long accepted[THREADS], executed;
static volatile int freed; /* set once ac_map_free returned */
static long ran_after_free;

static void racing_call(void *data)
{
    (void)data;
    if (__atomic_load_n(&freed, __ATOMIC_ACQUIRE))
        ran_after_free++;
    executed++;
}

static void *race(void *arg)
{
    caller *c = arg;
    int r;

    /* the reference keeps the map's memory valid across ac_map_free */
    while ((r = ac_map_call(c->map, racing_call, NULL)) != -ESHUTDOWN)
        if (r == 0)
            accepted[c->id]++;
    ac_map_unref(c->map);
    return NULL;
}

static void test_race_free(void)
{
    ac_map *map = t_map_new();
    tchan *k = keeper(map);
    pthread_t th[THREADS];
    caller c[THREADS];
    long total = 0;
    double t0 = ms_now();
    int i;

    executed = ran_after_free = 0;
    freed = 0;
    for (i = 0; i < THREADS; i++) {
        accepted[i] = 0;
        c[i] = (caller){.map = ac_map_ref(map), .id = i};
        pthread_create(&th[i], NULL, race, &c[i]);
    }
    while (executed < 20000 && ms_now() - t0 < 10000)
        t_step(map, 10);
    drop_keeper(k);
    CU_ASSERT_EQUAL(ac_map_free(map), 0); /* threads still calling */
    __atomic_store_n(&freed, 1, __ATOMIC_RELEASE);
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        total += accepted[i];
    }
    CU_ASSERT(executed >= 20000);
    CU_ASSERT_EQUAL(executed, total); /* every accepted call ran once */
    CU_ASSERT_EQUAL(ran_after_free, 0);
    t_map_done(t_map_new()); /* the harness lets go of the freed map's host */
}

static CU_TestInfo tests[] = {
    {"many_threads", test_many_threads},
    {"wakes_blocked_map", test_wakes_blocked_map},
    {"calls_from_own_thread", test_calls_from_own_thread},
    {"race_free", test_race_free},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("calls", tests);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
