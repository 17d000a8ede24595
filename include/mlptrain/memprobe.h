/*
 * memprobe: how much memory this process may still take, and how much it
 * took.  Reads /proc/meminfo, the cgroup's limit (v2, then v1), the
 * RLIMIT_AS and RLIMIT_DATA limits (less what the process already maps),
 * and /proc/self/status.  Linux only; elsewhere every figure is unknown.
 *
 * No errors: a file that is missing or unreadable only means that source
 * says nothing.  Thread-safe (no state).
 */
#ifndef MLPTRAIN_MEMPROBE_H
#define MLPTRAIN_MEMPROBE_H

/*
 * Bytes this process may still allocate: the least of MemAvailable (plus
 * free swap), the cgroup's limit less its usage, RLIMIT_AS less VmSize and
 * RLIMIT_DATA less VmData.  INFINITY when no source says.
 */
double mlp_memprobe_available(void);

/* The peak resident set (VmHWM) of this process in bytes; -1 if unknown. */
double mlp_memprobe_peak_rss(void);

/*
 * The safety margin the trainer adds to its estimate of what a run
 * allocates (what it does not count: the program, oneDNN's code and
 * JIT kernels, thread stacks, malloc's overhead): 10% plus 64 MiB.
 */
double mlp_memprobe_with_margin(double bytes);

#endif
