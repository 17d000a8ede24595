/*
 * memprobe: the memory this process may still take, from /proc, the
 * cgroup and the resource limits (see memprobe.h).
 *
 * Non-goals: predicting other processes, overcommit policy, NUMA.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "mlptrain/memprobe.h"

/* A "Name:  N kB" line of a /proc file, in bytes; -1 when absent. */
static double proc_kb(const char *path, const char *name)
{
    char line[256];
    size_t len = strlen(name);
    double v = -1;
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            v = strtod(line + len + 1, NULL) * 1024.0;
            break;
        }
    fclose(f);
    return v;
}

/* The first number in a file ("max" and missing files: -1). */
static double file_number(const char *path)
{
    char buf[64];
    char *end;
    double v;
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return -1;
    if (fgets(buf, sizeof(buf), f) == NULL) {
        fclose(f);
        return -1;
    }
    fclose(f);
    v = strtod(buf, &end);
    return end == buf ? -1 : v;
}

/* What a resource limit leaves beside `used` bytes; INFINITY if none. */
static double rlimit_left(int resource, const char *used_field)
{
    struct rlimit rl;
    double used;

    if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return INFINITY;
    used = proc_kb("/proc/self/status", used_field);
    return (double)rl.rlim_cur - (used > 0 ? used : 0);
}

double mlp_memprobe_available(void)
{
    double avail = INFINITY, a, lim, use;

    if ((a = proc_kb("/proc/meminfo", "MemAvailable")) >= 0) {
        double swap = proc_kb("/proc/meminfo", "SwapFree");

        avail = a + (swap > 0 ? swap : 0);
    }
    /* cgroup v2, then v1 (whose "no limit" is a huge number) */
    if ((lim = file_number("/sys/fs/cgroup/memory.max")) >= 0 &&
        (use = file_number("/sys/fs/cgroup/memory.current")) >= 0 &&
        lim - use < avail)
        avail = lim - use;
    if ((lim = file_number("/sys/fs/cgroup/memory/memory.limit_in_bytes")) >=
            0 &&
        (use = file_number("/sys/fs/cgroup/memory/memory.usage_in_bytes")) >=
            0 &&
        lim < 1e18 && lim - use < avail)
        avail = lim - use;
    /* Address space counts what is mapped but not touched (thread stacks,
     * oneDNN's reservations): what is left is the limit less VmSize. */
    if ((a = rlimit_left(RLIMIT_AS, "VmSize")) < avail)
        avail = a;
    if ((a = rlimit_left(RLIMIT_DATA, "VmData")) < avail)
        avail = a;
    return avail < 0 ? 0 : avail;
}

double mlp_memprobe_peak_rss(void)
{
    return proc_kb("/proc/self/status", "VmHWM");
}

double mlp_memprobe_with_margin(double bytes)
{
    return bytes * 1.10 + 64.0 * 1048576.0;
}
