/* Certificates for the TLS tests, made fresh by each test run: a test CA,
 * a server certificate for localhost, 127.0.0.1 and ::1, an expired one,
 * one for another name, a client certificate, and a CA nobody trusts.
 * PEM files in a new directory under $TMPDIR. */
#ifndef AC_TLS_CERTS_H
#define AC_TLS_CERTS_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_certs {
    char dir[256];
    char ca[300];          /* the CA to trust */
    char server[300];      /* localhost, 127.0.0.1, ::1; chain with the CA */
    char key[300];         /* the key of every leaf certificate */
    char expired[300];     /* localhost etc., expired yesterday */
    char other[300];       /* other.example only */
    char client[300];      /* CN=test client, for client authentication */
    char untrusted[300];   /* localhost etc., signed by an unknown CA */
} tc_certs;

/* Make them in a new directory; 0 or -1 (reason on stderr). */
int tc_certs_make(tc_certs *c);
/* Remove the files and the directory. */
void tc_certs_remove(tc_certs *c);

#ifdef __cplusplus
}
#endif

#endif
