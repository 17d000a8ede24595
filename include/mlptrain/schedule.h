/*
 * schedule: the learning rate of each training step.
 *
 * The rate is a pure function of the step (the global batch number, 0 at
 * the run's first batch: epoch e, batch k, both from 1, is step
 * (e - 1) * steps_per_epoch + k - 1), so a resumed run continues it
 * exactly, from any batch.  With W = warmup_steps, T = total_steps, lr the
 * peak and lr_min the floor (all in double; the caller rounds to float):
 *
 *   warm-up    step < W (not onecycle): lr * (step + 1) / W, linear up to
 *              the peak at step W - 1
 *   constant   lr (with no warm-up exactly the given lr, every step)
 *   step       lr * gamma^floor(step / S), S = lr_step epochs in steps:
 *              cuts at the epoch marks lr_step, 2 lr_step, ..., counted
 *              from the run's start (the warm-up included)
 *   cosine     lr_min + (lr - lr_min) (1 + cos(pi q)) / 2,
 *              q = (step - W) / (T - W): the peak after the warm-up, near
 *              lr_min at the last step (PyTorch's CosineAnnealingLR with
 *              T_max = T - W, per batch)
 *   onecycle   up in U steps from lr / 25 to lr, then down to lr_min,
 *              both halves cosine (PyTorch's OneCycleLR with
 *              div_factor 25, anneal_strategy "cos"): U = W when a
 *              warm-up is given, else round(0.3 T) (pct_start 0.3);
 *              step < U: lr/25 + (lr - lr/25) (1 - cos(pi step / (U - 1))) / 2
 *              after:    lr_min + (lr - lr_min) (1 + cos(pi q)) / 2,
 *                        q = (step - U + 1) / (T - U), lr_min at step T - 1
 *
 * Epoch counts become steps by rounding to the nearest step:
 * W = round(warmup * steps_per_epoch), S = round(lr_step *
 * steps_per_epoch) (at least 1 when the count is > 0), each checked
 * against what it becomes before the conversion: W <= T, S <= T - 1 (a
 * cut at T or later would never come).  Steps at or past T keep the last
 * step's rate.  The rates the schedule reaches are checked as the floats
 * the step takes: the first warm-up rate lr / W, onecycle's lr / 25, and
 * the step schedule's last lr * gamma^cuts must be finite and > 0.
 *
 * Errors (mlp_sched_init): MLP_EUSAGE, naming the option, for a warm-up
 * longer than the run, a --lr-step not shorter than it (in steps), or a
 * rate a float cannot hold or rounds to 0; MLP_EINVAL for a rate that is
 * not finite and positive, no steps, and what the options' rules refuse
 * before (options.c: step without --lr-step > 0, --lr-min above --lr).
 * Thread-safe (a pure function of a struct set up once).
 */
#ifndef MLPTRAIN_SCHEDULE_H
#define MLPTRAIN_SCHEDULE_H

#include <stdint.h>

typedef enum {
    MLP_SCHED_CONSTANT,
    MLP_SCHED_STEP,
    MLP_SCHED_COSINE,
    MLP_SCHED_ONECYCLE,
} mlp_sched_kind_t;
/* "constant", "step", "cosine", "onecycle", NULL */
extern const char *const mlp_sched_names[];

typedef struct {
    /* set by the caller */
    mlp_sched_kind_t kind;
    double lr;                /* the peak, > 0 */
    double lr_min;            /* cosine, onecycle: the floor, <= lr */
    double warmup;            /* epochs of warm-up (fractions allowed) */
    double lr_step;           /* step: epochs between cuts, > 0 */
    double lr_gamma;          /* step: the factor at each cut */
    uint64_t steps_per_epoch; /* training batches per epoch, > 0 */
    uint64_t total_steps;     /* T: the whole run's, > 0 */
    /* set by mlp_sched_init */
    uint64_t warmup_steps;    /* W */
    uint64_t step_steps;      /* S (step) */
    uint64_t rise_steps;      /* U (onecycle) */
} mlp_sched_t;

struct mlp_config;

/* The schedule of a run (the one place it is built from the run options,
 * options.h): kind, lr, lr_min, warmup, lr_step, lr_gamma from cfg, and
 * its steps: steps_per_epoch, total cfg->epochs x steps_per_epoch.  Then
 * mlp_sched_init. */
void mlp_sched_of(const struct mlp_config *cfg, uint64_t steps_per_epoch,
                  mlp_sched_t *s);

/* Check the fields set by the caller and compute the others. */
int mlp_sched_init(mlp_sched_t *s);
/* The rate of step `step` (0-based). */
double mlp_sched_lr(const mlp_sched_t *s, uint64_t step);

#endif
