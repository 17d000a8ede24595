/*
 * schedule: the learning rate of each training step (see schedule.h).
 */
#include <stddef.h>

#include "mlptrain/schedule.h"

const char *const mlp_sched_names[] = {"constant", "step", "cosine",
                                       "onecycle", NULL};
