/* http_server's request side, without I/O (so the fuzzer reaches all of
 * it): the request line, header fields, the target turned into a path
 * under the root, byte ranges, HTTP dates, content types. */
#ifndef AC_EXAMPLES_HTTP_REQUEST_H
#define AC_EXAMPLES_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits (http_server --help lists them). */
#define HTTP_MAX_LINE 8192     /* request line, bytes: 414 beyond */
#define HTTP_MAX_HEADERS 16384 /* header section, bytes: 431 beyond */
#define HTTP_MAX_FIELDS 100    /* header fields: 431 beyond */
#define HTTP_MAX_BODY 1048576  /* a body we read past unread: 413 beyond */

enum { HTTP_GET, HTTP_HEAD, HTTP_OTHER };

typedef struct http_request {
    int method;           /* HTTP_GET, HTTP_HEAD or HTTP_OTHER (405) */
    int minor;            /* HTTP/1.minor */
    char path[HTTP_MAX_LINE]; /* under the root, no leading '/'; "" = root */
    bool dir;             /* the target ended in '/' */
    bool keep_alive;
    int hosts;            /* Host fields seen */
    int fields;
    int64_t ims;          /* If-Modified-Since, or -1 */
    char range[128];      /* the Range value ("" when none) */
    int64_t body;         /* Content-Length, or -1 */
    bool chunked;         /* Transfer-Encoding: a body we cannot skip */
} http_request;

/* Start a request from its request line (no CR or LF): 0, or the status to
 * answer: 400 (malformed), 403 (a target that leaves the root), 405 (not
 * GET or HEAD: r->method says HTTP_OTHER, and the rest is parsed), 505
 * (not HTTP/1.x). */
int http_request_line(http_request *r, const char *line, size_t len);

/* One header field line (no CR or LF): 0 or 400. */
int http_header(http_request *r, const char *line, size_t len);

/* After the empty line: 0, or 400 (an HTTP/1.1 request without exactly one
 * Host). */
int http_headers_done(http_request *r);

/* The request target as a path under the root: percent-decoded, "." and
 * ".." refused (403) rather than resolved, as are encoded '/' or '\',
 * backslashes, empty segments ("//") and NUL (400); "http://host/x"
 * becomes "x". Writes at most `size` bytes, NUL-terminated; sets *dir
 * when it ends in '/'. 0, 400, 403 or 414. */
int http_target(const char *t, size_t len, char *out, size_t size, bool *dir);

/* A Range value for a body of `size` bytes: 1 and the one range in
 * *start and *len; 0 to send the whole body (no range, or one we ignore:
 * several ranges, another unit, bad syntax); -1 when it cannot be
 * satisfied (416). */
int http_range(const char *spec, uint64_t size, uint64_t *start,
               uint64_t *len);

/* An HTTP date (IMF-fixdate, RFC 850 or asctime) as seconds since the
 * epoch, or -1. */
int64_t http_parse_date(const char *s, size_t len);
/* IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT": 29 characters and NUL. */
void http_format_date(int64_t t, char out[30]);

/* Content-Type by the name's extension (application/octet-stream if
 * unknown). */
const char *http_mime(const char *path);

/* "OK", "Not Found", ... */
const char *http_reason(int status);

#endif
