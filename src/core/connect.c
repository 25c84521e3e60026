/* Connecting by name: lookups off the map's thread (resolver.c), then
 * Happy Eyeballs v2 (RFC 8305) over every address, the first connection to
 * complete handed to the channel.
 *
 * The channel is in the map from the start, connecting, on a placeholder
 * descriptor (an unbound AF_UNIX datagram socket: its own file, so the
 * kernel's limit on epoll paths to one file never applies, and no error
 * or hang-up to report) with no interest while AC__F_NAMED is set (see
 * interest.c). So it counts, keeps the loop alive, takes pushes and a TLS
 * layer like any connecting channel. Each attempt is an internal channel
 * of the map, so every host watches it. The winner's socket replaces the
 * placeholder, then handle_connect runs. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_ATTEMPT_DELAY_MS 250
#define DEFAULT_RESOLUTION_DELAY_MS 50
#define MAX_ADDRS 64 /* kept per connect, from both lookups */
#define HOST_MAX 1024

enum { V6, V4 };
enum { UNTRIED = 0, TRYING = -1 }; /* else: the errno it failed with */

typedef struct ac__connect conn;

typedef struct attempt {
    ac_dispatcher base;
    conn *c;             /* NULL once the connect is over */
    struct attempt *next;
    size_t addr;         /* index into c->addrs */
} attempt;

typedef struct hev_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int fam;   /* V6 or V4 */
    int state; /* UNTRIED, TRYING, or errno */
} hev_addr;

struct ac__connect {
    ac_dispatcher *d;
    ac_map *map;
    ac__lookup *q[2];
    bool answered[2];
    int gai_err[2];
    hev_addr *addrs;
    size_t naddrs, cap;
    attempt *attempts;
    unsigned inflight;
    int last_fam;
    bool started;  /* the first attempt began */
    bool starting; /* inside ac_connect() of an attempt */
    attempt *won;  /* completed inside ac_connect() */
    int sync_err;  /* failed inside ac_connect() */
    ac_timer delay;    /* resolution delay, then connection attempt delay */
    ac_timer deadline; /* the whole connect */
    uint64_t last_start_ms;
    int timeout_ms, attempt_delay_ms, resolution_delay_ms;
    int port;
    char host[];
};

static void start_next(conn *c);
static void delay_fired(ac_timer *t);

/* While AC__F_NAMED is set, the channel's addr field (unused until it is
 * connected) holds its conn: O(1) from ac_close(). */
static conn *conn_of(const ac_dispatcher *d)
{
    conn *c;

    memcpy(&c, &d->addr, sizeof(c));
    return c;
}

static void conn_stash(ac_dispatcher *d, conn *c)
{
    memcpy(&d->addr, &c, sizeof(c));
}

/* ---- the end: teardown, failure, success ---- */

static void teardown(conn *c)
{
    attempt *a;
    int i;

    while ((a = c->attempts)) {
        c->attempts = a->next;
        a->c = NULL;
        ac_close(&a->base); /* closed unseen; destroy frees it */
    }
    c->inflight = 0;
    for (i = 0; i < 2; i++)
        if (c->q[i]) {
            ac__lookup_cancel(c->q[i]);
            c->q[i] = NULL;
        }
    ac__timer_stop(c->map, &c->delay);
    ac__timer_stop(c->map, &c->deadline);
}

/* "host:port", bracketed for an IPv6 literal */
static void host_port(const conn *c, char *buf, size_t size)
{
    snprintf(buf, size, strchr(c->host, ':') ? "[%s]:%d" : "%s:%d", c->host,
             c->port);
}

/* Which lookup error tells most: the one that is not "no such name", so a
 * temporary failure or a missing family is not hidden behind NXDOMAIN. */
static int lookup_error(const conn *c)
{
    int e6 = c->gai_err[V6], e4 = c->gai_err[V4];

    if (!e6)
        return e4 ? e4 : AC_EAI_NODATA;
    if (!e4 || e4 == AC_EAI_NONAME)
        return e6;
    return e4;
}

