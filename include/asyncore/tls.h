/**
 * @file
 * tls.h - TLS (OpenSSL 3) under any channel, on every host.
 *
 * Link with `pkg-config asyncore-tls`. A layer, built on the public layer
 * mechanisms of asyncore.h only: put a connected, connecting or accepted
 * socket channel of any class (the base class, dispatcher_with_send,
 * async_chat, your own) on TLS with ac_tls_start(), and from then on
 *
 * - handle_connect runs once the handshake is done, not when TCP connects
 *   (on accepted channels too, if their class defines one); until then no
 *   handler of the channel runs for readiness, ac_send() takes nothing
 *   (returns 0: with_send and async_chat keep what is pushed and send it
 *   after the handshake) and ac_recv() returns -EAGAIN;
 * - ac_send(), ac_recv() and everything above them carry plaintext;
 * - WANT_READ during a write and WANT_WRITE during a read are the layer's
 *   business: it waits on the socket for what OpenSSL needs and lets the
 *   channel retry when it can;
 * - plaintext that OpenSSL holds above an empty socket (a reader that
 *   takes 100 bytes of a 16 KB record) is pending readiness: the channel
 *   is dispatched again without waiting, in every host, so nothing stalls;
 * - ac_close() sends close_notify (best effort: what the socket takes);
 *   ac_close_lingering() and async_chat's close_when_done send it, then
 *   shut down writing and wait for the peer;
 * - a TLS failure reaches handle_error(d, err, "tls"), with OpenSSL's
 *   reason logged at AC_LOG_ERROR and kept for ac_tls_reason():
 *   EKEYREJECTED (the peer's certificate is not trusted or not for this
 *   host), EKEYEXPIRED (expired, or not valid yet), EPROTO (anything else
 *   in the protocol), ECONNRESET (the peer closed during the handshake).
 *   After the handshake, a peer that closes without close_notify makes
 *   ac_recv() return -ECONNRESET (a possible truncation) instead of 0;
 *   both run handle_close.
 *
 * What is verified by default: a client checks the server's certificate
 * chain against `ca_file` or the system store, its dates, and that it was
 * issued for the name given to ac_tls_start() (DNS name, also sent as SNI)
 * or, without one, for the IP address connected to. TLS 1.2 and 1.3 only;
 * renegotiation off.
 *
 * One rule OpenSSL imposes on writers: after ac_send() returned 0 on a TLS
 * channel with data, the next ac_send() must start with the same bytes
 * (it may pass more, and from another address). with_send, async_chat and
 * any "send from the head of my buffer" writer do this.
 */
#ifndef ASYNCORE_TLS_H
#define ASYNCORE_TLS_H

#include <asyncore/asyncore.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Certificates, keys and settings shared by many channels (OpenSSL's
 * SSL_CTX). Reference-counted; thread-safe to share between maps. */
typedef struct ac_tls_ctx ac_tls_ctx;

/** Which end of the handshake a context is for. */
typedef enum {
    AC_TLS_CLIENT = 0,
    AC_TLS_SERVER = 1
} ac_tls_role;

/** Protocol versions for ac_tls_opts (the TLS wire values). */
enum {
    AC_TLS_1_2 = 0x0303,
    AC_TLS_1_3 = 0x0304
};

/** What a context is made of. Zero-initialise and set what you need. */
typedef struct ac_tls_opts {
    /** PEM certificate chain (leaf first): required for a server; a
     * client's own certificate, if the server asks for one. */
    const char *cert_file;
    /** PEM private key for cert_file; NULL: it is in cert_file. */
    const char *key_file;
    /** PEM CA certificates to trust. Client: instead of the system store.
     * Server: ask clients for a certificate and require one from it. */
    const char *ca_file;
    /** Client: do not verify the server at all. For tests only. */
    bool insecure;
    /** Lowest protocol version (AC_TLS_1_2, AC_TLS_1_3); 0: TLS 1.2. */
    int min_version;
    /** Highest protocol version; 0: the newest OpenSSL offers. */
    int max_version;
} ac_tls_opts;

/** Make a context. NULL with errno (EINVAL for bad arguments, ENOENT for
 * a missing file, EPROTO for a file OpenSSL rejects, ENOMEM), and a
 * one-line reason in `err` (may be NULL) of `errlen` bytes. */
AC_EXTERN ac_tls_ctx *ac_tls_ctx_new(ac_tls_role role,
                                     const ac_tls_opts *opts, char *err,
                                     size_t errlen);
/** Take a reference; returns `ctx`. */
AC_EXTERN ac_tls_ctx *ac_tls_ctx_ref(ac_tls_ctx *ctx);
/** Drop a reference (ac_tls_ctx_new gave one); channels hold their own,
 * so the creator may drop its reference at once. NULL is ignored. */
AC_EXTERN void ac_tls_ctx_unref(ac_tls_ctx *ctx);
/** OpenSSL's SSL_CTX, to tune what this header does not cover (ciphers,
 * ALPN, session cache). Change it before channels use the context. */
AC_EXTERN void *ac_tls_ctx_ssl_ctx(const ac_tls_ctx *ctx);
/** The role the context was made for. */
AC_EXTERN ac_tls_role ac_tls_ctx_role(const ac_tls_ctx *ctx);

/** Put channel `d` on TLS with `ctx`: the client or server end of the
 * handshake as the context's role says. `d` is an open socket channel
 * (created, connecting, connected or accepted; not listening) in a map,
 * whose class and I/O operations the layer now wraps. `servername`
 * (client only): the DNS name (sent as SNI, checked against the
 * certificate) or IP address to verify; NULL: the host given to
 * ac_connect_host() if the channel is connecting by name, else the
 * address connected to.
 * 0, -EINVAL (bad arguments, a listener, a server name for a server),
 * -EBADF (closed), -EALREADY (already on TLS), -ENOMEM, -EPROTO. */
AC_EXTERN int ac_tls_start(ac_dispatcher *d, ac_tls_ctx *ctx,
                           const char *servername);

/** Whether the channel is on TLS. */
AC_EXTERN bool ac_tls_active(const ac_dispatcher *d);
/** Whether its handshake is done (handle_connect ran or is running). */
AC_EXTERN bool ac_tls_established(const ac_dispatcher *d);
/** "TLSv1.3", "TLSv1.2" once established; NULL otherwise. */
AC_EXTERN const char *ac_tls_version(const ac_dispatcher *d);
/** The cipher suite's name once established; NULL otherwise. */
AC_EXTERN const char *ac_tls_cipher(const ac_dispatcher *d);
/** Why the last TLS operation of the channel failed (what was logged), or
 * NULL. Valid until the channel closes: read it in handle_error. */
AC_EXTERN const char *ac_tls_reason(const ac_dispatcher *d);
/** Whether the peer ended the session with close_notify. */
AC_EXTERN bool ac_tls_peer_closed(const ac_dispatcher *d);

/** TLS 1.3 key update: new traffic keys for what we send from now on, and
 * with `update_peer` the peer is asked to do the same. Sent at once if the
 * socket takes it, else before the next data. 0, -ENOTCONN (handshake not
 * done), -EOPNOTSUPP (TLS 1.2), -EINVAL, -EPROTO. */
AC_EXTERN int ac_tls_key_update(ac_dispatcher *d, bool update_peer);

/** OpenSSL's SSL object of the channel (NULL if not on TLS), for what
 * this header does not cover. Do not read or write through it. */
AC_EXTERN void *ac_tls_ssl(const ac_dispatcher *d);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCORE_TLS_H */
