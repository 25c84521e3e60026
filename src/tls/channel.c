/* The TLS layer on one channel: I/O operations that carry plaintext, and a
 * class of its own (its parent is the channel's class) that sees the
 * channel's readiness first, to run the handshake and the retries OpenSSL
 * asks for, and passes the rest on. Built on asyncore.h's layer mechanisms
 * only: ac_set_io, ac_set_class, ac_set_layer_interest, ac_set_pending. */
#include "tls_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

static const ac_io_ops tls_io;

#define ALL_EVENTS (AC_IN | AC_PRI | AC_OUT)

/* The channel's own behaviour for method `m`: its class chain, or the
 * base class. */
#define OWN(t, m)                                                   \
    __extension__({                                                 \
        const ac_dispatcher_class *k_ = (t)->own;                   \
        while (k_ && !k_->m)                                        \
            k_ = k_->parent;                                        \
        k_ ? k_->m : ac_base_class.m;                               \
    })

tls_chan *ac__tls_of(const ac_dispatcher *d)
{
    return d && ac_get_io(d) == &tls_io ? ac_get_io_data(d) : NULL;
}

#define T(d) ac__tls_of(d)

/* What the layer needs from the socket: the handshake's next step only,
 * or the channel's interest plus OpenSSL's retries. */
static int failed(tls_chan *t, int err, const char *why);

static void relayer(tls_chan *t)
{
    unsigned hold = 0, add = 0;
    int r;

    if (t->state == HANDSHAKE) {
        hold = ALL_EVENTS;
        add = t->hs_want;
    } else if (t->state == FAILED) {
        hold = AC_PRI | AC_OUT; /* a read still gets the error */
    } else if (!t->lingering) {
        add = (t->write_wants_read ? AC_IN : 0u) |
              (t->read_wants_write ? AC_OUT : 0u);
    }
    r = ac_set_layer_interest(t->lower.d, hold, add);
    if (r < 0 && t->state != FAILED) {
        /* the socket cannot be waited on as needed: the channel fails, and
         * its next read says so (found by system-call fault injection) */
        failed(t, r, "cannot wait on the socket");
        ac_set_pending(t->lower.d, AC_IN);
    }
}

static void set_reason(tls_chan *t, const char *why)
{
    free(t->reason);
    t->reason = strdup(why);
}

/* A failure: the channel stops (nothing more is waited for) and reports
 * `err` from now on. Returns `err`. */
static int failed(tls_chan *t, int err, const char *why)
{
    ac_dispatcher *d = t->lower.d;
    bool gone = err == -ECONNRESET || err == -EPIPE;

    char repr[160];

    set_reason(t, why);
    ac_log_info(d, gone ? AC_LOG_INFO : AC_LOG_ERROR, "%s: tls: %s",
                ac_repr(d, repr, sizeof(repr)), why);
    t->state = FAILED;
    t->failed = err;
    relayer(t);
    return err;
}

static int openssl_failed(tls_chan *t, int e)
{
    char why[256];
    int err = ac__tls_failure(t->ssl, e, &t->lower, why, sizeof(why));

    if (t->state == HANDSHAKE && err == -ECONNRESET && !t->lower.err)
        strcpy(why, "the peer closed the connection during the handshake");
    return failed(t, err, why);
}

/* Mark (or clear) readiness above the socket. If the map cannot record
 * it (no memory), the data OpenSSL holds could wait for ever: the channel
 * fails instead (found by allocation-failure injection). */
static int pending(tls_chan *t, bool ready)
{
    int r = ac_set_pending(t->lower.d, ready ? AC_IN : 0);

    return r < 0 ? failed(t, r, "cannot record pending input: out of memory")
                 : 0;
}

/* A failed handshake is the channel's error, whatever errno says. */
static void handshake_failed(tls_chan *t, int err)
{
    ac_handle_error(t->lower.d, err, "tls");
}

/* The name or address the server's certificate must be for. */
static int set_identity(tls_chan *t)
{
    X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
    const char *name = t->servername;
    char ip[INET6_ADDRSTRLEN];
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    unsigned char bin[16];

    if (!name) {
        if (ac_getpeername(t->lower.d, &ss, &len) < 0)
            return failed(t, -ENOTCONN, "no address to verify the server for");
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip,
                      sizeof(ip));
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip,
                      sizeof(ip));
        else
            return failed(t, -EINVAL, "not an IP socket: give a server name");
        name = ip;
    }
    if (inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1) {
        if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1)
            return failed(t, -EINVAL, "bad server address");
    } else if (SSL_set_tlsext_host_name(t->ssl, name) != 1 ||
               SSL_set1_host(t->ssl, name) != 1) {
        return failed(t, -EINVAL, "bad server name");
    }
    return 0;
}

