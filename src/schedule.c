/*
 * schedule: the learning rate of each training step (see schedule.h for
 * the formulas).
 *
 * Non-goals: schedules that depend on the figures (reduce on plateau),
 * restarts, cyclic momentum.
 */
#include <math.h>
#include <stddef.h>

#include "mlptrain/error.h"
#include "mlptrain/schedule.h"

const char *const mlp_sched_names[] = {"constant", "step", "cosine",
                                       "onecycle", NULL};

/* Epochs as steps: the nearest count, at least 1 for a count > 0. */
static uint64_t epochs_to_steps(double epochs, uint64_t per_epoch)
{
    double x = floor(epochs * (double)per_epoch + 0.5);

    if (epochs <= 0)
        return 0;
    return x < 1 ? 1 : (uint64_t)x;
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
    if (s->kind == MLP_SCHED_STEP && !(s->lr_step > 0))
        return mlp_error_set(MLP_EUSAGE,
                             "--schedule step needs --lr-step E, the epochs "
                             "between cuts (> 0)");
    if (!(s->lr_min >= 0) || s->lr_min > s->lr)
        return mlp_error_set(MLP_EUSAGE,
                             "--lr-min %g is above --lr %g: the floor of a "
                             "schedule is at most its peak",
                             s->lr_min, s->lr);
    if (!(s->warmup >= 0) || !isfinite(s->warmup))
        return mlp_error_set(MLP_EINVAL, "schedule: warm-up %g epochs",
                             s->warmup);
    s->warmup_steps = epochs_to_steps(s->warmup, s->steps_per_epoch);
    if (s->warmup_steps > s->total_steps)
        return mlp_error_set(MLP_EUSAGE,
                             "--warmup %g epochs (%llu steps) is longer "
                             "than the run (%llu steps)",
                             s->warmup, (unsigned long long)s->warmup_steps,
                             (unsigned long long)s->total_steps);
    s->step_steps = s->kind == MLP_SCHED_STEP
                        ? epochs_to_steps(s->lr_step, s->steps_per_epoch)
                        : 0;
    s->rise_steps = s->warmup_steps > 0
                        ? s->warmup_steps
                        : epochs_to_steps(0.3, s->total_steps);
    return 0;
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
