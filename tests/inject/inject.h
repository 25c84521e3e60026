/* Fault injection for a test build of the library (never the shipped one):
 * compiled into every library source with `-include inject.h`, it sends
 * the library's own allocations and system calls through inject.c, which
 * can fail allocation number k, or give the calls short counts, EINTR,
 * EAGAIN and other errors on a seeded schedule. The tests' own code is
 * compiled without it. */
#ifndef AC_TEST_INJECT_H
#define AC_TEST_INJECT_H

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

void *ac_inj_malloc(size_t n);
void *ac_inj_calloc(size_t n, size_t size);
void *ac_inj_realloc(void *p, size_t n);
char *ac_inj_strdup(const char *s);
ssize_t ac_inj_send(int fd, const void *buf, size_t len, int flags);
ssize_t ac_inj_recv(int fd, void *buf, size_t len, int flags);
ssize_t ac_inj_read(int fd, void *buf, size_t len);
ssize_t ac_inj_write(int fd, const void *buf, size_t len);
int ac_inj_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int ac_inj_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);

#ifndef AC_INJ_NO_MACROS /* inject.c itself calls the real functions */

#define malloc(n) ac_inj_malloc(n)
#define calloc(n, s) ac_inj_calloc(n, s)
#define realloc(p, n) ac_inj_realloc(p, n)
#define strdup(s) ac_inj_strdup(s)
/* object-like: the I/O operations' members `send` and `recv` are renamed
 * along with the calls, which changes nothing in the struct's layout */
#define send ac_inj_send
#define recv ac_inj_recv
#define read ac_inj_read
#define write ac_inj_write
#define accept4(f, a, l, g) ac_inj_accept4(f, a, l, g)
#define epoll_ctl(e, o, f, v) ac_inj_epoll_ctl(e, o, f, v)
#endif

#endif
