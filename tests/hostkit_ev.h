/* The libev hosts of test_hostkit (hostkit_ev.c). */
#ifndef AC_TEST_HOSTKIT_EV_H
#define AC_TEST_HOSTKIT_EV_H

#include <asyncore/hostkit.h>

/* PER_FD, or BACKEND_FD: ev_run(loop, EVRUN_ONCE) as the step. */
ac_hostkit_host hk_ev_host(bool backend_fd);

#endif
