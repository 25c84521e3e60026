/* Parsing of an HTTP/1.0 response held whole in memory. Kept apart from
 * the client so it can be tested and fuzzed on its own. */
#ifndef AC_EXAMPLES_HTTP_RESPONSE_H
#define AC_EXAMPLES_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int status;          /* e.g. 200 */
    const char *body;    /* points into the parsed buffer */
    size_t body_len;
    long content_length; /* -1 when absent */
} http_response;

/* 0 on success; otherwise -1 and a static reason in *why. A response
 * whose body is shorter than its Content-Length is an error (truncated). */
int http_parse_response(const char *buf, size_t len, http_response *r,
                        const char **why);

/* Split "http://host[:port][/path]" into parts (host without brackets);
 * with `https` non-NULL, "https://" too (port 443 by default), and *https
 * says which. 0 on success, -1 with *why otherwise. */
int http_parse_url(const char *url, char *host, size_t hostsz, int *port,
                   const char **path, bool *https, const char **why);

#endif