/* The channel gets its descriptor back to none: it is as before the call
 * (not connecting, in no map), so handle_error may close it (the base
 * behaviour) or connect again. */
static void fail(conn *c, int err, const char *why)
{
    ac_dispatcher *d = c->d;
    char where[768], hp[HOST_MAX + 16];
    size_t i, n, shown = 0;
    int placeholder = d->fd;

    host_port(c, hp, sizeof(hp));
    if (!c->started && c->naddrs == 0) {
        snprintf(where, sizeof(where), "resolve %s%s", c->host, why);
    } else {
        n = (size_t)snprintf(where, sizeof(where), "connect %s (%stried ",
                             hp, why);
        for (i = 0; i < c->naddrs && n < sizeof(where); i++) {
            char a[AC_ADDRSTRLEN];
            const hev_addr *h = &c->addrs[i];

            if (h->state == UNTRIED)
                continue;
            ac_addr_string((const struct sockaddr *)&h->ss, h->len, a,
                           sizeof(a));
            n += (size_t)snprintf(where + n, sizeof(where) - n, "%s%s: %s",
                                  shown++ ? "; " : "", a,
                                  h->state == TRYING ? "no answer"
                                                     : ac_strerror(h->state));
        }
        if (n < sizeof(where))
            snprintf(where + n, sizeof(where) - n, ")");
    }
    teardown(c);
    ac__map_remove(c->map, d);
    close(placeholder);
    d->fd = -1;
    d->flags &= ~(AC__F_CONNECTING | AC__F_NAMED);
    free(c->addrs);
    free(c);
    ac_handle_error(d, err, where);
}

static void fail_all(conn *c)
{
    size_t i;
    int err = ECONNREFUSED;

    if (c->naddrs == 0) {
        fail(c, lookup_error(c), "");
        return;
    }
    for (i = 0; i < c->naddrs; i++) /* the last failure tells the story */
        if (c->addrs[i].state > 0)
            err = c->addrs[i].state;
    fail(c, err, "");
}

static void win(conn *c, attempt *a)
{
    ac_dispatcher *d = c->d;
    ac_map *map = c->map;
    hev_addr *h = &c->addrs[a->addr];
    conn *outer;
    attempt **pp;
    int fd = a->base.fd, r;

    /* the socket leaves the attempt, which closes without it */
    for (pp = &c->attempts; *pp != a; pp = &(*pp)->next)
        ;
    *pp = a->next;
    ac__map_remove(map, &a->base);
    a->base.fd = -1;
    a->c = NULL;
    ac_close(&a->base);
    teardown(c);

    ac__map_remove(map, d);
    close(d->fd); /* the placeholder */
    d->fd = fd;
    d->flags = (d->flags & ~(AC__F_CONNECTING | AC__F_NAMED)) |
               AC__F_CONNECTED | AC__F_HAS_ADDR;
    memcpy(&d->addr, &h->ss, h->len);
    d->addrlen = h->len;
    free(c->addrs);
    c->addrs = NULL;
    r = ac__map_add(map, d);
    if (r < 0) { /* ERANGE on select, ENOMEM: the fd closes with d */
        free(c);
        ac_handle_error(d, -r, "connect");
        return;
    }
    ac__update_interest(d);
    /* ac_connect_host_name() answers during handle_connect */
    outer = map->connected;
    map->connected = c;
    ac__enter(map);
    if (!AC__FLAG(d, AC__F_CLOSED))
        AC__METHOD(d, handle_connect)(d);
    ac__leave(map);
    map->connected = outer;
    free(c);
}

/* ---- attempts: internal channels of the map ---- */

static attempt *A(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, attempt, base);
}

static void attempt_unlink(conn *c, attempt *a)
{
    attempt **pp;

    for (pp = &c->attempts; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            c->inflight--;
            return;
        }
}

