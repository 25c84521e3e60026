/* libFuzzer target: http_server's request parser (examples/http/http_request.c)
 * fed hostile bytes: the input is a request head, line by line, as the
 * connection would feed it. Invariants: a target accepted as a path never
 * holds "..", "." or empty segments, a backslash or NUL, nor starts with
 * '/'; a satisfiable range lies inside the body; nothing reads or writes
 * out of bounds (ASan). */
#include "../../examples/http/http_request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_path(const char *p)
{
    const char *s = p;

    if (*p == '/' || strchr(p, '\\'))
        abort();
    for (;;) { /* every segment: not "", ".", ".." */
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if ((n == 0 && (e || s != p)) || (n == 1 && s[0] == '.') ||
            (n == 2 && s[0] == '.' && s[1] == '.'))
            abort();
        if (!e)
            break;
        s = e + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static http_request r;
    char *buf = malloc(size + 1);
    size_t off = 0;
    int line = 0;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    while (off < size) {
        char *nl = memchr(buf + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - (buf + off)) : size - off;
        const char *l = buf + off;
        size_t n = len && l[len - 1] == '\r' ? len - 1 : len;
        if (line++ == 0) {
            int st = http_request_line(&r, l, n);
            if ((st == 0 || st == 405) && strlen(r.path) < sizeof(r.path))
                check_path(r.path);
        } else if (n == 0) {
            http_headers_done(&r);
        } else {
            http_header(&r, l, n);
        }
        off += len + 1;
    }
    if (r.range[0]) {
        uint64_t start, len, sizes[] = {0, 1, 100, size};
        for (unsigned i = 0; i < 4; i++)
            if (http_range(r.range, sizes[i], &start, &len) == 1 &&
                (len == 0 || start + len > sizes[i]))
                abort();
    }
    http_parse_date(buf, size < 200 ? size : 200);
    http_mime(buf);
    free(buf);
    return 0;
}
