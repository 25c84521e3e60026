/* The host kit's runner: a fresh map and host per case, with a listening
 * channel open (a map that is never empty, as a server's), a watchdog for
 * steps that would never return, a descriptor count before and after, and
 * one report line per case. */
#include "kit.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const kit_case *const areas[] = {kit_step_cases, kit_budget_cases,
                                         kit_timer_cases, kit_channel_cases};

double kit_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void kit_fail(kit *k, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (k->failed)
        return;
    k->failed = true;
    n = snprintf(k->why, sizeof(k->why), "line %d: ", line);
    va_start(ap, fmt);
    vsnprintf(k->why + n, sizeof(k->why) - (size_t)n, fmt, ap);
    va_end(ap);
}

void kit_note(kit *k, const char *fmt, ...)
{
    va_list ap;
    size_t n = strlen(k->note);

    if (n && n + 2 < sizeof(k->note)) {
        strcpy(k->note + n, ", ");
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(k->note + n, sizeof(k->note) - n, fmt, ap);
    va_end(ap);
}

int kit_step(kit *k, int timeout_ms)
{
    int r = k->h->step(k->host, timeout_ms);

    if (r < 0)
        kit_fail(k, __LINE__, "step(%d) failed: %s", timeout_ms,
                 ac_strerror(r));
    return r;
}

unsigned long kit_iterations(kit *k)
{
    return k->h->iterations ? k->h->iterations(k->host) : 0;
}

void kit_settle(kit *k)
{
    int i;

    for (i = 0; i < 10; i++)
        if (k->h->step(k->host, 0) <= 0)
            break;
}

/* ---- the watchdog ---- */

static void rescue(void *data)
{
    kit *k = data;

    pthread_mutex_lock(&k->lock);
    if (k->armed && k->rescue_flag) {
        k->rescued = true;
        *k->rescue_flag = true;
    }
    pthread_mutex_unlock(&k->lock);
}

static void *watchdog(void *arg)
{
    kit *k = arg;

    pthread_mutex_lock(&k->lock);
    while (!k->quit) {
        if (k->armed && kit_now_ms() >= k->deadline_ms) {
            /* rescue() runs in the map's thread and checks `armed`
             * again under the lock: a step that returned meanwhile
             * disarmed it */
            k->armed = ac_map_call(k->map, rescue, k) == 0;
            k->deadline_ms = kit_now_ms() + 1e9;
            continue;
        }
        if (k->armed) {
            struct timespec ts;
            double left = k->deadline_ms - kit_now_ms();
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += (time_t)(left / 1e3);
            ts.tv_nsec += (long)(((long long)left % 1000) * 1000000LL);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&k->cond, &k->lock, &ts);
        } else {
            pthread_cond_wait(&k->cond, &k->lock);
        }
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

static void arm(kit *k, volatile bool *flag, int limit_ms)
{
    pthread_mutex_lock(&k->lock);
    k->rescue_flag = flag;
    k->rescued = false;
    k->armed = true;
    k->deadline_ms = kit_now_ms() + limit_ms;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->lock);
}

static bool disarm(kit *k)
{
    bool rescued;

    pthread_mutex_lock(&k->lock);
    k->armed = false;
    k->rescue_flag = NULL;
    rescued = k->rescued;
    pthread_mutex_unlock(&k->lock);
    return rescued;
}

int kit_until(kit *k, volatile bool *flag, int limit_ms)
{
    int steps = 0;

    arm(k, flag, limit_ms);
    while (!*flag) {
        steps++;
        if (k->h->step(k->host, -1) < 0) {
            disarm(k);
            kit_fail(k, __LINE__, "step failed");
            return -1;
        }
    }
    if (disarm(k)) {
        kit_fail(k, __LINE__,
                 "while (!done) step(); hung: %d step(s) returned, then one "
                 "slept %d ms until the watchdog's call ended it",
                 steps - 1, limit_ms);
        return -1;
    }
    return steps;
}

/* ---- threads and sockets for the cases ---- */

typedef struct {
    int delay_ms;
    void (*fn)(void *);
    void *arg;
} later;

static void *later_main(void *p)
{
    later l = *(later *)p;
    struct timespec ts = {l.delay_ms / 1000, (l.delay_ms % 1000) * 1000000L};

    free(p);
    nanosleep(&ts, NULL);
    l.fn(l.arg);
    return NULL;
}

int kit_later(pthread_t *t, int delay_ms, void (*fn)(void *), void *arg)
{
    later *l = malloc(sizeof(*l));

    if (!l)
        return -ENOMEM;
    *l = (later){delay_ms, fn, arg};
    if (pthread_create(t, NULL, later_main, l) != 0) {
        free(l);
        return -EAGAIN;
    }
    return 0;
}

void kit_join(pthread_t t)
{
    pthread_join(t, NULL);
}

ssize_t kit_send(int fd, const void *buf, size_t len)
{
    return send(fd, buf, len, MSG_NOSIGNAL);
}

int kit_pair(kit *k, ac_dispatcher *d, const ac_dispatcher_class *klass,
             unsigned events)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | KIT_CLOEXEC, 0, sv) < 0) {
        kit_fail(k, __LINE__, "socketpair: %s", ac_strerror(errno));
        return -1;
    }
    ac_dispatcher_init(d, klass, k->map);
    if (ac_set_socket(d, sv[0]) < 0 || ac_set_interest(d, events) < 0) {
        close(sv[0]);
        close(sv[1]);
        kit_fail(k, __LINE__, "could not adopt a socketpair");
        return -1;
    }
    return sv[1];
}