static void attempt_connected(ac_dispatcher *ad)
{
    attempt *a = A(ad);

    if (!a->c)
        ac_close(ad);
    else if (a->c->starting)
        a->c->won = a; /* finished by attempt_start */
    else
        win(a->c, a);
}

static void attempt_failed(ac_dispatcher *ad, int err, const char *where)
{
    attempt *a = A(ad);
    conn *c = a->c;

    (void)where;
    a->c = NULL;
    if (c) {
        c->addrs[a->addr].state = err;
        attempt_unlink(c, a);
    }
    ac_close(ad);
    if (!c)
        return;
    if (c->starting)
        c->sync_err = err;
    else
        start_next(c); /* at once: RFC 8305 section 5 */
}

static void attempt_closed(ac_dispatcher *ad)
{
    attempt_failed(ad, ECONNRESET, "connect");
}

static void attempt_destroy(ac_dispatcher *ad)
{
    free(A(ad));
}

static const ac_dispatcher_class attempt_class = {
    .name = "connect attempt",
    .handle_connect = attempt_connected,
    .handle_error = attempt_failed,
    .handle_close = attempt_closed,
    .destroy = attempt_destroy,
};

/* 0: under way; 1: connected at once (c->won); or a negative errno. */
static int attempt_start(conn *c, size_t i)
{
    hev_addr *h = &c->addrs[i];
    attempt *a = calloc(1, sizeof(*a));
    int r;

    if (!a)
        return -ENOMEM;
    ac_dispatcher_init(&a->base, &attempt_class, c->map);
    a->base.flags |= AC__F_INTERNAL;
    ac_set_interest(&a->base, 0); /* the core waits to write while connecting */
    r = ac_create_socket(&a->base, h->ss.ss_family, SOCK_STREAM);
    if (r < 0) {
        free(a);
        return r;
    }
    a->c = c;
    a->addr = i;
    a->next = c->attempts;
    c->attempts = a;
    c->inflight++;
    h->state = TRYING;
    c->last_fam = h->fam;
    c->last_start_ms = ac__now_ms();
    c->starting = true;
    c->won = NULL;
    c->sync_err = 0;
    r = ac_connect(&a->base, (const struct sockaddr *)&h->ss, h->len);
    c->starting = false;
    if (c->won)
        return 1;
    if (c->sync_err)
        return -c->sync_err; /* the attempt is already closed */
    if (r < 0) {
        attempt_unlink(c, a);
        a->c = NULL;
        ac_close(&a->base);
    }
    return r;
}

/* The next address: the other family than the last attempt's when it has
 * one left (interleaving, IPv6 first), else whatever is left. */
static hev_addr *pick(conn *c, size_t *index)
{
    int want = c->last_fam == V6 ? V4 : V6, pass;
    size_t i;

    for (pass = 0; pass < 2; pass++, want = !want)
        for (i = 0; i < c->naddrs; i++)
            if (c->addrs[i].state == UNTRIED && c->addrs[i].fam == want) {
                *index = i;
                return &c->addrs[i];
            }
    return NULL;
}

static bool lookups_done(const conn *c)
{
    return c->answered[V6] && c->answered[V4];
}

static void start_next(conn *c)
{
    size_t i;
    int r;

    ac__timer_stop(c->map, &c->delay);
    c->started = true;
    while (pick(c, &i)) {
        r = attempt_start(c, i);
        if (r == 1) {
            win(c, c->won);
            return;
        }
        if (r == 0) {
            ac__timer_start(c->map, &c->delay, (uint64_t)c->attempt_delay_ms,
                            delay_fired);
            return;
        }
        c->addrs[i].state = -r;
    }
    if (c->inflight == 0 && lookups_done(c))
        fail_all(c);
}

