/* Shared by the TLS layer's two files: the context (context.c: SSL_CTX,
 * the BIO onto the channel's own I/O operations, error reasons) and the
 * channel (channel.c: the class and I/O operations the layer installs). */
#ifndef ASYNCORE_TLS_INTERNAL_H
#define ASYNCORE_TLS_INTERNAL_H

#include <asyncore/tls.h>
#include <openssl/ssl.h>

#define AC__HIDDEN __attribute__((visibility("hidden")))

struct ac_tls_ctx {
    SSL_CTX *ssl_ctx;
    ac_tls_role role;
    int refs; /* atomic */
};

/* A BIO that reads and writes through the I/O operations the channel had
 * before TLS (the socket's: send with MSG_NOSIGNAL, never SIGPIPE). */
typedef struct ac__tls_lower {
    ac_dispatcher *d;
    const ac_io_ops *io;
    void *io_data;
    int err; /* errno of the last failed lower operation, 0 if none */
} ac__tls_lower;

AC__HIDDEN BIO *ac__tls_bio_new(ac__tls_lower *lower);

/* Why `ssl` failed after SSL_get_error() said `e`: a negative errno for
 * the channel, and a one-line reason in buf. */
AC__HIDDEN int ac__tls_failure(SSL *ssl, int e, const ac__tls_lower *lower,
                               char *buf, size_t size);

#endif
