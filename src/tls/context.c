/* TLS contexts, the BIO that puts OpenSSL on a channel's own I/O
 * operations, and the mapping of OpenSSL's failures to errno values and
 * one-line reasons. */
#include "tls_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *openssl_reason(void)
{
    const char *r = ERR_reason_error_string(ERR_peek_error());
    return r ? r : "rejected by OpenSSL";
}

static bool version_ok(int v)
{
    return v == 0 || v == AC_TLS_1_2 || v == AC_TLS_1_3;
}

/* The arguments, before OpenSSL sees them: a reason for each mistake. */
static int check_opts(ac_tls_role role, const ac_tls_opts *o, char *err,
                      size_t errlen)
{
    const char *files[3] = {o->cert_file, o->key_file, o->ca_file};
    size_t i;

    if (role != AC_TLS_CLIENT && role != AC_TLS_SERVER) {
        say(err, errlen, "unknown TLS role %d", (int)role);
        return EINVAL;
    }
    if (role == AC_TLS_SERVER && !o->cert_file) {
        say(err, errlen, "a TLS server needs a certificate (cert_file)");
        return EINVAL;
    }
    if (o->key_file && !o->cert_file) {
        say(err, errlen, "a key (key_file) without its certificate");
        return EINVAL;
    }
    if (!version_ok(o->min_version) || !version_ok(o->max_version) ||
        (o->max_version && o->min_version > o->max_version)) {
        say(err, errlen, "bad TLS version range %#x..%#x", o->min_version,
            o->max_version);
        return EINVAL;
    }
    for (i = 0; i < 3; i++) {
        if (files[i] && access(files[i], R_OK) < 0) {
            int e = errno;
            say(err, errlen, "%s: %s", files[i], strerror(e));
            return e;
        }
    }
    return 0;
}

static int load(SSL_CTX *c, ac_tls_role role, const ac_tls_opts *o,
                char *err, size_t errlen)
{
    const char *key = o->key_file ? o->key_file : o->cert_file;

    if (o->cert_file &&
        (SSL_CTX_use_certificate_chain_file(c, o->cert_file) != 1 ||
         SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(c) != 1)) {
        say(err, errlen, "%s, %s: %s", o->cert_file, key, openssl_reason());
        return EPROTO;
    }
    if (o->ca_file && SSL_CTX_load_verify_file(c, o->ca_file) != 1) {
        say(err, errlen, "%s: %s", o->ca_file, openssl_reason());
        return EPROTO;
    }
    if (role == AC_TLS_CLIENT) {
        if (!o->ca_file && SSL_CTX_set_default_verify_paths(c) != 1) {
            say(err, errlen, "the system's CA store: %s", openssl_reason());
            return EPROTO;
        }
        SSL_CTX_set_verify(c, o->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                           NULL);
    } else if (o->ca_file) {
        SSL_CTX_set_client_CA_list(c, SSL_load_client_CA_file(o->ca_file));
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                           NULL);
    }
    return 0;
}

