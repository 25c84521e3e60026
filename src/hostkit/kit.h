/* Private to the host kit: the state of one case, the checks, and the
 * helpers the cases share (run.c). Cases live one area per file. */
#ifndef ASYNCORE_HOSTKIT_KIT_H
#define ASYNCORE_HOSTKIT_KIT_H

#include "ac_config.h"
#include <asyncore/hostkit.h>
#include <pthread.h>
#include <stdbool.h>

#define KIT__HIDDEN __attribute__((visibility("hidden")))

/* socketpair/socket flags where the system has them (the kit's own
 * descriptors; close-on-exec only matters to a program that forks) */
#if AC_HAVE_SOCK_CLOEXEC
#define KIT_CLOEXEC SOCK_CLOEXEC
#else
#define KIT_CLOEXEC 0
#endif

typedef struct kit {
    const ac_hostkit_host *h;
    ac_map *map;
    void *host;
    bool attached;          /* attach succeeded: teardown is owed */
    ac_dispatcher listener; /* keeps the map alive, as in a real server */
    bool failed;
    char why[512];          /* the first failure */
    char note[256];         /* measurements, for the report */

    /* the watchdog: ends a step that would never return */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool quit, armed, rescued;
    volatile bool *rescue_flag;
    double deadline_ms;
    unsigned long gen;
} kit;

/* What a case needs of the host; skipped (and said so) without it. */
enum {
    KIT_NESTED = 1,     /* host->nested */
    KIT_ITERATIONS = 2, /* host->iterations */
    KIT_DETACH = 4      /* host->detach: a host apart from the map */
};

typedef struct kit_case {
    const char *name;
    void (*run)(kit *k);
    unsigned needs;
} kit_case;

/* The checks: record the first failure (file:line and the message) and
 * make the case return. */
KIT__HIDDEN void kit_fail(kit *k, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define KIT_CHECK(k, cond, ...)                                             \
    do {                                                                    \
        if (!(cond)) {                                                      \
            kit_fail(k, __LINE__, __VA_ARGS__);                             \
            return;                                                         \
        }                                                                   \
    } while (0)
KIT__HIDDEN void kit_note(kit *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

KIT__HIDDEN double kit_now_ms(void);
/* One step of the host; fails the case on a negative result. */
KIT__HIDDEN int kit_step(kit *k, int timeout_ms);
/* Steps of the host with no bound (step(-1)), as `while (!*flag) step();`
 * is written, until *flag: the watchdog ends it after `limit_ms` with a
 * call that sets *flag. Returns the steps taken, or -1 if it hung (the
 * case has failed then). */
KIT__HIDDEN int kit_until(kit *k, volatile bool *flag, int limit_ms);
/* Steps that do not wait, until the host has nothing left to do at once
 * (its start-up work, what the case set up). */
KIT__HIDDEN void kit_settle(kit *k);
KIT__HIDDEN unsigned long kit_iterations(kit *k);
/* A connected socketpair end adopted by `d` (class `klass`, declared
 * interest `events`); returns the other end, or -1 (the case failed). */
KIT__HIDDEN int kit_pair(kit *k, ac_dispatcher *d,
                         const ac_dispatcher_class *klass, unsigned events);
/* send(2) without SIGPIPE (a peer the case closed may be gone). */
KIT__HIDDEN ssize_t kit_send(int fd, const void *buf, size_t len);
/* Run `fn(arg)` in a new thread after `delay_ms`; kit_join waits for it. */
KIT__HIDDEN int kit_later(pthread_t *t, int delay_ms, void (*fn)(void *),
                          void *arg);
KIT__HIDDEN void kit_join(pthread_t t);

/* The cases, by area. */
KIT__HIDDEN extern const kit_case kit_step_cases[];
KIT__HIDDEN extern const kit_case kit_timer_cases[];
KIT__HIDDEN extern const kit_case kit_channel_cases[];
KIT__HIDDEN extern const kit_case kit_budget_cases[];

#endif