/* ---- the runner ---- */

static int open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (!dir)
        return -1;
    while ((e = readdir(dir)))
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1;
}

static void listener_accepted(ac_dispatcher *d, int fd,
                              const struct sockaddr *a, socklen_t l)
{
    (void)d;
    (void)a;
    (void)l;
    close(fd);
}

static const ac_dispatcher_class listener_class = {
    .name = "hostkit-listener", .handle_accepted = listener_accepted,
};

/* A map on the host's backend, attached, with a listener. 0, or a
 * negative errno with *stage naming the step that failed. */
static int setup(kit *k, const char **stage)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    int r;

    *stage = "ac_map_new";
    k->map = ac_map_new(k->h->backend);
    if (!k->map)
        return -errno;
    ac_map_set_log_level(k->map, AC_LOG_ERROR);
    *stage = "attach";
    r = k->h->attach(k->h->data, k->map, &k->host);
    if (r < 0) {
        ac_map_free(k->map);
        k->map = NULL;
        return r;
    }
    k->attached = true;
    *stage = "the listener";
    /* pulled interest, base behaviour: the listener a new user writes */
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ac_dispatcher_init(&k->listener, &listener_class, k->map);
    if ((r = ac_create_socket(&k->listener, AF_INET, SOCK_STREAM)) < 0 ||
        (r = ac_bind(&k->listener, (struct sockaddr *)&sin, sizeof(sin))) < 0 ||
        (r = ac_listen(&k->listener, 16)) < 0)
        return r;
    return 0;
}

static void finish(kit *k)
{
    if (k->map) {
        ac_map_free(k->map); /* while attached: every host must cope */
        k->map = NULL;
    }
    if (k->attached)
        k->h->teardown(k->host);
    k->attached = false;
    k->host = NULL;
}

static void run_case(kit *k, const kit_case *c, const ac_hostkit_opts *o,
                     int *failed)
{
    int before, after, r;
    double t0 = kit_now_ms();
    const char *stage;

    k->failed = false;
    k->why[0] = k->note[0] = '\0';
    if ((c->needs & KIT_NESTED) && !k->h->nested) {
        fprintf(o->out, "skip %-28s (the host's step cannot nest)\n",
                c->name);
        return;
    }
    if ((c->needs & KIT_ITERATIONS) && !k->h->iterations) {
        fprintf(o->out, "skip %-28s (no iterations counter)\n", c->name);
        return;
    }
    if ((c->needs & KIT_DETACH) && !k->h->detach) {
        fprintf(o->out, "skip %-28s (no detach: the map is the host)\n",
                c->name);
        return;
    }
    before = open_fds();
    if ((r = setup(k, &stage)) < 0)
        kit_fail(k, __LINE__, "%s (backend %s): %s", stage,
                 ac_backend_name(k->h->backend), ac_strerror(r));
    else
        c->run(k);
    finish(k);
    after = open_fds();
    if (!k->failed && before >= 0 && after != before)
        kit_fail(k, __LINE__, "%d descriptor(s) left open", after - before);
    if (k->failed) {
        (*failed)++;
        fprintf(o->out, "FAIL %-28s %s\n", c->name, k->why);
    } else {
        fprintf(o->out, "ok   %-28s %.0f ms%s%s\n", c->name,
                kit_now_ms() - t0, o->verbose && k->note[0] ? ": " : "",
                o->verbose ? k->note : "");
    }
    fflush(o->out);
}

const char *const *ac_hostkit_cases(void)
{
    static const char *names[64];
    size_t a, n = 0;

    if (!names[0])
        for (a = 0; a < sizeof(areas) / sizeof(areas[0]); a++) {
            const kit_case *c;
            for (c = areas[a]; c->name && n + 1 < 64; c++)
                names[n++] = c->name;
        }
    return names;
}

int ac_hostkit_run(const ac_hostkit_host *host, const ac_hostkit_opts *opts)
{
    ac_hostkit_opts o = {0};
    kit k;
    int failed = 0, ran = 0;
    size_t a;
    const char *stage;

    if (!host || !host->attach || !host->step || !host->teardown)
        return -EINVAL;
    if (opts)
        o = *opts;
    if (!o.out)
        o.out = stdout;
    memset(&k, 0, sizeof(k));
    k.h = host;
    pthread_mutex_init(&k.lock, NULL);
    pthread_cond_init(&k.cond, NULL);
    if (pthread_create(&k.thread, NULL, watchdog, &k) != 0)
        return -EAGAIN;
    /* a first attach opens what a loop library keeps for the process */
    if (setup(&k, &stage) == 0)
        kit_settle(&k);
    finish(&k);
    fprintf(o.out, "host kit: %s\n", host->name ? host->name : "(unnamed)");
    for (a = 0; a < sizeof(areas) / sizeof(areas[0]); a++) {
        const kit_case *c;
        for (c = areas[a]; c->name; c++) {
            if (o.filter && !strstr(c->name, o.filter))
                continue;
            ran++;
            run_case(&k, c, &o, &failed);
        }
    }
    pthread_mutex_lock(&k.lock);
    k.quit = true;
    pthread_cond_signal(&k.cond);
    pthread_mutex_unlock(&k.lock);
    pthread_join(k.thread, NULL);
    pthread_mutex_destroy(&k.lock);
    pthread_cond_destroy(&k.cond);
    fprintf(o.out, "%s: %d of %d cases failed\n",
            host->name ? host->name : "host", failed, ran);
    return failed;
}
