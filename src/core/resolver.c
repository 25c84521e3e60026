/* Name lookups off the map's thread: getaddrinfo on a small pool of worker
 * threads, so the system's own rules apply (/etc/hosts, nsswitch, the
 * resolver's options) as in GIO and libuv. The pool grows with demand up
 * to MAX_WORKERS and shrinks when idle: unlike libuv's fixed four threads,
 * a few lookups stuck on a silent nameserver do not hold up the others.
 * An answer goes back to its map with ac_map_call(); a lookup cancelled
 * before a worker took it is dropped without asking the resolver.
 *
 * Askers of the same name and family on one map while a lookup is in
 * flight share it (as Go's resolver does), so a thousand connects to one
 * name cost two lookups, not two thousand; nothing is kept once the answer
 * is given. */
#include "internal.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Enough for every lookup a busy client has in flight at once against a
 * slow nameserver (each holds a thread for up to the resolver's timeout),
 * and far below what a process can afford: stacks are small. */
#define MAX_WORKERS 64
#define IDLE_EXIT_S 5
#define STACK_SIZE (256 * 1024)

/* One asker of a lookup (map thread only). */
struct ac__ask {
    ac__ask *prev, *next;
    ac__lookup *l;
    void *owner;
    ac__lookup_fn done;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;
    ac__lookup *head, *tail;
    unsigned workers, idle, queued;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL,
          0, 0, 0};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A child of fork() has none of the workers: start the pool afresh. */
static void pool_after_fork(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.work, NULL);
    pool.head = pool.tail = NULL;
    pool.workers = pool.idle = pool.queued = 0;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, pool_after_fork);
}

int ac__gai_error(int gai, int sys_errno)
{
    switch (gai) {
    case 0:
        return 0;
    case EAI_NONAME:
        return AC_EAI_NONAME;
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return AC_EAI_NODATA;
    case EAI_AGAIN:
        return AC_EAI_AGAIN;
    case EAI_FAIL:
        return AC_EAI_FAIL;
    case EAI_MEMORY:
        return ENOMEM;
    case EAI_SYSTEM:
        return sys_errno ? sys_errno : AC_EAI_OTHER;
    default:
        return AC_EAI_OTHER;
    }
}

/* Two references: the map side's (dropped when the last ask is cancelled,
 * or once the answer was handed over) and the worker's (carried by the
 * call that brings the answer, or dropped when the map refuses that
 * call). Either may go first: a map being freed refuses the call while its
 * channels' cancels are still to come. */
static void lookup_unref(ac__lookup *l)
{
    if (__atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        freeaddrinfo(l->res);
        ac_map_unref(l->map);
        free(l);
    }
}

/* ---- the map's table of lookups in flight (map thread only) ---- */

static unsigned hash_of(const char *host, int family)
{
    unsigned h = 2166136261u; /* FNV-1a */

    while (*host)
        h = (h ^ (unsigned char)*host++) * 16777619u;
    return h ^ (unsigned)family;
}

static ac__lookup **slot_of(ac_map *map, unsigned hash)
{
    return &map->lookups[hash & (map->lookups_cap - 1)];
}

static ac__lookup *table_find(ac_map *map, const char *host, int family)
{
    unsigned h = hash_of(host, family);
    ac__lookup *l;

    if (!map->lookups_cap)
        return NULL;
    for (l = *slot_of(map, h); l; l = l->hnext)
        if (l->hash == h && l->family == family && !strcmp(l->host, host))
            return l;
    return NULL;
}

/* Rehashed into twice the buckets as it fills; without memory for that,
 * chains get longer, and without any table the lookup is not shared. */
static void table_add(ac_map *map, ac__lookup *l)
{
    ac__lookup **pp;

    if (map->nlookups >= map->lookups_cap) {
        size_t cap = map->lookups_cap ? map->lookups_cap * 2 : 16, i;
        ac__lookup **t = calloc(cap, sizeof(*t)), *e;

        if (!t && !map->lookups_cap)
            return;
        if (t) {
            for (i = 0; i < map->lookups_cap; i++)
                while ((e = map->lookups[i])) {
                    map->lookups[i] = e->hnext;
                    e->hnext = t[e->hash & (cap - 1)];
                    t[e->hash & (cap - 1)] = e;
                }
            free(map->lookups);
            map->lookups = t;
            map->lookups_cap = cap;
        }
    }
    pp = slot_of(map, l->hash);
    l->hnext = *pp;
    *pp = l;
    map->nlookups++;
}

static void table_remove(ac_map *map, ac__lookup *l)
{
    ac__lookup **pp;

    if (!map->lookups_cap)
        return;
    for (pp = slot_of(map, l->hash); *pp; pp = &(*pp)->hnext)
        if (*pp == l) {
            *pp = l->hnext;
            map->nlookups--;
            return;
        }
}

void ac__lookups_free(ac_map *map)
{
    free(map->lookups);
    map->lookups = NULL;
    map->lookups_cap = map->nlookups = 0;
}

static void ask_unlink(ac__ask *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        a->l->asks = a->next;
    if (a->next)
        a->next->prev = a->prev;
}

/* In the map's thread: hand the answer to every ask still waiting. An
 * asker's handler may cancel other asks of this lookup (closing their
 * channels), or ask for the same name again (a new lookup: this one has
 * left the table). */
