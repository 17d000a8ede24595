/*
 * schedule: the learning rate of each training step.
 *
 * The rate is a pure function of the step (batch) number, so a resumed run
 * continues it exactly: constant; step (times gamma every `step` epochs);
 * cosine (from lr down to lr_min over the run); onecycle (up to lr and
 * down to lr_min).  A linear warm-up of `warmup` epochs comes first.
 */
#ifndef MLPTRAIN_SCHEDULE_H
#define MLPTRAIN_SCHEDULE_H

typedef enum {
    MLP_SCHED_CONSTANT,
    MLP_SCHED_STEP,
    MLP_SCHED_COSINE,
    MLP_SCHED_ONECYCLE,
} mlp_sched_kind_t;
/* "constant", "step", "cosine", "onecycle", NULL */
extern const char *const mlp_sched_names[];

#endif
