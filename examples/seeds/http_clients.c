/* Seed 002 (PyMOTW), "Clients": asyncore_http_client.py's main, two (or
 * more) downloads at once in one loop.
 *
 *   http_clients URL... [--backend B] [--loop L]
 *
 *   logging.basicConfig(level=logging.DEBUG, format='%(name)s: %(message)s')
 *   clients = [HttpClient(url) for url in URLS]
 *   logging.debug('LOOP STARTING')
 *   asyncore.loop()
 *   logging.debug('LOOP DONE')
 *   for c in clients:
 *       response_body = c.read_buffer.getvalue()
 *       print(c.url, 'got', len(response_body), 'bytes')
 */
#include "http_pymotw.h"
#include "seed.h"

#include <stdio.h>
#include <stdlib.h>

#define USAGE "usage: http_clients URL... [--backend B] [--loop L]"

int main(int argc, char **argv)
{
    seed_loop loop = seed_init(&argc, argv, USAGE);
    http_client *clients;
    int i, failed = 0;

    if (argc < 2) {
        fprintf(stderr, "%s\n", USAGE);
        return 2;
    }
    clients = calloc((size_t)argc - 1, sizeof(*clients));
    if (!clients)
        return 1;
    for (i = 1; i < argc; i++)
        if (http_client_init(&clients[i - 1], argv[i]) < 0)
            failed = 1;
    seed_log("root", "LOOP STARTING");
    seed_run(loop);
    seed_log("root", "LOOP DONE");
    for (i = 1; i < argc; i++) {
        printf("%s got %zu bytes\n", clients[i - 1].url,
               clients[i - 1].body_len);
        http_client_done(&clients[i - 1]);
    }
    free(clients);
    return failed;
}
