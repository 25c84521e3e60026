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

enum { HANDSHAKE, OPEN, FAILED };

typedef struct tls_chan {
    ac_layer_class klass;           /* ours; its parent is `own` */
    const ac_dispatcher_class *own; /* the channel's class, put back at close */
    ac__tls_lower lower;
    ac_tls_ctx *ctx;
    SSL *ssl;
    char *servername;
    char *reason;
    int failed;          /* the negative errno a failed channel reports */
    unsigned char state;
    unsigned char hs_want; /* AC_IN or AC_OUT: what the handshake waits for */
    bool server;
    bool write_wants_read, read_wants_write;
    bool lingering, shutdown_sent, peer_closed;
} tls_chan;

/* The channel's TLS state, NULL if it is not on TLS (channel.c). */
AC__HIDDEN tls_chan *ac__tls_of(const ac_dispatcher *d);
/* Install the layer's class and I/O over the channel's (channel.c). */
AC__HIDDEN void ac__tls_install(tls_chan *t);

/* Why `ssl` failed after SSL_get_error() said `e`: a negative errno for
 * the channel, and a one-line reason in buf. */
AC__HIDDEN int ac__tls_failure(SSL *ssl, int e, const ac__tls_lower *lower,
                               char *buf, size_t size);

#endif
