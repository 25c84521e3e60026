/* libFuzzer target: the HTTP client's response and URL parsing. Besides
 * memory errors, a parsed body must lie inside the input. */
#include "../../examples/http/http_response.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_response r;
    const char *why, *path;
    char host[256], *url;
    int port;
    bool https;

    if (http_parse_response((const char *)data, size, &r, &why) == 0) {
        if (r.body < (const char *)data ||
            r.body + r.body_len > (const char *)data + size)
            abort();
        if (r.status < 0 || r.status > 999)
            abort();
    }
    url = malloc(size + 1); /* URLs are C strings */
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    if (http_parse_url(url, host, sizeof(host), &port, &path, &https, &why) == 0) {
        if (port < 1 || port > 65535 || strlen(host) == 0 ||
            strlen(host) >= sizeof(host) || path[0] != '/')
            abort();
    }
    free(url);
    return 0;
}
