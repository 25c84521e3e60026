/* What the load generators read of the server under test, from /proc. */
#ifndef AC_BENCH_PROC_H
#define AC_BENCH_PROC_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>

/* CPU time (ns) of every thread of pid; 0 when it cannot be read. */
static uint64_t cpu_ns(int pid)
{
    char path[64];
    uint64_t total = 0;
    DIR *dir;
    struct dirent *e;

    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    if (!(dir = opendir(path)))
        return 0;
    while ((e = readdir(dir))) {
        char p[320];
        unsigned long long ns;
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", pid, e->d_name);
        if ((f = fopen(p, "r"))) {
            if (fscanf(f, "%llu", &ns) == 1)
                total += ns;
            fclose(f);
        }
    }
    closedir(dir);
    return total;
}

#endif