static void established(tls_chan *t)
{
    ac_dispatcher *d = t->lower.d;

    t->state = OPEN;
    t->hs_want = 0;
    relayer(t);
    /* an accepted channel is told only if its class wants to know */
    if (!t->server || OWN(t, handle_connect) != ac_base_class.handle_connect) {
        OWN(t, handle_connect)(d);
        if (ac_closed(d))
            return; /* and `t` with it */
    }
    /* application data may have come with the handshake's last flight */
    if (SSL_has_pending(t->ssl) && pending(t, true) < 0)
        ac_handle_error(d, -t->failed, "tls");
}

static void handshake(tls_chan *t)
{
    int r, e;
    unsigned want;

    if (!t->server && SSL_get_state(t->ssl) == TLS_ST_BEFORE &&
        set_identity(t) < 0) {
        handshake_failed(t, t->failed);
        return;
    }
    t->lower.err = 0;
    ERR_clear_error();
    r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        established(t);
        return;
    }
    e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        want = e == SSL_ERROR_WANT_READ ? AC_IN : AC_OUT;
        if (want != t->hs_want) {
            t->hs_want = (unsigned char)want;
            relayer(t);
        }
        return;
    }
    handshake_failed(t, openssl_failed(t, e));
}

/* ---- the class: the channel's readiness, seen first ---- */

static void tls_handle_connect(ac_dispatcher *d)
{
    handshake(T(d)); /* TCP is up: now the handshake */
}

static void tls_handle_read(ac_dispatcher *d)
{
    tls_chan *t = T(d);
    unsigned own;

    if (t->state == HANDSHAKE) {
        handshake(t);
        return;
    }
    own = ac_get_interest(d);
    if (t->state == FAILED) {
        if (own & AC_IN)
            OWN(t, handle_read)(d); /* its recv reports the failure */
        return;
    }
    if (t->write_wants_read) {
        /* the write OpenSSL could not finish may go on now */
        t->write_wants_read = false;
        relayer(t);
        if (own & AC_OUT) {
            OWN(t, handle_write)(d);
            if (ac_closed(d))
                return;
        }
    }
    if (own & AC_IN)
        OWN(t, handle_read)(d);
}

static void tls_handle_write(ac_dispatcher *d)
{
    tls_chan *t = T(d);
    unsigned own;

    if (t->state != OPEN) {
        if (t->state == HANDSHAKE)
            handshake(t);
        return;
    }
    own = ac_get_interest(d);
    if (t->read_wants_write) {
        /* the read that had to write first may go on now */
        t->read_wants_write = false;
        relayer(t);
        if ((own & AC_IN) && pending(t, true) < 0) {
            ac_handle_error(d, -t->failed, "tls");
            return;
        }
    }
    if (own & AC_OUT)
        OWN(t, handle_write)(d);
}

static void tls_handle_expt(ac_dispatcher *d)
{
    tls_chan *t = T(d);

    if (t->state == OPEN)
        OWN(t, handle_expt)(d);
}

static void tls_handle_close(ac_dispatcher *d)
{
    tls_chan *t = T(d);

    if (t->state == HANDSHAKE)
        handshake_failed(t, failed(t, -ECONNRESET, "the peer closed the "
                                                   "connection during the "
                                                   "handshake"));
    else
        OWN(t, handle_close)(d);
}

/* ---- the I/O operations: plaintext ---- */

static ssize_t tls_send(ac_dispatcher *d, const void *buf, size_t len)
{
    tls_chan *t = ac_get_io_data(d);
    size_t n;
    int e;

    if (t->state != OPEN || t->shutdown_sent)
        return t->state == HANDSHAKE ? -EAGAIN : t->state == FAILED ? t->failed
                                                                    : -EPIPE;
    if (len == 0)
        return 0;
    t->lower.err = 0;
    ERR_clear_error();
    if (SSL_write_ex(t->ssl, buf, len > INT_MAX ? INT_MAX : len, &n))
        return (ssize_t)n;
    e = SSL_get_error(t->ssl, 0);
    if (e == SSL_ERROR_WANT_WRITE)
        return -EAGAIN; /* the channel still has the bytes: it will retry */
    if (e == SSL_ERROR_WANT_READ) {
        if (!t->write_wants_read) {
            t->write_wants_read = true;
            relayer(t);
        }
        return -EAGAIN;
    }
    return openssl_failed(t, e);
}

