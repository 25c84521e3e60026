/* The TLS layer (C-90..C-94) in every host mode, over real loopback
 * sockets, with certificates made for this run (tests/tls/certs.c). */
#include "helpers.h"
#include "tls/certs.h"

#include <asyncore/asynchat.h>
#include <asyncore/tls.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static tc_certs certs;
static int tp_destroyed;

/* The byte at offset i of every test stream. */
static unsigned char pattern(uint64_t i)
{
    return (unsigned char)((i * 7 + (i >> 13)) % 251);
}

/* ---- contexts ---- */

static ac_tls_ctx *server_ctx(const char *cert, int max_version)
{
    ac_tls_opts o = {.cert_file = cert, .key_file = certs.key,
                     .max_version = max_version};
    char err[256];
    ac_tls_ctx *c = ac_tls_ctx_new(AC_TLS_SERVER, &o, err, sizeof(err));

    if (!c)
        fprintf(stderr, "server ctx: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

static ac_tls_ctx *client_ctx(const char *ca, int max_version)
{
    ac_tls_opts o = {.ca_file = ca, .max_version = max_version};
    char err[256];
    ac_tls_ctx *c = ac_tls_ctx_new(AC_TLS_CLIENT, &o, err, sizeof(err));

    if (!c)
        fprintf(stderr, "client ctx: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

/* ---- a TLS peer: with_send (declared interest) ---- */

typedef struct tp {
    ac_dispatcher_with_send w;
    size_t per_read;     /* bytes per handle_read (one ac_recv) */
    bool echo;           /* send back what arrives */
    bool paused;         /* do not read (interest AC_OUT at most) */
    uint64_t source;     /* pattern bytes to send, in 16 KB pushes */
    uint64_t queued;     /* pattern bytes queued so far */
    uint64_t got;        /* bytes received, checked against the pattern */
    uint64_t bad;        /* bytes that differed */
    uint64_t want;       /* `done` once got reaches it */
    bool done, peer_closed;
    bool flag;           /* for the test's own use */
    bool keep;           /* copied to last_client at destroy */
    int n_connect, n_close, n_error, err;
    char where[16], reason[200], version[16];
    struct tp **slot; /* cleared at destroy */
    void (*on_got)(struct tp *p);
} tp;

#define TP(d) AC_CONTAINER_OF(d, tp, w.base)

static tp last_client; /* a kept channel, as it was at destroy */
static bool kept_gone;  /* set when a kept channel is destroyed */

static void tp_interest(tp *p)
{
    unsigned ev = (p->paused ? 0 : AC_READ) |
                  (ac_with_send_pending(&p->w) ? AC_OUT : 0);
    ac_set_interest(&p->w.base, ev);
}

static void top_up(tp *p)
{
    unsigned char chunk[16384];

    while (p->queued < p->source && ac_with_send_pending(&p->w) < 65536 &&
           !ac_closed(&p->w.base)) {
        size_t i, n = sizeof(chunk);
        if (p->source - p->queued < n)
            n = (size_t)(p->source - p->queued);
        for (i = 0; i < n; i++)
            chunk[i] = pattern(p->queued + i);
        p->queued += n;
        ac_with_send(&p->w, chunk, n);
    }
    if (!ac_closed(&p->w.base))
        tp_interest(p);
}

static void tp_read(ac_dispatcher *d)
{
    tp *p = TP(d);
    unsigned char buf[65536];
    size_t want = p->per_read ? p->per_read : sizeof(buf);
    ssize_t n = ac_recv(d, buf, want);
    ssize_t i;

    if (n <= 0)
        return;
    for (i = 0; i < n; i++)
        if (buf[i] != pattern(p->got + (uint64_t)i))
            p->bad++;
    p->got += (uint64_t)n;
    if (p->want && p->got >= p->want)
        p->done = true;
    if (p->echo)
        ac_with_send(&p->w, buf, (size_t)n);
    if (p->on_got && !ac_closed(d))
        p->on_got(p);
}

static void tp_write(ac_dispatcher *d)
{
    ac_with_send_class.handle_write(d);
    if (!ac_closed(d))
        top_up(TP(d));
}

static void tp_connect(ac_dispatcher *d)
{
    tp *p = TP(d);
    const char *v = ac_tls_version(d);

    p->n_connect++;
    snprintf(p->version, sizeof(p->version), "%s", v ? v : "?");
    top_up(p);
}

static void tp_close(ac_dispatcher *d)
{
    tp *p = TP(d);

    p->n_close++;
    p->peer_closed = ac_tls_peer_closed(d);
    ac_close(d);
}

static void tp_error(ac_dispatcher *d, int err, const char *where)
{
    tp *p = TP(d);
    const char *r = ac_tls_reason(d);

    p->n_error++;
    p->err = err;
    snprintf(p->where, sizeof(p->where), "%s", where);
    snprintf(p->reason, sizeof(p->reason), "%s", r ? r : "");
    ac_close(d);
}

static void tp_destroy(ac_dispatcher *d)
{
    tp *p = TP(d);

    tp_destroyed++;
    if (p->keep) {
        last_client = *p;
        kept_gone = true;
    }
    if (p->slot)
        *p->slot = NULL;
    free(p);
}

static const ac_dispatcher_class tp_class = {
    .name = "tls_peer",
    .parent = &ac_with_send_class,
    .handle_read = tp_read,
    .handle_write = tp_write,
    .handle_connect = tp_connect,
    .handle_close = tp_close,
    .handle_error = tp_error,
    .destroy = tp_destroy,
};

static tp *tp_new(ac_map *map, tp **slot)
{
    tp *p = calloc(1, sizeof(*p));

    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL_FATAL(ac_with_send_init(&p->w, &tp_class, map), 0);
    p->slot = slot;
    if (slot)
        *slot = p;
    return p;
}

/* Clients connect to "localhost" with ac_connect_host() instead. */
static bool by_name;

static tp *tp_client(ac_map *map, const struct sockaddr_storage *addr,
                     socklen_t len, ac_tls_ctx *ctx, const char *name,
                     tp **slot)
{
    tp *p = tp_new(map, slot);

    if (by_name) {
        CU_ASSERT_EQUAL(ac_connect_host(&p->w.base, "localhost",
                                        ac_addr_port((const void *)addr), NULL),
                        0);
        CU_ASSERT_EQUAL(ac_tls_start(&p->w.base, ctx, name), 0);
        return p;
    }
    CU_ASSERT_EQUAL_FATAL(ac_create_socket(&p->w.base, addr->ss_family,
                                           SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(ac_connect(&p->w.base, (const struct sockaddr *)addr, len),
                    0);
    CU_ASSERT_EQUAL(ac_tls_start(&p->w.base, ctx, name), 0);
    return p;
}

/* ---- a listener that puts what it accepts on TLS ---- */

typedef struct tl {
    tchan *ch;
    ac_tls_ctx *ctx;
    tp tmpl;      /* settings copied into each accepted peer */
    tp *last;     /* the last accepted peer (NULL once destroyed) */
    int accepted;
} tl;

static void tl_accepted(tchan *t, int fd)
{
    tl *l = t->user;
    tp *p = tp_new(ac_dispatcher_get_map(&t->d), &l->last);

    p->per_read = l->tmpl.per_read;
    p->echo = l->tmpl.echo;
    p->keep = l->tmpl.keep;
    p->source = l->tmpl.source;
    p->want = l->tmpl.want;
    l->accepted++;
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&p->w.base, fd), 0);
    CU_ASSERT_EQUAL(ac_tls_start(&p->w.base, l->ctx, NULL), 0);
    tp_interest(p);
}

static void tl_open(tl *l, ac_map *map, ac_tls_ctx *ctx,
                    struct sockaddr_storage *addr, socklen_t *len)
{
    memset(l, 0, sizeof(*l));
    l->ch = tchan_server(map, AF_INET, addr, len);
    l->ch->user = l;
    l->ch->on_accepted = tl_accepted;
    l->ctx = ctx;
}

static void finish(ac_map *map, tl *l, ac_tls_ctx *a, ac_tls_ctx *b)
{
    if (l && l->ch)
        ac_close(&l->ch->d);
    CU_ASSERT_EQUAL(ac_close_all(map, true), 0);
    t_run_until_empty(map, 1000);
    t_map_done(map);
    ac_tls_ctx_unref(a);
    ac_tls_ctx_unref(b);
}

/* One test's world: a map, a listener that puts what it accepts on TLS
 * with `cert`, and a client context that trusts `ca`. */
typedef struct fx {
    ac_map *map;
    ac_tls_ctx *sc, *cc;
    struct sockaddr_storage addr;
    socklen_t len;
    tl l;
} fx;

static void fx_open(fx *f, const char *cert, const char *ca, int max_version)
{
    f->map = t_map_new();
    f->sc = server_ctx(cert, 0);
    f->cc = client_ctx(ca, max_version);
    tl_open(&f->l, f->map, f->sc, &f->addr, &f->len);
}

static tp *fx_client(fx *f, const char *name, tp **slot)
{
    return tp_client(f->map, &f->addr, f->len, f->cc, name, slot);
}

static void fx_done(fx *f)
{
    finish(f->map, &f->l, f->sc, f->cc);
}

/* ---- C-91: handshake, echo, close_notify ---- */

static void echo_with(int max_version, const char *version)
{
    fx f;
    tp *c;
    int destroyed = tp_destroyed;

    fx_open(&f, certs.server, certs.ca, max_version);
    f.l.tmpl.echo = true;
    c = fx_client(&f, NULL, &c);
    c->source = c->want = 1 << 20;
    CU_ASSERT_TRUE(ac_tls_active(&c->w.base));
    CU_ASSERT_FALSE(ac_tls_established(&c->w.base));
    CU_ASSERT(t_run_until(f.map, &c->done, 30000));
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.l.last);
    CU_ASSERT_EQUAL(c->got, 1 << 20);
    CU_ASSERT_EQUAL(c->bad, 0);
    CU_ASSERT_EQUAL(c->n_connect, 1);
    CU_ASSERT_EQUAL(f.l.last->n_connect, 1);
    CU_ASSERT_STRING_EQUAL(c->version, version);
    CU_ASSERT_STRING_EQUAL(f.l.last->version, version);
    CU_ASSERT_PTR_NOT_NULL(ac_tls_cipher(&c->w.base));
    CU_ASSERT_STRING_EQUAL(ac_class_name(&c->w.base), "tls_peer");
    /* the server's recv sees our close and closes too */
    ac_close(&c->w.base);
    while (f.l.last && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_EQUAL(tp_destroyed, destroyed + 2);
    fx_done(&f);
}

static void test_echo_tls13(void)
{
    echo_with(0, "TLSv1.3");
}

static void test_echo_tls12(void)
{
    echo_with(AC_TLS_1_2, "TLSv1.2");
}

static void test_close_notify(void)
{
    fx f;
    tp *c;

    fx_open(&f, certs.server, certs.ca, 0);
    f.l.tmpl.echo = true;
    f.l.tmpl.keep = true;
    c = fx_client(&f, "localhost", &c);
    c->source = c->want = 1000;
    CU_ASSERT(t_run_until(f.map, &c->done, 30000));
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.l.last);
    /* the layer's class over the channel's own */
    CU_ASSERT_PTR_NOT_EQUAL(ac_get_class(&f.l.last->w.base), &tp_class);
    CU_ASSERT_PTR_EQUAL(ac_get_class(&f.l.last->w.base)->parent, &tp_class);
    ac_close(&c->w.base);
    while (f.l.last && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_TRUE(last_client.peer_closed);
    CU_ASSERT_EQUAL(last_client.n_close, 1);
    CU_ASSERT_EQUAL(last_client.n_error, 0);
    fx_done(&f);
}

/* ---- C-90: small readers of 16 KB records, every host ---- */

static void small_reader(size_t per_read, uint64_t total)
{
    fx f;
    tp *c;

    fx_open(&f, certs.server, certs.ca, 0);
    f.l.tmpl.source = total; /* 16 KB pushes: full records */
    c = fx_client(&f, NULL, &c);
    c->per_read = per_read;
    c->want = total;
    CU_ASSERT(t_run_until(f.map, &c->done, 120000));
    CU_ASSERT_EQUAL(c->got, total);
    CU_ASSERT_EQUAL(c->bad, 0);
    fx_done(&f);
}

static void test_reader_100_bytes(void)
{
    small_reader(100, 10u << 20);
}

static void test_reader_1_byte(void)
{
    small_reader(1, 1u << 20);
}

/* ---- C-93: writes during the handshake; a read that must write ---- */

static void test_write_during_handshake(void)
{
    fx f;
    tp *c;
    tchan *raw;
    int i;

    fx_open(&f, certs.server, certs.ca, 0);
    f.l.tmpl.echo = true;
    c = fx_client(&f, NULL, &c);
    /* pushed before TCP connects: kept until the handshake is done */
    for (i = 0; i < 100; i++) {
        unsigned char b[1000];
        size_t j;
        for (j = 0; j < sizeof(b); j++)
            b[j] = pattern((uint64_t)i * sizeof(b) + j);
        CU_ASSERT_EQUAL(ac_with_send(&c->w, b, sizeof(b)), 0);
    }
    c->queued = c->source = 100000;
    c->want = 100000;
    CU_ASSERT_EQUAL(ac_with_send_pending(&c->w), 100000);
    CU_ASSERT(t_run_until(f.map, &c->done, 30000));
    CU_ASSERT_EQUAL(c->bad, 0);
    CU_ASSERT_EQUAL(c->n_connect, 1);

    /* a pulled base-class channel: ac_send takes nothing mid-handshake */
    raw = tchan_new(f.map);
    CU_ASSERT_EQUAL(ac_create_socket(&raw->d, AF_INET, SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(ac_connect(&raw->d, (struct sockaddr *)&f.addr, f.len), 0);
    CU_ASSERT_EQUAL(ac_tls_start(&raw->d, f.cc, NULL), 0);
    CU_ASSERT_EQUAL(ac_tls_start(&raw->d, f.cc, NULL), -EALREADY);
    CU_ASSERT_EQUAL(ac_send(&raw->d, "x", 1), 0);
    CU_ASSERT_EQUAL(ac_recv(&raw->d, raw->in, 10), -EAGAIN);
    CU_ASSERT_EQUAL(ac_tls_key_update(&raw->d, true), -ENOTCONN);
    raw->want_write = true; /* the base behaviour: writable() */
    while (raw->n_connect == 0 && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_EQUAL(raw->n_connect, 1);
    CU_ASSERT_EQUAL(raw->n_write, 0); /* no write event while handshaking */
    CU_ASSERT_EQUAL(ac_send(&raw->d, "hello", 5), 5);
    while (raw->in_len < 5 && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_EQUAL(raw->in_len, 5);
    CU_ASSERT(memcmp(raw->in, "hello", 5) == 0);
    fx_done(&f);
}

/* The client stops reading until the server's socket is full, then asks
 * for a key update: the server's read must answer it with a write the
 * socket cannot take (WANT_WRITE during a read). Every byte still arrives
 * and the server still reads afterwards. */
static void test_read_wants_write(void)
{
    fx f;
    tp *c;
    uint64_t total = 16u << 20;
    int i;

    fx_open(&f, certs.server, certs.ca, 0);
    f.l.tmpl.source = total;
    c = fx_client(&f, NULL, &c);
    c->want = total;
    c->per_read = 1;
    while ((c->n_connect == 0 || c->got == 0) && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.l.last);
    c->paused = true;
    tp_interest(c);
    /* the server fills the socket: its queue stops draining */
    for (i = 0; i < 200 && f.l.last && f.l.last->queued < total; i++)
        t_step(f.map, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.l.last);
    CU_ASSERT(ac_with_send_pending(&f.l.last->w) > 0);
    CU_ASSERT_EQUAL(ac_tls_key_update(&c->w.base, true), 0);
    for (i = 0; i < 20; i++)
        t_step(f.map, 5);
    c->paused = false;
    c->per_read = 0;
    tp_interest(c);
    t_changed_outside(f.map);
    CU_ASSERT(t_run_until(f.map, &c->done, 60000));
    CU_ASSERT_EQUAL(c->got, total);
    CU_ASSERT_EQUAL(c->bad, 0);
    CU_ASSERT_EQUAL(f.l.last ? f.l.last->n_error : -1, 0);
    fx_done(&f);
}

/* A key update mid-stream, both ways, changes nothing for the channel. */
static void update_keys(tp *p)
{
    if (p->got >= (256u << 10) && !p->flag) {
        p->flag = true;
        CU_ASSERT_EQUAL(ac_tls_key_update(&p->w.base, true), 0);
    }
}

static void test_key_update(void)
{
    fx f;
    tp *c;

    fx_open(&f, certs.server, certs.ca, 0);
    f.l.tmpl.echo = true;
    c = fx_client(&f, NULL, &c);
    c->source = c->want = 1u << 20;
    c->on_got = update_keys;
    while (!f.l.last && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.l.last);
    f.l.last->on_got = update_keys;
    CU_ASSERT(t_run_until(f.map, &c->done, 30000));
    CU_ASSERT_TRUE(c->flag);
    CU_ASSERT_EQUAL(c->got, 1u << 20);
    CU_ASSERT_EQUAL(c->bad, 0);
    CU_ASSERT_EQUAL(c->n_error, 0);
    fx_done(&f);
}

/* ---- C-92: what a client refuses ---- */

static void refused(const char *server_cert, const char *ca, const char *name,
                    int err, const char *reason)
{
    fx f;
    tp *c;
    int destroyed = tp_destroyed;

    fx_open(&f, server_cert, ca, 0);
    c = fx_client(&f, name, &c);
    c->source = 100;
    c->keep = true;
    while (tp_destroyed < destroyed + 1 && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_EQUAL(last_client.n_connect, 0);
    CU_ASSERT_EQUAL(last_client.n_error, 1);
    CU_ASSERT_EQUAL(last_client.err, err);
    CU_ASSERT_STRING_EQUAL(last_client.where, "tls");
    if (!strstr(last_client.reason, reason))
        fprintf(stderr, "reason: %s\n", last_client.reason);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_client.reason, reason));
    CU_ASSERT(t_log_contains(reason));
    /* the server saw the client's alert and survives it */
    while (f.l.last && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_EQUAL(f.l.accepted, 1);
    fx_done(&f);
}

static void test_untrusted(void)
{
    refused(certs.untrusted, certs.ca, NULL, EKEYREJECTED,
            "self-signed certificate in certificate chain");
}

static void test_system_store_refuses_test_ca(void)
{
    refused(certs.server, NULL, NULL, EKEYREJECTED, "certificate verify failed");
}

static void test_expired(void)
{
    refused(certs.expired, certs.ca, NULL, EKEYEXPIRED,
            "certificate has expired");
}

static void test_wrong_address(void)
{
    refused(certs.other, certs.ca, NULL, EKEYREJECTED, "IP address mismatch");
}

static void test_wrong_name(void)
{
    refused(certs.server, certs.ca, "other.example", EKEYREJECTED,
            "hostname mismatch");
}

static void test_right_name(void)
{
    fx f;
    tp *c;

    fx_open(&f, certs.other, certs.ca, 0);
    f.l.tmpl.echo = true;
    c = fx_client(&f, "other.example", &c);
    c->source = c->want = 10;
    CU_ASSERT(t_run_until(f.map, &c->done, 30000));
    CU_ASSERT_EQUAL(c->bad, 0);
    fx_done(&f);
}

/* Connecting by name: the name given to ac_connect_host() is the one
 * verified (and sent as SNI), not the address connected to. */
static void test_connect_host_name_verified(void)
{
    by_name = true;
    /* the certificate is for other.example, and has no IP address */
    refused(certs.other, certs.ca, NULL, EKEYREJECTED, "hostname mismatch");
    by_name = false;
}

static void test_connect_host_echo(void)
{
    fx f;
    tp *c;

    by_name = true;
    fx_open(&f, certs.server, certs.ca, 0);
    f.l.tmpl.echo = true;
    c = fx_client(&f, NULL, &c);
    c->source = c->want = 1000; /* pushed before the name was resolved */
    CU_ASSERT(t_run_until(f.map, &c->done, 30000));
    CU_ASSERT_EQUAL(c->bad, 0);
    fx_done(&f);
    by_name = false;
}

/* ---- C-92: what a server survives ---- */

static int raw_connect(const struct sockaddr_storage *addr, socklen_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL_FATAL(connect(fd, (const struct sockaddr *)addr, len), 0);
    return fd;
}

/* A raw peer sends `bytes` then closes; the server's channel fails with
 * `err` in "tls" and is gone; the listener lives on. */
static void hostile(const void *bytes, size_t n, int err)
{
    fx f;
    tp *c;
    int fd, destroyed = tp_destroyed;

    fx_open(&f, certs.server, certs.ca, 0);
    f.l.tmpl.keep = true;
    fd = raw_connect(&f.addr, f.len);
    CU_ASSERT_EQUAL(write(fd, bytes, n), (ssize_t)n);
    shutdown(fd, SHUT_WR);
    while (tp_destroyed == destroyed && t_step(f.map, 100) >= 0)
        ;
    close(fd);
    if (last_client.err != err)
        fprintf(stderr, "err %d (%s) where %s reason %s\n", last_client.err,
                strerror(last_client.err), last_client.where,
                last_client.reason);
    CU_ASSERT_EQUAL(last_client.n_error, 1);
    CU_ASSERT_EQUAL(last_client.err, err);
    CU_ASSERT_STRING_EQUAL(last_client.where, "tls");
    CU_ASSERT_EQUAL(last_client.n_connect, 0);
    /* and a real client is still served */
    f.l.tmpl.echo = true;
    f.l.tmpl.keep = false;
    c = fx_client(&f, NULL, &c);
    c->source = c->want = 100;
    CU_ASSERT(t_run_until(f.map, &c->done, 30000));
    fx_done(&f);
}

static void test_garbage(void)
{
    static const char get[] = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
    hostile(get, sizeof(get) - 1, EPROTO);
}

static void test_truncated_record(void)
{
    /* a handshake record header announcing 256 bytes, then 10 of them */
    static const unsigned char rec[] = {0x16, 0x03, 0x01, 0x01, 0x00, 0x01,
                                        0x00, 0x00, 0xfc, 0x03, 0x03, 0, 0,
                                        0, 0};
    hostile(rec, sizeof(rec), ECONNRESET);
}

static void test_silent_peer(void)
{
    hostile("", 0, ECONNRESET);
}

/* After the handshake, a peer that closes without close_notify: recv
 * says -ECONNRESET, the channel's handle_close runs (no error). */
static void drop_tcp(tp *p)
{
    if (!p->flag) {
        p->flag = true;
        shutdown(ac_fileno(&p->w.base), SHUT_RDWR);
    }
}

static void test_no_close_notify(void)
{
    fx f;
    tp *c;
    int destroyed;

    fx_open(&f, certs.server, certs.ca, 0);
    f.l.tmpl.echo = true;
    f.l.tmpl.keep = true;
    c = fx_client(&f, NULL, &c);
    c->source = c->want = 5000;
    CU_ASSERT(t_run_until(f.map, &c->done, 30000));
    destroyed = tp_destroyed;
    drop_tcp(c);
    while (tp_destroyed < destroyed + 2 && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_EQUAL(last_client.n_close, 1);
    CU_ASSERT_EQUAL(last_client.n_error, 0);
    CU_ASSERT_FALSE(last_client.peer_closed);
    CU_ASSERT_EQUAL(last_client.got, 5000);
    fx_done(&f);
}

/* close_notify right behind the last data, in one socket read, with the
 * TCP connection left open (openssl s_server -WWW does this): the end is
 * pending readiness too, or the reader never hears of it. */
static void test_close_notify_after_data(void)
{
    fx f;
    tp *c;
    int i;

    fx_open(&f, certs.server, certs.ca, 0);
    f.l.tmpl.source = 1000; /* one record: data and alert in one read */
    c = fx_client(&f, NULL, &c);
    c->keep = true;
    while (c->n_connect == 0 && t_step(f.map, 100) >= 0)
        ;
    c->paused = true;
    tp_interest(c);
    for (i = 0; i < 200 && f.l.last && (f.l.last->queued < f.l.last->source ||
                                      ac_with_send_pending(&f.l.last->w));
         i++)
        t_step(f.map, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.l.last);
    CU_ASSERT_EQUAL(ac_with_send_pending(&f.l.last->w), 0);
    CU_ASSERT_EQUAL(SSL_shutdown(ac_tls_ssl(&f.l.last->w.base)), 0);
    kept_gone = false;
    c->paused = false;
    tp_interest(c);
    t_changed_outside(f.map);
    /* nothing more comes from the socket: without pending readiness for
     * the end, the reader would wait for ever */
    CU_ASSERT(t_run_until(f.map, &kept_gone, 2000));
    CU_ASSERT_EQUAL(last_client.got, 1000);
    CU_ASSERT_EQUAL(last_client.bad, 0);
    CU_ASSERT_TRUE(last_client.peer_closed);
    fx_done(&f);
}

/* ---- C-94: closing inside a handler with output queued ---- */

static int reuse_fd = -1;
static tchan *reuser;

static void close_with_output(tp *p)
{
    static unsigned char big[100000];
    int fd = ac_fileno(&p->w.base);
    int sv[2];

    if (p->flag)
        return;
    p->flag = true;
    CU_ASSERT_EQUAL(ac_with_send(&p->w, big, sizeof(big)), 0);
    CU_ASSERT_EQUAL(ac_close(&p->w.base), 0);
    CU_ASSERT_EQUAL(ac_close(&p->w.base), -EBADF);
    CU_ASSERT_EQUAL(ac_send(&p->w.base, "x", 1), -EBADF);
    CU_ASSERT_FALSE(ac_tls_active(&p->w.base));
    /* the number comes back at once: the new channel sees nothing old */
    t_socketpair(sv);
    reuser = tchan_new(ac_dispatcher_get_map(&p->w.base));
    reuse_fd = sv[0] == fd ? sv[0] : sv[1] == fd ? sv[1] : -1;
    CU_ASSERT_EQUAL(ac_set_socket(&reuser->d, sv[0]), 0);
    close(sv[1]);
}

static void test_close_in_handler(void)
{
    fx f;
    tp *c;
    int destroyed = tp_destroyed;

    fx_open(&f, certs.server, certs.ca, 0);
    f.l.tmpl.source = 1u << 20;
    c = fx_client(&f, NULL, &c);
    c->on_got = close_with_output;
    reuser = NULL;
    while (c && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_PTR_NULL(c); /* destroyed, after the handler returned */
    CU_ASSERT_PTR_NOT_NULL_FATAL(reuser);
    CU_ASSERT_EQUAL(reuser->n_read, 0); /* no readiness of the old channel */
    /* the server sees the end (close_notify or a reset) and closes */
    while (f.l.last && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_EQUAL(tp_destroyed, destroyed + 2);
    (void)reuse_fd;
    fx_done(&f);
}

/* ---- async_chat over TLS: lines, close_when_done, lingering close ---- */

typedef struct tchat {
    ac_chat chat;
    int lines;
} tchat;

static void tchat_found(ac_chat *c)
{
    size_t n;
    const char *data = ac_chat_data(c, &n);
    tchat *t = AC_CONTAINER_OF(c, tchat, chat);

    t->lines++;
    if (n == 4 && memcmp(data, "quit", 4) == 0) {
        ac_chat_push(c, "bye\n", 4);
        ac_chat_close_when_done(c);
    } else {
        ac_chat_push(c, data, n);
        ac_chat_push(c, "\n", 1);
    }
    ac_chat_clear_data(c);
}

static void tchat_destroy(ac_dispatcher *d)
{
    free(AC_CONTAINER_OF(AC_CHAT_OF(d), tchat, chat));
    tp_destroyed++;
}

static const ac_chat_class tchat_class = {
    .base = {.name = "tls_chat", .parent = AC_CHAT_PARENT,
             .destroy = tchat_destroy},
    .found_terminator = tchat_found,
};

static void chat_accepted(tchan *t, int fd)
{
    tchat *c = calloc(1, sizeof(*c));

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(ac_chat_init(&c->chat, &tchat_class,
                                 ac_dispatcher_get_map(&t->d)), 0);
    CU_ASSERT_EQUAL(ac_chat_set_terminator(&c->chat, "\n", 1), 0);
    CU_ASSERT_EQUAL(ac_set_socket(&c->chat.base, fd), 0);
    CU_ASSERT_EQUAL(ac_tls_start(&c->chat.base, ((tl *)t->user)->ctx, NULL),
                    0);
}

static void test_chat_close_when_done(void)
{
    fx f;
    tp *c;
    int i, destroyed = tp_destroyed;
    char line[64];

    fx_open(&f, certs.server, certs.ca, 0);
    f.l.ch->on_accepted = chat_accepted;
    c = fx_client(&f, NULL, &c);
    c->keep = true;
    for (i = 0; i < 1000; i++) {
        snprintf(line, sizeof(line), "line %d\n", i);
        ac_with_send(&c->w, line, strlen(line));
    }
    ac_with_send(&c->w, "quit\n", 5);
    while (tp_destroyed < destroyed + 2 && t_step(f.map, 100) >= 0)
        ;
    CU_ASSERT_EQUAL(tp_destroyed, destroyed + 2);
    /* every line came back, then "bye", then close_notify */
    CU_ASSERT_TRUE(last_client.peer_closed);
    CU_ASSERT_EQUAL(last_client.n_close, 1);
    CU_ASSERT_EQUAL(last_client.n_error, 0);
    CU_ASSERT_EQUAL(last_client.got, 8890 + 4);
    fx_done(&f);
}

/* ---- arguments ---- */

static void test_arguments(void)
{
    ac_map *map = t_map_new();
    ac_tls_ctx *sc = server_ctx(certs.server, 0);
    ac_tls_ctx *cc = client_ctx(certs.ca, 0);
    ac_tls_opts o = {0};
    char err[256];
    tchan *t = tchan_new(map);
    struct sockaddr_storage addr;
    socklen_t len;
    tchan *lis = tchan_server(map, AF_INET, &addr, &len);

    errno = 0;
    CU_ASSERT_PTR_NULL(ac_tls_ctx_new(AC_TLS_SERVER, &o, err, sizeof(err)));
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "certificate"));
    o.cert_file = "/nonexistent/cert.pem";
    CU_ASSERT_PTR_NULL(ac_tls_ctx_new(AC_TLS_SERVER, &o, err, sizeof(err)));
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/cert.pem"));
    o.cert_file = certs.ca; /* a certificate without its key */
    o.key_file = certs.key;
    CU_ASSERT_PTR_NULL(ac_tls_ctx_new(AC_TLS_SERVER, &o, err, sizeof(err)));
    CU_ASSERT_EQUAL(errno, EPROTO);
    o.cert_file = certs.server;
    o.min_version = AC_TLS_1_3;
    o.max_version = AC_TLS_1_2;
    CU_ASSERT_PTR_NULL(ac_tls_ctx_new(AC_TLS_SERVER, &o, err, sizeof(err)));
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_PTR_NULL(ac_tls_ctx_new((ac_tls_role)7, NULL, NULL, 0));
    CU_ASSERT_EQUAL(errno, EINVAL);

    CU_ASSERT_EQUAL(ac_tls_start(NULL, cc, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_tls_start(&t->d, NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_tls_start(&t->d, cc, NULL), -EBADF); /* no socket */
    CU_ASSERT_EQUAL(ac_tls_start(&lis->d, sc, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ac_create_socket(&t->d, AF_INET, SOCK_STREAM), 0);
    CU_ASSERT_EQUAL(ac_tls_start(&t->d, sc, "name"), -EINVAL);
    CU_ASSERT_EQUAL(ac_tls_start(&t->d, cc, ""), -EINVAL);
    CU_ASSERT_FALSE(ac_tls_active(&t->d));
    CU_ASSERT_PTR_NULL(ac_tls_ssl(&t->d));
    CU_ASSERT_PTR_NULL(ac_tls_version(&t->d));
    CU_ASSERT_EQUAL(ac_tls_key_update(&t->d, false), -EINVAL);
    CU_ASSERT_EQUAL(ac_tls_ctx_role(sc), AC_TLS_SERVER);
    CU_ASSERT_PTR_NOT_NULL(ac_tls_ctx_ssl_ctx(cc));
    /* a channel put on TLS and closed before any I/O frees everything */
    CU_ASSERT_EQUAL(ac_tls_start(&t->d, cc, "localhost"), 0);
    CU_ASSERT_PTR_NOT_NULL(ac_tls_ssl(&t->d));
    CU_ASSERT_EQUAL(ac_close(&t->d), 0);
    CU_ASSERT_EQUAL(ac_close(&lis->d), 0);
    finish(map, NULL, sc, cc);
}

static CU_TestInfo tests[] = {
    {"echo over TLS 1.3, handle_connect after the handshake (C-91)",
     test_echo_tls13},
    {"echo over TLS 1.2 (C-91)", test_echo_tls12},
    {"close sends close_notify (C-91)", test_close_notify},
    {"100-byte reader, 16 KB records, 10 MB (C-90)", test_reader_100_bytes},
    {"1-byte reader, 16 KB records, 1 MB (C-90)", test_reader_1_byte},
    {"writes during the handshake wait for it (C-93)",
     test_write_during_handshake},
    {"a read that must write, under a full socket (C-93)",
     test_read_wants_write},
    {"key update mid-stream, both ways (C-91)", test_key_update},
    {"untrusted certificate refused (C-92)", test_untrusted},
    {"system store does not trust the test CA (C-92)",
     test_system_store_refuses_test_ca},
    {"expired certificate refused (C-92)", test_expired},
    {"certificate for another address refused (C-92)", test_wrong_address},
    {"certificate for another name refused (C-92)", test_wrong_name},
    {"certificate for the given name accepted", test_right_name},
    {"connect_host: its name is verified", test_connect_host_name_verified},
    {"connect_host: echo, pushed before connecting", test_connect_host_echo},
    {"server survives garbage (C-92)", test_garbage},
    {"server survives a truncated record (C-92)", test_truncated_record},
    {"server survives a peer that says nothing (C-92)", test_silent_peer},
    {"a peer closing without close_notify (C-92)", test_no_close_notify},
    {"close_notify in the read that brings the last data (C-90)",
     test_close_notify_after_data},
    {"close in a handler with output queued (C-94)", test_close_in_handler},
    {"async_chat over TLS, close_when_done (C-94)",
     test_chat_close_when_done},
    {"arguments and contexts", test_arguments},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("tls", tests);
}

int main(int argc, char **argv)
{
    int r;

    if (tc_certs_make(&certs) < 0)
        return 1;
    r = t_main(argc, argv, reg);
    tc_certs_remove(&certs);
    return r;
}
