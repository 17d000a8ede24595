/*
 * benchutil: what the benchmarks share: medians and spreads over repeats,
 * CSV output, and the compute ceiling of a model's training GEMMs.  The
 * clock is the library's (mlp_clock_now, clock.h).
 *
 * Benchmarks report ratios to a baseline measured in the same run, never
 * bare times: these machines are shared and noisy.  Not thread-safe.
 */
#ifndef MLPTRAIN_BENCHUTIL_H
#define MLPTRAIN_BENCHUTIL_H

#include <stddef.h>
#include <stdio.h>

#include "mlptrain/clock.h"

/* Monotonic seconds. */

/* Median of n values (sorts v in place); *lo, *hi get min and max. */
double bu_median(double *v, size_t n, double *lo, double *hi);

/* Repeats per point: $BENCH_REPEATS or the default. */
int bu_repeats(int dflt);

/* Open bench/results/NAME (directory from $BENCH_RESULTS); NULL on error. */
FILE *bu_open_csv(const char *name, const char *header);

/*
 * Layer widths of a model: in, hidden..., out (nlayers + 1 values).
 * The five (or more) GEMMs of one training step at batch b: per layer l
 * forward (b x in) * (in x out), backward-weights (out x b) * (b x in), and
 * for l > 0 backward-data (b x out) * (out x in).
 */
double bu_step_flops(const size_t *widths, size_t nlayers, size_t b);

/*
 * Seconds of one pass of those GEMMs with dnnl_sgemm (median of `reps`
 * timed passes after warm-up).  Buffers are allocated and freed inside.
 * Returns < 0 on error.
 */
double bu_sgemm_step_seconds(const size_t *widths, size_t nlayers, size_t b,
                             int reps);

/*
 * The same products as oneDNN inner products of type dt (dnnl_f32 or
 * dnnl_bf16; bf16: bf16 operands, f32 weight gradients, as the bf16 step
 * runs them), no bias or activation: the ceiling of a step in that
 * precision.  Primitives made and warmed up inside, on the current
 * OpenMP thread count.  Returns the median of `reps` timed passes (and
 * the fastest into *fastest, when not NULL), < 0 on error (bf16
 * unimplemented here).
 */
double bu_ip_step_seconds(const size_t *widths, size_t nlayers, size_t b,
                          int bf16, int reps, double *fastest);

#endif