/* One SSL_read; > 0 bytes, or 0 with *err set (-EAGAIN, 0 at
 * close_notify, or a failure). */
static size_t read_once(tls_chan *t, char *buf, size_t len, int *err)
{
    size_t n;
    int e;

    t->lower.err = 0;
    ERR_clear_error();
    if (SSL_read_ex(t->ssl, buf, len > INT_MAX ? INT_MAX : len, &n))
        return n;
    e = SSL_get_error(t->ssl, 0);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *err = -EAGAIN;
        break;
    case SSL_ERROR_WANT_WRITE:
        if (!t->read_wants_write) {
            t->read_wants_write = true;
            relayer(t);
        }
        *err = -EAGAIN;
        break;
    case SSL_ERROR_ZERO_RETURN:
        t->peer_closed = true;
        *err = 0;
        break;
    default:
        *err = openssl_failed(t, e);
    }
    return 0;
}

static ssize_t tls_recv(ac_dispatcher *d, void *buf, size_t len)
{
    tls_chan *t = ac_get_io_data(d);
    size_t got = 0, n;
    int err = -EAGAIN;

    if (t->state != OPEN)
        return t->state == HANDSHAKE ? -EAGAIN : t->failed;
    if (t->peer_closed)
        return 0;
    /* Records OpenSSL already holds fill the buffer too: one recv of the
     * channel's can take what several socket reads brought. */
    do {
        n = read_once(t, (char *)buf + got, len - got, &err);
        got += n;
    } while (n && got < len && SSL_has_pending(t->ssl));
    /* What is left above the socket is readiness it cannot show: more
     * records, or the end (close_notify, a failure) after this data. */
    if (pending(t, (got == len && SSL_has_pending(t->ssl)) ||
                       (got && (t->peer_closed || t->state == FAILED))) < 0)
        return t->failed; /* the channel hears of it; these bytes go too */
    return got ? (ssize_t)got : err;
}

static int tls_shutdown(ac_dispatcher *d)
{
    tls_chan *t = ac_get_io_data(d);
    int r;

    if (t->state != OPEN)
        return -ENOTCONN;
    t->lingering = true;
    relayer(t);
    t->lower.err = 0;
    ERR_clear_error();
    r = SSL_shutdown(t->ssl);
    ERR_clear_error();
    if (r < 0)
        return -EAGAIN; /* close_notify did not fit: close at once */
    t->shutdown_sent = true;
    return t->lower.io->shutdown ? t->lower.io->shutdown(d) : 0;
}

/* The channel closes: close_notify if the session is sound, then the
 * channel gets its own class and I/O operations back (its destroy runs
 * later, as usual) and the layer below closes too. */
static void tls_close(ac_dispatcher *d)
{
    tls_chan *t = ac_get_io_data(d);

    if (t->state == OPEN && !t->shutdown_sent) {
        t->lower.err = 0;
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
    ac_set_class(d, t->own);
    ac_set_io(d, t->lower.io, t->lower.io_data);
    if (t->lower.io->close)
        t->lower.io->close(d);
    SSL_free(t->ssl);
    ac_tls_ctx_unref(t->ctx);
    free(t->servername);
    free(t->reason);
    free(t);
}

static const ac_io_ops tls_io = {
    .name = "tls",
    .send = tls_send,
    .recv = tls_recv,
    .shutdown = tls_shutdown,
    .close = tls_close,
};

/* Wrap the channel: our class over its own, our I/O over its own, and
 * the handshake's first wait. */
void ac__tls_install(tls_chan *t)
{
    ac_dispatcher *d = t->lower.d;

    t->own = ac_get_class(d);
    t->klass.base = (ac_dispatcher_class){
        .name = t->own->name,
        .parent = t->own,
        .handle_read = tls_handle_read,
        .handle_write = tls_handle_write,
        .handle_expt = tls_handle_expt,
        .handle_connect = tls_handle_connect,
        .handle_close = tls_handle_close,
    };
    ac_set_io(d, &tls_io, t);
    ac_set_class(d, &t->klass.base);
    t->state = HANDSHAKE;
    /* a server waits for the ClientHello; a connected client sends its
     * own; a connecting one hears of the connect first (the map waits
     * for it even under the layer's hold) */
    t->hs_want = t->server ? AC_IN : ac_connected(d) ? AC_OUT : 0;
    ac_set_pending(d, 0);
    relayer(t);
}
