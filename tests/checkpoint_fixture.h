/*
 * checkpoint_fixture: the valid checkpoints the checkpoint suites
 * (check_checkpoint, check_checkpoint_corrupt) and check_export start from.
 */
#ifndef MLPTRAIN_CHECKPOINT_FIXTURE_H
#define MLPTRAIN_CHECKPOINT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/checkpoint.h"

/*
 * A valid checkpoint without a net: in = rows * cols, hidden widths h,
 * `classes` outputs; parameters and (with momentum) state drawn from
 * `seed`.
 */
void make_ck(mlp_checkpoint_t *ck, size_t rows, size_t cols,
             const size_t *h, size_t nh, size_t classes,
             float momentum, uint64_t seed);

/* The small checkpoint of most tests: 2x2 -> 3 -> 2, momentum. */
void small_ck(mlp_checkpoint_t *ck, uint64_t seed);

/* Version 2's own fields: an options text, Adam's steps, validation. */
void v2_fields(mlp_checkpoint_t *ck);

#endif
