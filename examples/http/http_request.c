/* http_server's request side (http_request.h): pure functions, no I/O. */
/* strptime() is POSIX's XSI option */
#define _XOPEN_SOURCE 700

#include "http_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* RFC 9110 tchar */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool token(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (!is_tchar((unsigned char)s[i]))
            return false;
    return len > 0;
}

static int hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int http_target(const char *t, size_t len, char *out, size_t size, bool *dir)
{
    size_t i, n = 0, seg = 0;

    *dir = false;
    if (len > 7 && (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8))) {
        const char *p = memchr(t + 8, '/', len - 8); /* past the authority */
        if (!p)
            return size ? (out[0] = '\0', *dir = true, 0) : 414;
        len -= (size_t)(p - t);
        t = p;
    }
    if (!len || t[0] != '/')
        return 400;
    for (i = 1; i < len && t[i] != '?' && t[i] != '#'; i++) {
        int c = (unsigned char)t[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex(t[i + 1]) : -1;
            int lo = hi >= 0 ? hex(t[i + 2]) : -1;
            if (lo < 0)
                return 400;
            c = hi * 16 + lo;
            i += 2;
            if (c == '/' || c == '\\')
                return 403; /* an encoded separator: never one */
        } else if (c == '/') {
            /* a segment ends: "", "." and ".." are refused, not resolved */
            if (n == seg || (n - seg == 1 && out[seg] == '.') ||
                (n - seg == 2 && out[seg] == '.' && out[seg + 1] == '.'))
                return 403;
            if (n + 1 >= size)
                return 414;
            out[n++] = '/';
            seg = n;
            continue;
        }
        if (c == '\0')
            return 400;
        if (c == '\\' || c < 0x20 || c == 0x7f)
            return c == '\\' ? 403 : 400;
        if (n + 1 >= size)
            return 414;
        out[n++] = (char)c;
    }
    if ((n - seg == 1 && out[seg] == '.') ||
        (n - seg == 2 && out[seg] == '.' && out[seg + 1] == '.'))
        return 403;
    if (n == seg) { /* "/" or ".../": the directory itself */
        *dir = true;
        if (n)
            n--; /* no trailing '/' */
    }
    if (!size)
        return 414;
    out[n] = '\0';
    return 0;
}

int http_request_line(http_request *r, const char *line, size_t len)
{
    const char *sp1 = memchr(line, ' ', len), *sp2, *v;
    size_t mlen, tlen, vlen;
    int st;

    memset(r, 0, sizeof(*r));
    r->ims = r->body = -1;
    if (!sp1)
        return 400;
    sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line));
    if (!sp2)
        return 400;
    mlen = (size_t)(sp1 - line);
    tlen = (size_t)(sp2 - sp1 - 1);
    v = sp2 + 1;
    vlen = len - (size_t)(v - line);
    if (!token(line, mlen) || !tlen || memchr(v, ' ', vlen))
        return 400;
    if (vlen != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' ||
        v[6] != '.' || v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1')
        return 505;
    r->minor = v[7] - '0';
    r->keep_alive = r->minor >= 1; /* HTTP/1.0 closes after the response */
    if (mlen == 3 && !memcmp(line, "GET", 3))
        r->method = HTTP_GET;
    else if (mlen == 4 && !memcmp(line, "HEAD", 4))
        r->method = HTTP_HEAD;
    else
        r->method = HTTP_OTHER;
    st = http_target(sp1 + 1, tlen, r->path, sizeof(r->path), &r->dir);
    if (st)
        return st;
    return r->method == HTTP_OTHER ? 405 : 0;
}

/* A header value without the optional white space around it. */
static void trim(const char **v, size_t *len)
{
    while (*len && (**v == ' ' || **v == '\t'))
        (*v)++, (*len)--;
    while (*len && ((*v)[*len - 1] == ' ' || (*v)[*len - 1] == '\t'))
        (*len)--;
}

static bool is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && !strncasecmp(name, want, len);
}

/* Whether a comma-separated list holds `want` (case-insensitive). */
static bool has_token(const char *v, size_t len, const char *want)
{
    size_t i = 0, w = strlen(want);

    while (i < len) {
        size_t j = i, k;
        while (j < len && v[j] != ',')
            j++;
        k = j;
        while (i < k && (v[i] == ' ' || v[i] == '\t'))
            i++;
        while (k > i && (v[k - 1] == ' ' || v[k - 1] == '\t'))
            k--;
        if (k - i == w && !strncasecmp(v + i, want, w))
            return true;
        i = j + 1;
    }
    return false;
}

