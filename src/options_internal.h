/*
 * options_internal: what the three files of the options module share:
 * the table and the config (options.c), an option's value
 * (options_value.c) and the rules between options (options_rules.c).
 * Private to them: not in include/, not installed.
 */
#ifndef MLPTRAIN_OPTIONS_INTERNAL_H
#define MLPTRAIN_OPTIONS_INTERNAL_H

#include "mlptrain/options.h"

/* o's field in base, read-only. */
#define OPT_FIELD(o, base, type) \
    ((const type *)((const char *)(base) + (o)->offset))

/* A whole number's value (an ENUM's or a flag's too; the widths' count
 * for hidden); 0 for other types. */
unsigned long long mlp_options_whole(const mlp_option_t *o,
                                     const void *base);

/* A float's value, or a whole number's, as a double. */
double mlp_options_number(const mlp_option_t *o, const void *base);

/* Set: not 0, not empty, not "none" (a CALLBACK: never; the rules ask
 * whether it was given). */
int mlp_options_is_set(const mlp_option_t *o, const void *base);

#endif
