/* Private to connect.c and eyeballs.c: a connect by name. */
#ifndef ASYNCORE_CONNECT_H
#define ASYNCORE_CONNECT_H

#include "internal.h"

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
    conn *prev, *next; /* map->naming */
    ac__ask *q[2];
    bool answered[2];
    int gai_err[2];
    hev_addr *addrs;
    size_t naddrs, cap;
    attempt *attempts;
    unsigned inflight;
    int last_fam;
    bool started;  /* the first attempt began */
    bool starting; /* inside ac_connect() of an attempt */
    bool in_call;  /* inside ac_connect_host(): the end is deferred */
    attempt *won;  /* completed inside ac_connect() */
    int sync_err;  /* failed inside ac_connect() */
    ac_timer delay;    /* resolution delay, then connection attempt delay */
    ac_timer deadline; /* the whole connect */
    uint64_t last_start_ms;
    int timeout_ms, attempt_delay_ms, resolution_delay_ms;
    int port;
    char host[];
};

/* eyeballs.c: the race between addresses */
/* Start, wait or fail after an answer, an attempt's end, or a delay. */
AC__HIDDEN void ac__hev_progress(conn *c);
/* Close every attempt in flight, unseen. */
AC__HIDDEN void ac__hev_stop(conn *c);

/* connect.c: the ends */
/* `fd` is the winning attempt's socket, to `c->addrs[addr]`. */
AC__HIDDEN void ac__hev_won(conn *c, int fd, size_t addr);
AC__HIDDEN void ac__hev_failed(conn *c);

#endif
