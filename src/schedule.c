/*
 * schedule: the learning rate of each training step (see schedule.h for
 * the formulas).
 *
 * Non-goals: schedules that depend on the figures (reduce on plateau),
 * restarts, cyclic momentum.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "mlptrain/error.h"
#include "mlptrain/options.h"
#include "mlptrain/schedule.h"

const char *const mlp_sched_names[] = {"constant", "step", "cosine",
                                       "onecycle", NULL};

/*
 * Epochs as steps: the nearest count, at least 1 for a count > 0; checked
 * against what it becomes before the conversion: a count above `most`
 * (or not finite) is refused, never cast (a double above 2^64 has no
 * uint64_t; --lr-step 1e20 used to become 0 and divide by it).
 */
static int epochs_to_steps(double epochs, uint64_t per_epoch, uint64_t most,
                           uint64_t *steps)
{
    double x;

    if (!(epochs >= 0) || !isfinite(epochs))
        return -1;
    if (epochs == 0) {
        *steps = 0;
        return 0;
    }
    x = floor(epochs * (double)per_epoch + 0.5);
    if (!(x <= (double)most))
        return -1;
    *steps = x < 1 ? 1 : (uint64_t)x;
    return *steps <= most ? 0 : -1;
}

/* A rate the step takes is a float: finite, and not 0 where the formula
 * is positive.  `what` says where the schedule reaches it. */
static int check_rate(double rate, const char *opt, double value,
                      const char *what)
{
    if ((float)rate > 0.0f && isfinite((float)rate))
        return 0;
    return mlp_error_set(MLP_EUSAGE,
                         "option '%s': %g makes the learning rate %g %s, "
                         "which a float %s",
                         opt, value, rate, what,
                         (float)rate > 0.0f ? "cannot hold" : "rounds to 0");
}

/* The smallest and largest rates the schedule reaches, as floats. */
static int check_rates(const mlp_sched_t *s)
{
    uint64_t t = s->total_steps, w = s->warmup_steps;
    char what[96];
    int rc;

    /* the peak was parsed as a float; its first warm-up step: lr / W */
    if (w > 0 && s->kind != MLP_SCHED_ONECYCLE &&
        (rc = check_rate(s->lr / (double)w, "--warmup", s->warmup,
                         "at the first step")) < 0)
        return rc;
    if (s->kind == MLP_SCHED_ONECYCLE &&
        (rc = check_rate(s->lr / 25.0, "--lr", s->lr,
                         "at the first step (lr / 25)")) < 0)
        return rc;
    if (s->kind == MLP_SCHED_STEP && w < t) {
        /* monotone in the cuts: the last step's rate is the extreme */
        uint64_t cuts = (t - 1) / s->step_steps;
        double last = s->lr * pow(s->lr_gamma, (double)cuts);

        snprintf(what, sizeof(what), "after %llu cuts (the last step)",
                 (unsigned long long)cuts);
        if (cuts > 0 &&
            (rc = check_rate(last, "--lr-gamma", s->lr_gamma, what)) < 0)
            return rc;
    }
    return 0;
}

