/* chat_server: a line-based chat on async_chat.
 *
 *   chat_server [--host H] [--port P] [--idle-timeout S] [--send-timeout S]
 *               [--tls-cert FILE --tls-key FILE]
 *
 * A client's first line is its nickname; each later line L goes to every
 * other connected client as "NICK: L\n". Lines end at "\n" (a trailing
 * "\r" is dropped). A line over 65536 bytes gets "error: line too long\n"
 * and the client is closed once that is flushed, with a lingering close so
 * the message is not destroyed by a reset. A client that stops reading is
 * dropped when 64 MiB wait for it, or when it has taken no byte of what
 * waits for it for --send-timeout S (default 60), so it cannot stall or
 * exhaust the rest. With --idle-timeout S, a client that sends nothing for
 * S seconds gets "error: idle timeout\n" and is closed once that is
 * flushed. Both are the library's deadlines (ac_set_write_stall,
 * ac_set_read_idle): no timer restarted per byte. With
 * --tls-cert/--tls-key every client talks TLS: the same chat class, on the
 * TLS layer (close_when_done then ends with close_notify). */
#include "common.h"
#include "tls_opts.h"

#include <asyncore/asynchat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINE 65536
#define MAX_BACKLOG (64u << 20)

typedef struct client {
    ac_chat chat;
    struct client *prev, *next; /* the room */
    char *nick;
    bool dropping;
} client;

static client *room;
static uint64_t idle_ms;         /* 0: no idle timeout */
static uint64_t send_ms = 60000; /* 0: no send timeout */

static client *CL(ac_chat *c)
{
    return AC_CONTAINER_OF(c, client, chat);
}

