/* Seed 002's HttpClient, method for method:
 *
 *   class HttpClient(asyncore.dispatcher):
 *       def __init__(self, url):
 *           self.url = url
 *           self.logger = logging.getLogger(self.url)
 *           self.parsed_url = urlparse(url)
 *           asyncore.dispatcher.__init__(self)
 *           self.write_buffer = 'GET %s HTTP/1.0\r\n\r\n' % self.url
 *           self.read_buffer = StringIO()
 *           self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
 *           address = (self.parsed_url.netloc, 80)
 *           self.logger.debug('connecting to %s', address)
 *           self.connect(address)
 *       def handle_connect(self): self.logger.debug('handle_connect()')
 *       def handle_close(self):
 *           self.logger.debug('handle_close()')
 *           self.close()
 *       def writable(self):
 *           is_writable = (len(self.write_buffer) > 0)
 *           if is_writable: self.logger.debug('writable() -> %s', is_writable)
 *           return is_writable
 *       def readable(self):
 *           self.logger.debug('readable() -> True')
 *           return True
 *       def handle_write(self):
 *           sent = self.send(self.write_buffer)
 *           self.logger.debug('handle_write() -> "%s"', self.write_buffer[:sent])
 *           self.write_buffer = self.write_buffer[sent:]
 *       def handle_read(self):
 *           data = self.recv(8192)
 *           self.logger.debug('handle_read() -> %d bytes', len(data))
 *           self.read_buffer.write(data)
 */
#include "http_pymotw.h"

#include "../http/http_response.h"
#include "seed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static http_client *C(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, http_client, base);
}

static void handle_connect(ac_dispatcher *d)
{
    seed_log(C(d)->url, "handle_connect()");
}

static void handle_close(ac_dispatcher *d)
{
    seed_log(C(d)->url, "handle_close()");
    ac_close(d);
}

static bool writable(ac_dispatcher *d)
{
    http_client *c = C(d);
    bool is_writable = c->sent < c->request_len;

    if (is_writable)
        seed_log(c->url, "writable() -> True");
    return is_writable;
}

static bool readable(ac_dispatcher *d)
{
    seed_log(C(d)->url, "readable() -> True");
    return true;
}

static void handle_write(ac_dispatcher *d)
{
    http_client *c = C(d);
    ssize_t sent = ac_send(d, c->request + c->sent, c->request_len - c->sent);

    if (sent < 0)
        return; /* reported to the channel */
    seed_log(c->url, "handle_write() -> \"%.*s\"", (int)sent,
             c->request + c->sent);
    c->sent += (size_t)sent;
}

static void handle_read(ac_dispatcher *d)
{
    http_client *c = C(d);
    char data[8192];
    ssize_t n = ac_recv(d, data, sizeof(data));

    if (n < 0)
        return;
    seed_log(c->url, "handle_read() -> %d bytes", (int)n);
    if (c->body_len + (size_t)n > c->body_cap) {
        size_t cap = (c->body_cap ? c->body_cap * 2 : 16384) + (size_t)n;
        char *p = realloc(c->body, cap);
        if (!p) {
            ac_handle_error(d, ENOMEM, "recv");
            return;
        }
        c->body = p;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, data, (size_t)n);
    c->body_len += (size_t)n;
}

static const ac_dispatcher_class http_client_class = {
    .name = "HttpClient",
    .readable = readable,
    .writable = writable,
    .handle_connect = handle_connect,
    .handle_close = handle_close,
    .handle_read = handle_read,
    .handle_write = handle_write,
};

int http_client_init(http_client *c, const char *url)
{
    char host[256];
    const char *path, *why;
    int port = 80, r;

    memset(c, 0, sizeof(*c));
    c->url = url;
    if (http_parse_url(url, host, sizeof(host), &port, &path, NULL, &why) < 0) {
        fprintf(stderr, "%s: %s\n", url, why);
        return -EINVAL;
    }
    ac_dispatcher_init(&c->base, &http_client_class, NULL);
    c->request_len = (size_t)snprintf(c->request, sizeof(c->request),
                                      "GET %s HTTP/1.0\r\n\r\n", url);
    seed_log(url, "connecting to ('%s', %d)", host, port);
    if ((r = seed_connect(&c->base, host, port)) < 0) {
        fprintf(stderr, "%s: connect: %s\n", url, ac_strerror(r));
        ac_close(&c->base);
    }
    return r;
}

void http_client_done(http_client *c)
{
    free(c->body);
    c->body = NULL;
}

http_client *http_clients_new(int argc, char **argv, const char *usage,
                              int *failed)
{
    http_client *clients;
    int i;

    if (argc < 2) {
        fprintf(stderr, "%s\n", usage);
        return NULL;
    }
    clients = calloc((size_t)argc - 1, sizeof(*clients));
    for (i = 1; clients && i < argc; i++)
        if (http_client_init(&clients[i - 1], argv[i]) < 0)
            *failed = 1;
    return clients;
}

void http_clients_report(http_client *clients, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        printf("%s got %zu bytes\n", clients[i].url, clients[i].body_len);
        http_client_done(&clients[i]);
    }
    free(clients);
}