int mlp_sched_init(mlp_sched_t *s)
{
    if (!(s->lr > 0) || !isfinite(s->lr))
        return mlp_error_set(MLP_EINVAL,
                             "schedule: learning rate %g is not a finite "
                             "positive number",
                             s->lr);
    if (s->steps_per_epoch == 0 || s->total_steps == 0)
        return mlp_error_set(MLP_EINVAL, "schedule: a run without steps");
    if ((unsigned)s->kind > MLP_SCHED_ONECYCLE)
        return mlp_error_set(MLP_EINVAL, "schedule: unknown kind %d",
                             (int)s->kind);
    /* What the options' rules say (options.c: --schedule step needs
     * --lr-step, --lr-min at most --lr), checked on the command line and
     * a checkpoint's options: here only a caller's struct can break it. */
    if (s->kind == MLP_SCHED_STEP && !(s->lr_step > 0))
        return mlp_error_set(MLP_EINVAL,
                             "schedule: a step schedule without --lr-step");
    if (!(s->lr_min >= 0) || s->lr_min > s->lr)
        return mlp_error_set(MLP_EINVAL,
                             "schedule: --lr-min %g is not in [0, --lr %g]",
                             s->lr_min, s->lr);
    if (s->kind == MLP_SCHED_STEP &&
        (!(s->lr_gamma > 0) || !isfinite(s->lr_gamma)))
        return mlp_error_set(MLP_EINVAL, "schedule: factor %g per cut",
                             s->lr_gamma);
    if (epochs_to_steps(s->warmup, s->steps_per_epoch, s->total_steps,
                        &s->warmup_steps) < 0)
        return mlp_error_set(MLP_EUSAGE,
                             "option '--warmup': %g epochs is longer than "
                             "the run (%llu steps of %llu an epoch): the "
                             "warm-up must fit in the run",
                             s->warmup, (unsigned long long)s->total_steps,
                             (unsigned long long)s->steps_per_epoch);
    s->step_steps = 0;
    /* the first cut must fall within the run: at step S <= T - 1 (a cut
     * at T or later would never come, and --lr-gamma would be ignored) */
    if (s->kind == MLP_SCHED_STEP &&
        (epochs_to_steps(s->lr_step, s->steps_per_epoch, s->total_steps - 1,
                         &s->step_steps) < 0 ||
         s->step_steps == 0))
        return mlp_error_set(MLP_EUSAGE,
                             "option '--lr-step': %g epochs is not shorter "
                             "than the run (%llu steps of %llu an epoch): "
                             "the rate would never be cut",
                             s->lr_step, (unsigned long long)s->total_steps,
                             (unsigned long long)s->steps_per_epoch);
    if (s->warmup_steps > 0)
        s->rise_steps = s->warmup_steps;
    else
        /* 0.3 of the run: at most the run, at least 1 step */
        (void)epochs_to_steps(0.3, s->total_steps, s->total_steps,
                              &s->rise_steps);
    return check_rates(s);
}

/* From a at x = 0 to b at x = 1 along half a cosine. */
static double anneal(double a, double b, double x)
{
    const double pi = 3.14159265358979323846;

    return b + (a - b) * (1.0 + cos(pi * x)) / 2.0;
}

double mlp_sched_lr(const mlp_sched_t *s, uint64_t step)
{
    uint64_t t = s->total_steps, w = s->warmup_steps;

    if (step >= t)
        step = t - 1;
    if (s->kind == MLP_SCHED_ONECYCLE) {
        uint64_t u = s->rise_steps; /* 1 <= u <= t */

        if (step + 1 < u)
            return anneal(s->lr / 25.0, s->lr,
                          (double)step / (double)(u - 1));
        if (t == u)
            return s->lr;
        return anneal(s->lr, s->lr_min,
                      (double)(step + 1 - u) / (double)(t - u));
    }
    if (step < w)
        return s->lr * (double)(step + 1) / (double)w;
    switch (s->kind) {
    case MLP_SCHED_STEP:
        return s->lr * pow(s->lr_gamma, (double)(step / s->step_steps));
    case MLP_SCHED_COSINE:
        return anneal(s->lr, s->lr_min,
                      (double)(step - w) / (double)(t - w));
    default:
        return s->lr;
    }
}

void mlp_sched_of(const struct mlp_config *cfg, uint64_t steps_per_epoch,
                  mlp_sched_t *s)
{
    *s = (mlp_sched_t){
        .kind = (mlp_sched_kind_t)cfg->schedule, .lr = cfg->lr,
        .lr_min = cfg->lr_min, .warmup = cfg->warmup,
        .lr_step = cfg->lr_step, .lr_gamma = cfg->lr_gamma,
        .steps_per_epoch = steps_per_epoch,
        .total_steps = (uint64_t)cfg->epochs * steps_per_epoch};
}
