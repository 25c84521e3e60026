/* The tests' side of inject.c: what to fail, and what happened. */
#ifndef AC_TEST_INJECT_CONTROL_H
#define AC_TEST_INJECT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocations: count them; with fail_at = k > 0 the k-th one returns NULL
 * (errno ENOMEM), and with `sticky` every later one too. */
extern uint64_t inj_allocs;
extern uint64_t inj_fail_at;
extern bool inj_sticky;
extern uint64_t inj_failed; /* allocations failed so far */

/* System calls: with a non-zero seed, each send/recv/accept4/epoll_ctl
 * call of the library (and read/write on pipes) is faulted with
 * probability 1/inj_one_in: a short count, EINTR, EAGAIN out of turn, or
 * (with inj_hard) ENOBUFS for send, ECONNABORTED/EMFILE/ENOMEM for
 * accept4, ENOMEM/ENOSPC for epoll_ctl. */
extern uint64_t inj_seed;
extern unsigned inj_one_in;
extern bool inj_hard;
extern uint64_t inj_faults; /* calls faulted so far */

void inj_reset(void);
/* Distinct allocation call sites of the library failed so far. */
size_t inj_sites(void);
/* The i-th of them (a return address: addr2line names the line). */
void *inj_site(size_t i);

#endif
