/* The examples' TLS options: --tls-cert/--tls-key (servers), --tls, --ca
 * and --servername (clients). Without asyncore-tls in the build they are
 * refused with a clear message. */
#ifndef AC_EXAMPLES_TLS_OPTS_H
#define AC_EXAMPLES_TLS_OPTS_H

#include <asyncore/asyncore.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ex_tls {
    const char *cert, *key;       /* server */
    const char *ca, *servername;  /* client */
    bool client;                  /* --tls given */
    void *ctx;                    /* the ac_tls_ctx, once set up */
} ex_tls;

/* True if argv[*i] is one of the options above (*i advanced past its
 * value); `server` says which set the program takes. */
bool ex_tls_option(int argc, char **argv, int *i, ex_tls *t, bool server);
/* Check the combination and make the context (nothing if TLS was not
 * asked for); exits with a one-line reason on failure. */
void ex_tls_setup(ex_tls *t, bool server);
/* Whether TLS is on. */
bool ex_tls_on(const ex_tls *t);
/* Put `d` on TLS if it is on (client: verify `name`, or --servername, or
 * the address): 0 or a negative errno. */
int ex_tls_start(const ex_tls *t, ac_dispatcher *d, const char *name);
/* "where: strerror", with OpenSSL's reason for a "tls" failure. */
const char *ex_tls_describe(ac_dispatcher *d, int err, const char *where,
                            char *buf, size_t size);
/* Drop the context. */
void ex_tls_done(ex_tls *t);

#ifdef __cplusplus
}
#endif

#endif
