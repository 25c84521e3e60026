/* The TLS layer's per-channel API: putting a channel on TLS, what can be
 * asked of it, key updates. */
#include "tls_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#define T(d) ac__tls_of(d)

static tls_chan *tls_new(ac_dispatcher *d, ac_tls_ctx *ctx,
                         const char *servername)
{
    tls_chan *t = calloc(1, sizeof(*t));
    BIO *bio;

    if (!t)
        return NULL;
    t->lower.d = d;
    t->lower.io = ac_get_io(d);
    t->lower.io_data = ac_get_io_data(d);
    t->ssl = SSL_new(ctx->ssl_ctx);
    bio = ac__tls_bio_new(&t->lower);
    if (servername)
        t->servername = strdup(servername);
    if (!t->ssl || !bio || (servername && !t->servername)) {
        BIO_free(bio);
        SSL_free(t->ssl);
        free(t->servername);
        free(t);
        return NULL;
    }
    SSL_set_bio(t->ssl, bio, bio);
    return t;
}

int ac_tls_start(ac_dispatcher *d, ac_tls_ctx *ctx, const char *servername)
{
    tls_chan *t;

    if (!d || !ctx)
        return -EINVAL;
    /* (connecting by name: no descriptor until handle_connect) */
    if (ac_closed(d) || (ac_fileno(d) < 0 && !ac_connecting(d)))
        return -EBADF;
    if (T(d))
        return -EALREADY;
    if (ac_accepting(d) ||
        (servername && (ctx->role == AC_TLS_SERVER || !*servername)))
        return -EINVAL;
    /* a channel connecting by name verifies that name (and sends it) */
    if (!servername && ctx->role == AC_TLS_CLIENT)
        servername = ac_connect_host_name(d);
    t = tls_new(d, ctx, servername);
    if (!t)
        return -ENOMEM;
    t->ctx = ac_tls_ctx_ref(ctx);
    t->server = ctx->role == AC_TLS_SERVER;
    if (t->server)
        SSL_set_accept_state(t->ssl);
    else
        SSL_set_connect_state(t->ssl);
    ac__tls_install(t);
    return 0;
}

bool ac_tls_active(const ac_dispatcher *d)
{
    return T(d) != NULL;
}

bool ac_tls_established(const ac_dispatcher *d)
{
    tls_chan *t = T(d);
    return t && t->state == OPEN;
}

const char *ac_tls_version(const ac_dispatcher *d)
{
    tls_chan *t = T(d);
    return t && t->state == OPEN ? SSL_get_version(t->ssl) : NULL;
}

const char *ac_tls_cipher(const ac_dispatcher *d)
{
    tls_chan *t = T(d);
    return t && t->state == OPEN ? SSL_get_cipher_name(t->ssl) : NULL;
}

const char *ac_tls_reason(const ac_dispatcher *d)
{
    tls_chan *t = T(d);
    return t ? t->reason : NULL;
}

bool ac_tls_peer_closed(const ac_dispatcher *d)
{
    tls_chan *t = T(d);
    return t && t->peer_closed;
}

int ac_tls_key_update(ac_dispatcher *d, bool update_peer)
{
    tls_chan *t = T(d);
    int r;

    if (!t)
        return -EINVAL;
    if (t->state != OPEN)
        return -ENOTCONN;
    if (SSL_version(t->ssl) < TLS1_3_VERSION)
        return -EOPNOTSUPP;
    ERR_clear_error();
    if (SSL_key_update(t->ssl, update_peer ? SSL_KEY_UPDATE_REQUESTED
                                           : SSL_KEY_UPDATE_NOT_REQUESTED) != 1) {
        ERR_clear_error();
        return -EPROTO;
    }
    /* send it now if the socket takes it; else it goes before the next
     * data (SSL_write sends a scheduled update first) */
    t->lower.err = 0;
    r = SSL_do_handshake(t->ssl);
    ERR_clear_error();
    (void)r;
    return 0;
}

void *ac_tls_ssl(const ac_dispatcher *d)
{
    tls_chan *t = T(d);
    return t ? t->ssl : NULL;
}
