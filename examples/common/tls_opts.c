#include "tls_opts.h"
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef HAVE_ASYNCORE_TLS
#include <asyncore/tls.h>
#endif

bool ex_tls_option(int argc, char **argv, int *i, ex_tls *t, bool server)
{
    const char *o = argv[*i];

    if (server && !strcmp(o, "--tls-cert"))
        t->cert = ex_value(argc, argv, i);
    else if (server && !strcmp(o, "--tls-key"))
        t->key = ex_value(argc, argv, i);
    else if (!server && !strcmp(o, "--tls"))
        t->client = true;
    else if (!server && !strcmp(o, "--ca"))
        t->ca = ex_value(argc, argv, i);
    else if (!server && !strcmp(o, "--servername"))
        t->servername = ex_value(argc, argv, i);
    else
        return false;
    return true;
}

bool ex_tls_on(const ex_tls *t)
{
    return t->ctx != NULL;
}

#ifdef HAVE_ASYNCORE_TLS
void ex_tls_setup(ex_tls *t, bool server)
{
    ac_tls_opts o = {0};
    char err[512];

    if (server) {
        if (!t->cert && !t->key)
            return;
        if (!t->cert || !t->key)
            ex_usage_error("--tls-cert and --tls-key go together");
        o.cert_file = t->cert;
        o.key_file = t->key;
    } else {
        if (!t->client && (t->ca || t->servername))
            t->client = true; /* --ca or --servername imply --tls */
        if (!t->client)
            return;
        o.ca_file = t->ca;
    }
    t->ctx = ac_tls_ctx_new(server ? AC_TLS_SERVER : AC_TLS_CLIENT, &o, err,
                            sizeof(err));
    if (!t->ctx)
        ex_fail("TLS: %s", err);
}

int ex_tls_start(const ex_tls *t, ac_dispatcher *d, const char *name)
{
    if (!t->ctx)
        return 0;
    if (ac_tls_ctx_role(t->ctx) == AC_TLS_SERVER)
        name = NULL;
    else if (t->servername)
        name = t->servername;
    return ac_tls_start(d, t->ctx, name);
}

const char *ex_tls_describe(ac_dispatcher *d, int err, const char *where,
                            char *buf, size_t size)
{
    const char *why = ac_tls_reason(d);

    if (why && !strcmp(where, "tls"))
        snprintf(buf, size, "tls: %s", why);
    else
        snprintf(buf, size, "%s: %s", where, ac_strerror(err));
    return buf;
}

void ex_tls_done(ex_tls *t)
{
    ac_tls_ctx_unref(t->ctx);
    t->ctx = NULL;
}
#else
void ex_tls_setup(ex_tls *t, bool server)
{
    if (t->cert || t->key || t->client || t->ca || t->servername)
        ex_usage_error("built without TLS (asyncore-tls needs OpenSSL 3)");
    (void)server;
}

int ex_tls_start(const ex_tls *t, ac_dispatcher *d, const char *name)
{
    (void)t;
    (void)d;
    (void)name;
    return 0;
}

const char *ex_tls_describe(ac_dispatcher *d, int err, const char *where,
                            char *buf, size_t size)
{
    (void)d;
    snprintf(buf, size, "%s: %s", where, ac_strerror(err));
    return buf;
}

void ex_tls_done(ex_tls *t)
{
    (void)t;
}
#endif