ac_tls_ctx *ac_tls_ctx_new(ac_tls_role role, const ac_tls_opts *opts,
                           char *err, size_t errlen)
{
    static const ac_tls_opts none;
    ac_tls_ctx *ctx;
    SSL_CTX *c;
    int e;

    say(err, errlen, "%s", "");
    if (!opts)
        opts = &none;
    if ((e = check_opts(role, opts, err, errlen)) != 0) {
        errno = e;
        return NULL;
    }
    ctx = calloc(1, sizeof(*ctx));
    c = SSL_CTX_new(role == AC_TLS_SERVER ? TLS_server_method()
                                          : TLS_client_method());
    if (!ctx || !c) {
        free(ctx);
        SSL_CTX_free(c);
        say(err, errlen, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, opts->min_version ? opts->min_version
                                                       : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(c, opts->max_version);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
    /* A write may end at a record boundary and be retried from a moved
     * buffer (with_send compacts, async_chat coalesces); idle connections
     * give their 16 KB read and write buffers back. */
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    /* Whole socket reads instead of a header and a body per record, and
     * up to 64 KB of them at a time (four full records per recv). */
    SSL_CTX_set_read_ahead(c, 1);
    SSL_CTX_set_default_read_buffer_len(c, 65536);
    SSL_CTX_set_session_id_context(c, (const unsigned char *)"asyncore", 8);
    if ((e = load(c, role, opts, err, errlen)) != 0) {
        ERR_clear_error();
        SSL_CTX_free(c);
        free(ctx);
        errno = e;
        return NULL;
    }
    ctx->ssl_ctx = c;
    ctx->role = role;
    ctx->refs = 1;
    return ctx;
}

ac_tls_ctx *ac_tls_ctx_ref(ac_tls_ctx *ctx)
{
    if (ctx)
        __atomic_add_fetch(&ctx->refs, 1, __ATOMIC_RELAXED);
    return ctx;
}

void ac_tls_ctx_unref(ac_tls_ctx *ctx)
{
    if (ctx && __atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        SSL_CTX_free(ctx->ssl_ctx);
        free(ctx);
    }
}

void *ac_tls_ctx_ssl_ctx(const ac_tls_ctx *ctx)
{
    return ctx ? ctx->ssl_ctx : NULL;
}

ac_tls_role ac_tls_ctx_role(const ac_tls_ctx *ctx)
{
    return ctx ? ctx->role : AC_TLS_CLIENT;
}

/* ---- the BIO onto the channel's lower I/O operations ---- */

static int bio_write(BIO *b, const char *buf, int len)
{
    ac__tls_lower *l = BIO_get_data(b);
    ssize_t n = l->io->send(l->d, buf, (size_t)len);

    BIO_clear_retry_flags(b);
    if (n > 0 || (n == 0 && len == 0))
        return (int)n;
    if (n == 0 || n == -EAGAIN) {
        BIO_set_retry_write(b);
        return -1;
    }
    l->err = (int)-n;
    errno = l->err;
    return -1;
}

static int bio_read(BIO *b, char *buf, int len)
{
    ac__tls_lower *l = BIO_get_data(b);
    ssize_t n = l->io->recv(l->d, buf, (size_t)len);

    BIO_clear_retry_flags(b);
    if (n >= 0)
        return (int)n;
    if (n == -EAGAIN) {
        BIO_set_retry_read(b);
        return -1;
    }
    l->err = (int)-n;
    errno = l->err;
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *bio_method;

static void make_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                 "asyncore channel");

    if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
        BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create))
        bio_method = m;
    else
        BIO_meth_free(m);
}

BIO *ac__tls_bio_new(ac__tls_lower *lower)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    BIO *b;

    pthread_once(&once, make_method);
    if (!bio_method || !(b = BIO_new(bio_method)))
        return NULL;
    BIO_set_data(b, lower);
    return b;
}

/* ---- failures ---- */

int ac__tls_failure(SSL *ssl, int e, const ac__tls_lower *lower, char *buf,
                    size_t size)
{
    unsigned long code = ERR_peek_error();
    long verify = SSL_get_verify_result(ssl);
    int r;

    if (e == SSL_ERROR_SYSCALL ||
        (e == SSL_ERROR_SSL &&
         ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        if (lower->err) {
            say(buf, size, "%s", strerror(lower->err));
            r = -lower->err;
        } else {
            say(buf, size, "the peer closed the connection without "
                           "close_notify");
            r = -ECONNRESET;
        }
    } else if (e == SSL_ERROR_SSL && verify != X509_V_OK &&
               ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        say(buf, size, "certificate verify failed: %s",
            X509_verify_cert_error_string(verify));
        r = verify == X509_V_ERR_CERT_HAS_EXPIRED ||
                    verify == X509_V_ERR_CERT_NOT_YET_VALID
                ? -EKEYEXPIRED
                : -EKEYREJECTED;
    } else if (e == SSL_ERROR_SSL) {
        say(buf, size, "%s", openssl_reason());
        r = -EPROTO;
    } else {
        say(buf, size, "OpenSSL error %d", e);
        r = -EPROTO;
    }
    ERR_clear_error();
    return r;
}
