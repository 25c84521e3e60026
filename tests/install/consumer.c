/* A separate program built only from `pkg-config asyncore`: one channel
 * reads what its peer wrote through a socketpair. */
#include <asyncore/asyncore.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char got[16];

static void on_read(ac_dispatcher *d)
{
    if (ac_recv(d, got, sizeof(got) - 1) > 0)
        ac_close(d);
}

static const ac_dispatcher_class reader = {.name = "reader",
                                           .handle_read = on_read};

int main(void)
{
    ac_dispatcher d;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return 1;
    ac_dispatcher_init(&d, &reader, NULL);
    if (ac_set_socket(&d, sv[0]) < 0 || write(sv[1], "installed", 9) != 9)
        return 1;
    ac_loop(NULL, NULL); /* returns when the map is empty */
    close(sv[1]);
    ac_map_free(ac_map_default());
    printf("%s\n", got);
    return strcmp(got, "installed") != 0;
}
