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

#define USAGE "usage: http_clients URL... [--backend B] [--loop L]"

int main(int argc, char **argv)
{
    seed_loop loop = seed_init(&argc, argv, USAGE);
    int failed = 0;
    http_client *clients = http_clients_new(argc, argv, USAGE, &failed);

    if (!clients)
        return 2;
    seed_log("root", "LOOP STARTING");
    seed_run(loop);
    seed_log("root", "LOOP DONE");
    http_clients_report(clients, argc - 1);
    return failed;
}
