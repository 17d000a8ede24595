/*
 * clock: the one clock for durations.
 *
 * mlp_clock_now() is CLOCK_MONOTONIC in seconds: differences of two calls
 * time an epoch, a run or a benchmark; the value itself means nothing and
 * never jumps with the wall clock.  Cannot fail (CLOCK_MONOTONIC always
 * exists on the systems we build on).  Thread-safe.
 */
#ifndef MLPTRAIN_CLOCK_H
#define MLPTRAIN_CLOCK_H

double mlp_clock_now(void);

#endif