/* After an answer: start, wait the resolution delay, or fail. */
static void progress(conn *c)
{
    size_t i;
    bool have6 = false, have4 = false;
    uint64_t since;

    for (i = 0; i < c->naddrs; i++)
        if (c->addrs[i].state == UNTRIED) {
            if (c->addrs[i].fam == V6)
                have6 = true;
            else
                have4 = true;
        }
    if (!c->started) {
        if (have6 || (have4 && c->answered[V6])) {
            start_next(c);
        } else if (have4) {
            /* A came first: give AAAA a moment (RFC 8305 section 3) */
            if (!ac_timer_active(&c->delay))
                ac__timer_start(c->map, &c->delay,
                                (uint64_t)c->resolution_delay_ms, delay_fired);
        } else if (lookups_done(c)) {
            fail_all(c);
        }
        return;
    }
    if (have6 || have4) {
        /* late addresses join the race on its cadence */
        if (ac_timer_active(&c->delay))
            return;
        since = ac__now_ms() - c->last_start_ms;
        if (c->inflight == 0 || since >= (uint64_t)c->attempt_delay_ms)
            start_next(c);
        else
            ac__timer_start(c->map, &c->delay,
                            (uint64_t)c->attempt_delay_ms - since, delay_fired);
    } else if (c->inflight == 0 && lookups_done(c)) {
        fail_all(c);
    }
}

static void delay_fired(ac_timer *t)
{
    start_next(AC_CONTAINER_OF(t, conn, delay));
}

static void deadline_fired(ac_timer *t)
{
    conn *c = AC_CONTAINER_OF(t, conn, deadline);
    char why[64];

    snprintf(why, sizeof(why), c->started || c->naddrs ? "timed out after %d ms; "
                                                       : " (no answer in %d ms)",
             c->timeout_ms);
    fail(c, ETIMEDOUT, why);
}

static void add_addrs(conn *c, int fam, const struct addrinfo *res)
{
    const struct addrinfo *ai;
    hev_addr *h;
    size_t i;

    for (ai = res; ai; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(h->ss) || c->naddrs >= MAX_ADDRS)
            continue;
        for (i = 0; i < c->naddrs; i++)
            if (c->addrs[i].len == ai->ai_addrlen &&
                !memcmp(&c->addrs[i].ss, ai->ai_addr, ai->ai_addrlen))
                break;
        if (i < c->naddrs)
            continue; /* /etc/hosts may list an address twice */
        if (c->naddrs == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 4;
            hev_addr *p = realloc(c->addrs, cap * sizeof(*p));
            if (!p)
                return; /* fewer addresses to try; the rest still run */
            c->addrs = p;
            c->cap = cap;
        }
        h = &c->addrs[c->naddrs++];
        memset(h, 0, sizeof(*h));
        memcpy(&h->ss, ai->ai_addr, ai->ai_addrlen);
        h->len = ai->ai_addrlen;
        h->fam = ai->ai_family == AF_INET6 ? V6 : V4;
        h->state = UNTRIED;
        if (ai->ai_family == AF_INET6)
            ((struct sockaddr_in6 *)(void *)&h->ss)->sin6_port =
                htons((uint16_t)c->port);
        else
            ((struct sockaddr_in *)(void *)&h->ss)->sin_port =
                htons((uint16_t)c->port);
    }
    (void)fam;
}

static void lookup_done(ac__lookup *l)
{
    conn *c = l->owner;
    int fam = l->family == AF_INET6 ? V6 : V4;

    c->q[fam] = NULL;
    if (c->map->dead)
        return; /* ac_map_free: the channel is about to close */
    c->answered[fam] = true;
    c->gai_err[fam] = l->err;
    add_addrs(c, fam, l->res);
    progress(c);
}

static void literal_fired(ac_timer *t)
{
    progress(AC_CONTAINER_OF(t, conn, delay));
}

/* ---- the API ---- */