int http_header(http_request *r, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len), *v;
    size_t nlen, vlen;

    if (++r->fields > HTTP_MAX_FIELDS)
        return 431;
    if (!colon)
        return 400;
    nlen = (size_t)(colon - line);
    if (!token(line, nlen)) /* also: white space before the colon, folding */
        return 400;
    v = colon + 1;
    vlen = len - nlen - 1;
    trim(&v, &vlen);
    if (memchr(v, '\0', vlen))
        return 400;
    if (is(line, nlen, "host")) {
        r->hosts++;
    } else if (is(line, nlen, "connection")) {
        if (has_token(v, vlen, "close"))
            r->keep_alive = false;
    } else if (is(line, nlen, "if-modified-since")) {
        r->ims = http_parse_date(v, vlen);
    } else if (is(line, nlen, "range")) {
        if (vlen < sizeof(r->range)) { /* longer: ignored, whole body */
            memcpy(r->range, v, vlen);
            r->range[vlen] = '\0';
        }
    } else if (is(line, nlen, "content-length")) {
        int64_t n = 0;
        size_t i;
        if (!vlen || vlen > 18)
            return 400;
        for (i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9')
                return 400;
            n = n * 10 + (v[i] - '0');
        }
        if (r->body >= 0 && r->body != n)
            return 400; /* two lengths: a smuggling attempt */
        r->body = n;
    } else if (is(line, nlen, "transfer-encoding")) {
        r->chunked = true;
    }
    return 0;
}

int http_headers_done(http_request *r)
{
    if (r->minor >= 1 && r->hosts != 1)
        return 400;
    if (r->hosts > 1)
        return 400;
    return 0;
}

/* Decimal digits at *p (at most 18), advanced past them; -1 if none. */
static int64_t digits(const char **p)
{
    int64_t n = 0;
    int k = 0;

    while (**p >= '0' && **p <= '9') {
        if (++k > 18)
            return -1;
        n = n * 10 + (**p - '0');
        (*p)++;
    }
    return k ? n : -1;
}

int http_range(const char *spec, uint64_t size, uint64_t *start,
               uint64_t *len)
{
    const char *p = spec;
    int64_t a, b;

    if (strncasecmp(p, "bytes", 5))
        return 0;
    p += 5;
    while (*p == ' ')
        p++;
    if (*p++ != '=' || strchr(p, ','))
        return 0; /* another unit, or several ranges: the whole body */
    while (*p == ' ')
        p++;
    if (*p == '-') { /* the last n bytes */
        p++;
        b = digits(&p);
        if (b < 0 || *p)
            return 0;
        if (b == 0 || size == 0)
            return -1;
        *len = (uint64_t)b < size ? (uint64_t)b : size;
        *start = size - *len;
        return 1;
    }
    a = digits(&p);
    if (a < 0 || *p++ != '-')
        return 0;
    b = *p ? digits(&p) : -2;
    if (*p || b == -1 || (b >= 0 && b < a))
        return 0;
    if ((uint64_t)a >= size)
        return -1;
    if (b < 0 || (uint64_t)b >= size)
        b = (int64_t)size - 1;
    *start = (uint64_t)a;
    *len = (uint64_t)(b - a + 1);
    return 1;
}

/* A broken-down UTC time in seconds since 1970 (timegm() is not POSIX):
 * days before the date in a proleptic Gregorian calendar whose years start
 * in March, so February's length only matters at a year's end. */
static int64_t utc_seconds(const struct tm *tm)
{
    int64_t m = tm->tm_mon + 1, y = tm->tm_year + 1900LL - (m <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + tm->tm_mday - 1;
    int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy -
                   719468; /* 0000-03-01 to 1970-01-01 */

    return days * 86400 + tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}

int64_t http_parse_date(const char *s, size_t len)
{
    static const char *const formats[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
        "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
        "%a %b %e %H:%M:%S %Y",      /* asctime */
    };
    char buf[64];
    size_t i;

    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        struct tm tm;
        const char *end;
        memset(&tm, 0, sizeof(tm));
        end = strptime(buf, formats[i], &tm);
        if (end && !*end)
            return utc_seconds(&tm);
    }
    return -1;
}

void http_format_date(int64_t t, char out[30])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

const char *http_mime(const char *path)
{
    static const char *const types[][2] = {
        {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
        {"css", "text/css"}, {"js", "text/javascript"}, {"mjs", "text/javascript"},
        {"json", "application/json"}, {"txt", "text/plain; charset=utf-8"},
        {"xml", "application/xml"}, {"svg", "image/svg+xml"}, {"png", "image/png"},
        {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
        {"webp", "image/webp"}, {"ico", "image/x-icon"}, {"pdf", "application/pdf"},
        {"wasm", "application/wasm"}, {"woff2", "font/woff2"}, {"woff", "font/woff"},
        {"mp4", "video/mp4"}, {"webm", "video/webm"}, {"mp3", "audio/mpeg"},
        {"zip", "application/zip"}, {"gz", "application/gzip"},
    };
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    size_t i;

    if (dot && (!slash || dot > slash))
        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (!strcasecmp(dot + 1, types[i][0]))
                return types[i][1];
    return "application/octet-stream";
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
