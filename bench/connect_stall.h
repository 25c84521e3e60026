/* connect_stall: the measurement each host's run shares. */
#ifndef CONNECT_STALL_H
#define CONNECT_STALL_H

#include <asyncore/asyncore.h>

struct stall {
    double last, max_gap, max_at, started, took;
    unsigned long ticks;
    int answered; /* handle_connect or handle_error ran */
    char what[256];
};
extern struct stall m;

/* A fresh map with the client channel, the measurement reset. */
ac_map *begin(void);
/* One run of the host's 1 ms timer. */
void tick(void);
/* The connect by name, from inside the host's loop. */
void start_connect(ac_map *map);
/* The run is over: free the map. */
void finish(ac_map *map);
void run_ev(void);

#endif
