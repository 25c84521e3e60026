/* Seed 002's HttpClient (PyMOTW asyncore_http_client.py), shared by the
 * two programs that use it: http_clients.c and loop_count.c. */
#ifndef AC_SEED_HTTP_PYMOTW_H
#define AC_SEED_HTTP_PYMOTW_H

#include <asyncore/asyncore.h>

typedef struct {
    ac_dispatcher base;
    const char *url;
    char request[2048];      /* self.write_buffer */
    size_t request_len, sent;
    char *body;              /* self.read_buffer */
    size_t body_len, body_cap;
} http_client;

/* HttpClient(url): create_socket, connect to the URL's host and port (80
 * by default), queue 'GET URL HTTP/1.0\r\n\r\n'. Negative errno (and a
 * message) if the URL or the connect is refused. */
int http_client_init(http_client *c, const char *url);
/* Release what the client holds (after the loop). */
void http_client_done(http_client *c);

/* clients = [HttpClient(url) for url in argv[1:]]: NULL after printing
 * `usage` if there is no URL; *failed is set if one could not start. */
http_client *http_clients_new(int argc, char **argv, const char *usage,
                              int *failed);
/* for c in clients: print(c.url, 'got', len(response_body), 'bytes');
 * then frees them. */
void http_clients_report(http_client *clients, int n);

#endif