static void leave_room(client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (room == c)
        room = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void broadcast(client *from, const char *line, size_t len)
{
    size_t nick = strlen(from->nick), n = nick + 2 + len + 1;
    char *msg = malloc(n);
    client *c, *next;

    if (!msg)
        return;
    memcpy(msg, from->nick, nick);
    memcpy(msg + nick, ": ", 2);
    memcpy(msg + nick + 2, line, len);
    msg[n - 1] = '\n';
    for (c = room; c; c = next) {
        next = c->next;
        if (c == from || c->dropping)
            continue;
        if (ac_chat_pending(&c->chat) > MAX_BACKLOG) {
            ac_log_info(&c->chat.base, AC_LOG_WARNING,
                        "dropping %s: it stopped reading",
                        c->nick ? c->nick : "(no nick)");
            ac_handle_close(&c->chat.base);
            continue;
        }
        if (ac_chat_push(&c->chat, msg, n) < 0) {
            /* a line it would silently miss: better dropped, and said */
            ac_log_info(&c->chat.base, AC_LOG_WARNING,
                        "dropping %s: out of memory",
                        c->nick ? c->nick : "(no nick)");
            ac_handle_close(&c->chat.base);
        }
    }
    free(msg);
}

/* The deadlines: silent for --idle-timeout, or taking nothing of what
 * waits for it for --send-timeout. */
static void client_error(ac_dispatcher *d, int err, const char *where)
{
    client *c = CL(AC_CHAT_OF(d));

    if (err == ETIMEDOUT && !strcmp(where, "read idle")) {
        if (c->dropping)
            return;
        c->dropping = true;
        ac_chat_push(&c->chat, "error: idle timeout\n", 20);
        ac_chat_close_when_done(&c->chat);
    } else if (err == ETIMEDOUT && !strcmp(where, "write stall")) {
        ac_log_info(d, AC_LOG_WARNING, "dropping %s: it stopped reading",
                    c->nick ? c->nick : "(no nick)");
        leave_room(c);
        ac_close(d); /* nothing more will reach it: no lingering */
    } else {
        AC_CHAT_PARENT->handle_error(d, err, where);
    }
}

static void client_found_terminator(ac_chat *chat)
{
    client *c = CL(chat);
    size_t len;
    const char *line = ac_chat_data(chat, &len);

    if (len && line[len - 1] == '\r')
        len--;
    if (!c->dropping) {
        if (!c->nick) {
            c->nick = strndup(line ? line : "", len);
            if (!c->nick)
                ac_handle_close(&chat->base);
        } else {
            broadcast(c, line ? line : "", len);
        }
    }
    ac_chat_clear_data(chat);
}

static void client_line_too_long(ac_chat *chat)
{
    client *c = CL(chat);

    if (c->dropping)
        return;
    c->dropping = true;
    ac_chat_clear_data(chat);
    ac_chat_push(chat, "error: line too long\n", 21);
    ac_chat_close_when_done(chat);
}

static void client_close(ac_dispatcher *d)
{
    client *c = CL(AC_CHAT_OF(d));

    leave_room(c);
    c->dropping = true;
    /* Unread input would turn a plain close into a reset that can destroy
     * the error message on its way: shut down writing, drain, then close. */
    ac_close_lingering(d, 2000, 1u << 20);
}

static void client_destroy(ac_dispatcher *d)
{
    client *c = CL(AC_CHAT_OF(d));

    leave_room(c);
    free(c->nick);
    free(c);
}

static const ac_chat_class client_class = {
    .base = {.name = "chat_client",
             .parent = AC_CHAT_PARENT,
             .handle_close = client_close,
             .handle_error = client_error,
             .destroy = client_destroy},
    .found_terminator = client_found_terminator,
    .line_too_long = client_line_too_long,
};

static ex_tls tls;

static void server_accepted(ac_dispatcher *d, int fd,
                            const struct sockaddr *addr, socklen_t len)
{
    client *c = calloc(1, sizeof(*c));

    (void)addr;
    (void)len;
    if (!c || ac_chat_init(&c->chat, &client_class,
                           ac_dispatcher_get_map(d)) < 0) {
        free(c);
        close(fd);
        return;
    }
    ac_chat_set_terminator(&c->chat, "\n", 1);
    ac_chat_set_max_line(&c->chat, MAX_LINE);
    if (ac_set_socket(&c->chat.base, fd) < 0) {
        close(fd);
        ac_close(&c->chat.base); /* destroy frees c */
        return;
    }
    /* the idle clock starts at the connection */
    if ((idle_ms && ac_set_read_idle(&c->chat.base, idle_ms) < 0) ||
        (send_ms && ac_set_write_stall(&c->chat.base, send_ms) < 0)) {
        ac_close(&c->chat.base);
        return;
    }
    if (ex_tls_start(&tls, &c->chat.base, NULL) < 0) {
        ac_close(&c->chat.base);
        return;
    }
    c->next = room;
    if (room)
        room->prev = c;
    room = c;
}

static const ac_dispatcher_class server_class = {
    .name = "chat_server",
    .handle_accepted = server_accepted,
};

static void usage(void)
{
    printf("usage: %s [--host H] [--port P] [--idle-timeout S]\n"
           "       %*s [--send-timeout S] [--tls-cert FILE --tls-key FILE]\n"
           "       %*s [--stats]\n"
           "Line chat: the first line is the nickname, later lines go to\n"
           "every other client as 'NICK: LINE'. --port 0 picks a free port;\n"
           "the first line on stdout is 'listening on HOST:PORT'. A client\n"
           "silent for --idle-timeout S seconds is told so and closed; one\n"
           "that takes nothing of what waits for it for --send-timeout S\n"
           "seconds (default 60) is dropped. --tls-cert and\n"
           "--tls-key: TLS with that certificate chain and key (PEM).\n"
           "--stats prints the loop's statistics on stderr at exit.\n",
           ex_prog, (int)strlen(ex_prog), "", (int)strlen(ex_prog), "");
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = 8008;
    ac_dispatcher server;
    ac_map *map;
    int i, r;

    ex_prog = "chat_server";
    for (i = 1; i < argc; i++) {
        if (ex_server_option(argc, argv, &i, &host, &port, usage)) {
            continue;
        } else if (!strcmp(argv[i], "--idle-timeout")) {
            idle_ms = (uint64_t)(ex_seconds("--idle-timeout",
                                            ex_value(argc, argv, &i)) * 1000);
        } else if (!strcmp(argv[i], "--send-timeout")) {
            send_ms = (uint64_t)(ex_seconds("--send-timeout",
                                            ex_value(argc, argv, &i)) * 1000);
        } else if (ex_tls_option(argc, argv, &i, &tls, true)) {
            continue;
        } else {
            ex_usage_error("unknown argument '%s' (try --help)", argv[i]);
        }
    }
    ex_tls_setup(&tls, true);
    ex_raise_nofile(20000);
    map = ac_map_new(AC_BACKEND_DEFAULT);
    if (!map)
        ex_fail("cannot create the map: %s", strerror(errno));
    ex_stats_start(map);
    ex_listen(&server, &server_class, map, host, port);
    ex_stop_on_signals(map);
    ex_print_listening("listening", &server);
    r = ac_loop(map, NULL);
    ex_stats_print(map, 0);
    ac_map_free(map);
    ex_tls_done(&tls);
    if (r < 0)
        ex_fail("loop failed: %s", ac_strerror(r));
    return 0;
}
