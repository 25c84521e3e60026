/* Test certificates with OpenSSL's API: EC P-256 keys, SHA-256 signatures,
 * the extensions a verifier looks at (basic constraints, key usage, SAN,
 * key identifiers). */
#include "certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY (24L * 3600)

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    bool ok;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A certificate for `key`, signed by `ca_key` as `ca` (NULL: self-signed
 * CA), valid from `from` to `to` seconds from now. */
static X509 *make(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, const char *cn,
                  const char *san, long from, long to)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *name;
    bool ok;

    if (!x)
        return NULL;
    name = X509_get_subject_name(x);
    ok = X509_set_version(x, 2) &&
         ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) &&
         X509_gmtime_adj(X509_getm_notBefore(x), from) &&
         X509_gmtime_adj(X509_getm_notAfter(x), to) &&
         X509_set_pubkey(x, key) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)cn, -1, -1, 0) &&
         X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name);
    if (ok && !ca)
        ok = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_ext(x, x, NID_subject_key_identifier, "hash");
    else if (ok)
        ok = add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, ca, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, ca, NID_ext_key_usage, "serverAuth,clientAuth") &&
             add_ext(x, ca, NID_subject_key_identifier, "hash") &&
             add_ext(x, ca, NID_authority_key_identifier, "keyid") &&
             (!san || add_ext(x, ca, NID_subject_alt_name, san));
    if (!ok || !X509_sign(x, ca_key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static bool write_pem(const char *path, X509 *a, X509 *b, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    bool ok = f != NULL;

    if (ok && a)
        ok = PEM_write_X509(f, a);
    if (ok && b)
        ok = PEM_write_X509(f, b);
    if (ok && key)
        ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    if (f && fclose(f) != 0)
        ok = false;
    return ok;
}

static void path(char *out, const tc_certs *c, const char *name)
{
    snprintf(out, 300, "%s/%s", c->dir, name);
}

int tc_certs_make(tc_certs *c)
{
    static const char *local = "DNS:localhost,IP:127.0.0.1,IP:::1";
    const char *tmp = getenv("TMPDIR");
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    EVP_PKEY *rogue_key = EVP_EC_gen("P-256");
    X509 *ca = NULL, *rogue = NULL, *leaf[5] = {NULL};
    bool ok;
    int i;

    memset(c, 0, sizeof(*c));
    snprintf(c->dir, sizeof(c->dir), "%s/ac-tls-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(c->dir)) {
        perror("mkdtemp");
        c->dir[0] = 0;
        return -1;
    }
    path(c->ca, c, "ca.pem");
    path(c->server, c, "server.pem");
    path(c->key, c, "key.pem");
    path(c->expired, c, "expired.pem");
    path(c->other, c, "other.pem");
    path(c->client, c, "client.pem");
    path(c->untrusted, c, "untrusted.pem");
    ok = ca_key && key && rogue_key &&
         (ca = make(ca_key, NULL, ca_key, "libasyncore test CA", NULL, -DAY,
                    30 * DAY)) &&
         (rogue = make(rogue_key, NULL, rogue_key, "nobody's CA", NULL, -DAY,
                       30 * DAY)) &&
         (leaf[0] = make(key, ca, ca_key, "localhost", local, -DAY, 30 * DAY)) &&
         (leaf[1] = make(key, ca, ca_key, "localhost", local, -30 * DAY,
                         -DAY)) &&
         (leaf[2] = make(key, ca, ca_key, "other.example", "DNS:other.example",
                         -DAY, 30 * DAY)) &&
         (leaf[3] = make(key, ca, ca_key, "test client", NULL, -DAY,
                         30 * DAY)) &&
         (leaf[4] = make(key, rogue, rogue_key, "localhost", local, -DAY,
                         30 * DAY)) &&
         write_pem(c->ca, ca, NULL, NULL) &&
         write_pem(c->key, NULL, NULL, key) &&
         write_pem(c->server, leaf[0], ca, NULL) &&
         write_pem(c->expired, leaf[1], ca, NULL) &&
         write_pem(c->other, leaf[2], ca, NULL) &&
         write_pem(c->client, leaf[3], ca, NULL) &&
         write_pem(c->untrusted, leaf[4], rogue, NULL);
    for (i = 0; i < 5; i++)
        X509_free(leaf[i]);
    X509_free(ca);
    X509_free(rogue);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    EVP_PKEY_free(rogue_key);
    if (!ok) {
        fprintf(stderr, "tc_certs_make: OpenSSL failed\n");
        tc_certs_remove(c);
        return -1;
    }
    return 0;
}

void tc_certs_remove(tc_certs *c)
{
    const char *files[] = {c->ca, c->server, c->key, c->expired,
                           c->other, c->client, c->untrusted};
    size_t i;

    if (!c->dir[0])
        return;
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (files[i][0])
            unlink(files[i]);
    rmdir(c->dir);
    c->dir[0] = 0;
}