static void lookup_arrived(void *data)
{
    ac__lookup *l = data;
    ac__ask *a;

    if (!l->gone) {
        l->gone = true;
        table_remove(l->map, l);
        while ((a = l->asks)) {
            void *owner = a->owner;
            ac__lookup_fn done = a->done;

            ask_unlink(a);
            free(a);
            done(owner, l);
        }
        lookup_unref(l);
    }
    lookup_unref(l);
}

static void post(ac__lookup *l)
{
    struct timespec ms = {0, 1000000};
    int r, tries;

    /* -ENOMEM is worth a few retries: the owner waits for this answer,
     * and only its connect timeout would end the wait otherwise. */
    for (tries = 0; tries < 1000; tries++) {
        r = ac_map_call(l->map, lookup_arrived, l);
        if (r != -ENOMEM)
            break;
        nanosleep(&ms, NULL);
    }
    if (r < 0) /* the map is being freed: nobody will take the answer */
        lookup_unref(l);
}

static void resolve(ac__lookup *l)
{
    struct addrinfo hints;
    int r;

    if (__atomic_load_n(&l->cancelled, __ATOMIC_ACQUIRE))
        return;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = l->family;
    hints.ai_socktype = SOCK_STREAM;
    errno = 0;
    r = getaddrinfo(l->host, NULL, &hints, &l->res);
    if (r != 0) {
        l->res = NULL;
        l->err = ac__gai_error(r, errno);
    }
}

static void *worker(void *arg)
{
    struct timespec until;
    ac__lookup *l;
    int r = 0;

    (void)arg;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        if (!pool.head) {
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += IDLE_EXIT_S;
            pool.idle++;
            while (!pool.head && r != ETIMEDOUT)
                r = pthread_cond_timedwait(&pool.work, &pool.lock, &until);
            pool.idle--;
            if (!pool.head) {
                pool.workers--;
                pthread_mutex_unlock(&pool.lock);
                return NULL;
            }
            r = 0;
        }
        l = pool.head;
        pool.head = l->next;
        if (!pool.head)
            pool.tail = NULL;
        pool.queued--;
        pthread_mutex_unlock(&pool.lock);
        resolve(l);
        post(l);
        pthread_mutex_lock(&pool.lock);
    }
}

/* A new worker, with every signal blocked: signals are the program's
 * business, on its own threads. Called with the pool locked. */
static int spawn(void)
{
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_t t;
    int r;

    if (pthread_attr_init(&attr) != 0)
        return -ENOMEM;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, STACK_SIZE);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&t, &attr, worker, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0)
        return -r;
    pool.workers++;
    return 0;
}

static ac__ask *ask_add(ac__lookup *l, void *owner, ac__lookup_fn done)
{
    ac__ask *a = malloc(sizeof(*a));

    if (!a)
        return NULL;
    a->l = l;
    a->owner = owner;
    a->done = done;
    a->prev = NULL;
    a->next = l->asks;
    if (l->asks)
        l->asks->prev = a;
    l->asks = a;
    return a;
}

/* A new lookup, queued for a worker; NULL (errno set) when neither memory
 * nor a thread can be had. */
static ac__lookup *lookup_new(ac_map *map, const char *host, int family)
{
    size_t n = strlen(host) + 1;
    ac__lookup *l = calloc(1, sizeof(*l) + n);
    int r = 0;

    if (!l)
        return NULL;
    memcpy(l->host, host, n);
    l->family = family;
    l->hash = hash_of(host, family);
    l->refs = 2;
    l->map = ac_map_ref(map);
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&pool.lock);
    /* every queued lookup has an idle worker of its own, or a new one:
     * one lookup never waits behind another while the pool can grow */
    if (pool.queued >= pool.idle && pool.workers < MAX_WORKERS)
        r = spawn();
    if (r < 0 && pool.workers == 0) {
        pthread_mutex_unlock(&pool.lock);
        ac_map_unref(map);
        free(l);
        errno = -r;
        return NULL;
    }
    if (pool.tail)
        pool.tail->next = l;
    else
        pool.head = l;
    pool.tail = l;
    pool.queued++;
    pthread_cond_signal(&pool.work);
    pthread_mutex_unlock(&pool.lock);
    return l;
}

ac__ask *ac__lookup_start(ac_map *map, const char *host, int family,
                          void *owner, ac__lookup_fn done)
{
    ac__lookup *l = table_find(map, host, family);
    ac__ask *a;

    if (l)
        return ask_add(l, owner, done);
    l = lookup_new(map, host, family);
    if (!l)
        return NULL;
    a = ask_add(l, owner, done);
    if (!a) { /* the worker will answer nobody */
        l->gone = true;
        __atomic_store_n(&l->cancelled, 1, __ATOMIC_RELEASE);
        lookup_unref(l);
        return NULL;
    }
    table_add(map, l);
    return a;
}

/* The last ask gone, nobody waits: a worker that has not begun the lookup
 * skips it. */
void ac__lookup_cancel(ac__ask *a)
{
    ac__lookup *l = a->l;

    ask_unlink(a);
    free(a);
    if (l->asks || l->gone)
        return;
    l->gone = true;
    table_remove(l->map, l);
    __atomic_store_n(&l->cancelled, 1, __ATOMIC_RELEASE);
    lookup_unref(l);
}