static int placeholder(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

static int check_opts(const ac_connect_opts *o)
{
    if (!o)
        return 0;
    if (o->family != AF_UNSPEC && o->family != AF_INET && o->family != AF_INET6)
        return -EAFNOSUPPORT;
    if (o->timeout_ms < -1 || o->attempt_delay_ms < 0 ||
        o->resolution_delay_ms < 0)
        return -EINVAL;
    return 0;
}

/* A literal address is known at once: no lookup, no thread. */
static int literal(conn *c, int family)
{
    struct addrinfo hints, *res = NULL;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(c->host, NULL, &hints, &res) != 0)
        return 0;
    add_addrs(c, 0, res);
    freeaddrinfo(res);
    c->answered[V6] = c->answered[V4] = true;
    if (!c->naddrs)
        c->gai_err[V6] = c->gai_err[V4] = ENOMEM;
    return 1;
}

int ac_connect_host(ac_dispatcher *d, const char *host, int port,
                    const ac_connect_opts *opts)
{
    int family = opts ? opts->family : AF_UNSPEC;
    size_t hlen;
    ac_map *map;
    conn *c;
    int r, fd;

    r = ac__check_fresh(d);
    if (r < 0)
        return r;
    if (!host || !*host || port <= 0 || port > 65535)
        return -EINVAL;
    hlen = strlen(host);
    if (hlen >= HOST_MAX)
        return -ENAMETOOLONG;
    r = check_opts(opts);
    if (r < 0)
        return r;
    map = d->map;
    c = calloc(1, sizeof(*c) + hlen + 1);
    if (!c)
        return -ENOMEM;
    memcpy(c->host, host, hlen + 1);
    c->d = d;
    c->map = map;
    c->port = port;
    c->last_fam = V4; /* so the first pick prefers IPv6 */
    c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms
                                             : DEFAULT_TIMEOUT_MS;
    c->attempt_delay_ms = opts && opts->attempt_delay_ms
                              ? opts->attempt_delay_ms
                              : DEFAULT_ATTEMPT_DELAY_MS;
    c->resolution_delay_ms = opts && opts->resolution_delay_ms
                                 ? opts->resolution_delay_ms
                                 : DEFAULT_RESOLUTION_DELAY_MS;
    if (family == AF_INET)
        c->answered[V6] = true;
    if (family == AF_INET6)
        c->answered[V4] = true;

    fd = placeholder();
    if (fd < 0) {
        free(c);
        return fd;
    }
    r = ac__adopt(d, fd, AC__F_CONNECTING | AC__F_NAMED);
    if (r < 0) {
        close(fd);
        free(c);
        return r;
    }
    conn_stash(d, c);
    if (literal(c, family)) {
        /* answered, but handlers run from the loop, never in this call */
        r = ac__timer_start(map, &c->delay, 0, literal_fired);
    } else {
        if (!c->answered[V6] &&
            !(c->q[V6] = ac__lookup_start(map, host, AF_INET6, c, lookup_done)))
            r = -ENOMEM;
        if (r == 0 && !c->answered[V4] &&
            !(c->q[V4] = ac__lookup_start(map, host, AF_INET, c, lookup_done)))
            r = -ENOMEM;
    }
    if (r == 0 && c->timeout_ms > 0)
        r = ac__timer_start(map, &c->deadline, (uint64_t)c->timeout_ms,
                            deadline_fired);
    if (r < 0) {
        teardown(c);
        ac__map_remove(map, d);
        close(fd);
        d->fd = -1;
        d->flags &= ~(AC__F_CONNECTING | AC__F_NAMED);
        free(c->addrs);
        free(c);
        return r;
    }
    return 0;
}

const char *ac_connect_host_name(const ac_dispatcher *d)
{
    if (!d || !d->map)
        return NULL;
    if (AC__FLAG(d, AC__F_NAMED))
        return conn_of(d)->host;
    if (d->map->connected && d->map->connected->d == d)
        return d->map->connected->host;
    return NULL;
}

void ac__connect_cancel(ac_dispatcher *d)
{
    conn *c = conn_of(d);

    d->flags &= ~AC__F_NAMED;
    teardown(c);
    free(c->addrs);
    free(c);
}
