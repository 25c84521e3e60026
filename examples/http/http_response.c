#include "http_response.h"

#include <stdbool.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *find(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;

    for (i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

/* Case-insensitive header lookup within [p, end): the value, trimmed. */
static long content_length(const char *p, const char *end, int *bad)
{
    static const char name[] = "content-length:";
    const size_t k = sizeof(name) - 1;

    while (p < end) {
        const char *eol = find(p, (size_t)(end - p), "\r\n");
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > k && strncasecmp(p, name, k) == 0) {
            const char *v = p + k;
            long n = 0;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            if (v == eol)
                *bad = 1;
            for (; v < eol && isdigit((unsigned char)*v); v++) {
                if (n > (0x7fffffffL - 9) / 10) {
                    *bad = 1;
                    return -1;
                }
                n = n * 10 + (*v - '0');
            }
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            if (v != eol)
                *bad = 1;
            return n;
        }
        p = eol + 2;
    }
    return -1;
}

int http_parse_response(const char *buf, size_t len, http_response *r,
                        const char **why)
{
    const char *hdr_end, *sp;
    int bad = 0;

    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0) {
        *why = "not an HTTP/1.x response";
        return -1;
    }
    sp = memchr(buf, ' ', len < 16 ? len : 16);
    if (!sp || (size_t)(sp - buf) + 4 > len || !isdigit((unsigned char)sp[1]) ||
        !isdigit((unsigned char)sp[2]) || !isdigit((unsigned char)sp[3])) {
        *why = "malformed status line";
        return -1;
    }
    r->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
    hdr_end = find(buf, len, "\r\n\r\n");
    if (!hdr_end) {
        *why = "response ended inside the headers";
        return -1;
    }
    r->body = hdr_end + 4;
    r->body_len = len - (size_t)(r->body - buf);
    r->content_length = content_length(buf, hdr_end + 2, &bad);
    if (bad) {
        *why = "malformed Content-Length";
        return -1;
    }
    if (r->content_length >= 0) {
        if (r->body_len < (size_t)r->content_length) {
            *why = "body shorter than Content-Length (truncated)";
            return -1;
        }
        r->body_len = (size_t)r->content_length;
    }
    return 0;
}

int http_parse_url(const char *url, char *host, size_t hostsz, int *port,
                   const char **path, bool *https, const char **why)
{
    const char *h, *end, *colon = NULL;
    size_t n;
    bool tls = https && strncmp(url, "https://", 8) == 0;

    if (!tls && strncmp(url, "http://", 7) != 0) {
        *why = https ? "only http:// and https:// URLs are supported"
                     : "only http:// URLs are supported";
        return -1;
    }
    if (https)
        *https = tls;
    h = url + (tls ? 8 : 7);
    end = h + strcspn(h, "/?#");
    *path = *end == '/' ? end : "/";
    if (*h == '[') { /* [v6]:port */
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb) {
            *why = "unterminated [ in host";
            return -1;
        }
        n = (size_t)(rb - h - 1);
        h++;
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        n = (size_t)((colon ? colon : end) - h);
    }
    if (n == 0 || n >= hostsz) {
        *why = "bad host";
        return -1;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    *port = tls ? 443 : 80;
    if (colon) {
        char *e;
        long p = strtol(colon + 1, &e, 10);
        if (e != end || p < 1 || p > 65535) {
            *why = "bad port";
            return -1;
        }
        *port = (int)p;
    }
    return 0;
}
