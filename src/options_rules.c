/*
 * options_rules: the rules between options, checked in one place
 * (mlp_rules_check) and said in words for --help (mlp_rules_text): the
 * run options' rules (options.c) and every command's own (beside its
 * table in its cmd_*.c); and the rules that wait for the data (see
 * options.h).
 *
 * Non-goals: what a single value may be (options_value.c).
 */
#include <stdio.h>
#include <string.h>

#include "mlptrain/error.h"
#include "mlptrain/options.h"
#include "options_internal.h"

/* The struct o's field is in, NULL when the command has none. */
static const void *base_of(const mlp_option_t *o, const mlp_values_t *v)
{
    return o->place == MLP_IN_RUN ? (const void *)v->cfg : v->own;
}

/* o's place in the command's options, -1 if it is not one of them. */
static long place_in(const mlp_option_t *o, const mlp_option_t *const *opts)
{
    for (long i = 0; opts[i] != NULL; i++)
        if (opts[i] == o)
            return i;
    return -1;
}

/* Is o (NULL: no option) one of the command's options? */
static int has(const mlp_option_t *o, const mlp_values_t *v)
{
    if (o == NULL)
        return 1;
    if (v->options == NULL)
        return o->place == MLP_IN_RUN;
    return place_in(o, v->options) >= 0;
}

/* Given on the command line. */
static int given(const mlp_option_t *o, const mlp_values_t *v)
{
    long i;

    if (o->place == MLP_IN_RUN)
        return v->cfg != NULL && (v->cfg->given & mlp_options_bit(o)) != 0;
    i = v->options != NULL ? place_in(o, v->options) : -1;
    return i >= 0 && i < 64 && ((v->own_given >> i) & 1);
}

/* A resumed run's checkpointed option the command line did not give. */
static int from_checkpoint(const mlp_option_t *o, const mlp_values_t *v)
{
    return o->place == MLP_IN_RUN && v->cfg != NULL &&
           v->cfg->resume_path[0] != '\0' && (o->flags & MLP_OPT_CKPT) &&
           !given(o, v);
}

/* In use: given, or another value than its default (set by code, or
 * read from a checkpoint). */
static int in_use(const mlp_option_t *o, const mlp_values_t *v)
{
    const void *b = base_of(o, v);

    return given(o, v) || (b != NULL && !mlp_options_is_default(o, b));
}

/* Set: not 0, not empty (a callback's: given). */
static int is_set(const mlp_option_t *o, const mlp_values_t *v)
{
    const void *b = base_of(o, v);

    if (o->type == MLP_OPT_CALLBACK)
        return given(o, v);
    return b != NULL && mlp_options_is_set(o, b);
}

/* Is ENUM o's value one of `values` (MLP_V bits)? */
static int has_value(const mlp_option_t *o, const mlp_values_t *v,
                     unsigned values)
{
    const void *b = base_of(o, v);
    int x = b != NULL ? (int)mlp_options_whole(o, b) : -1;

    return x >= 0 && x < 32 && ((values >> x) & 1);
}

/* o's names of `values`, "adam or adamw". */
static void value_words(const mlp_option_t *o, unsigned values, char *buf,
                        size_t len)
{
    size_t off = 0;
    int n = 0, total = 0;

    buf[0] = '\0';
    for (int i = 0; i < 32; i++)
        total += (values >> i) & 1;
    for (int i = 0; i < 32 && off < len; i++) {
        const char *name;

        if (!((values >> i) & 1) ||
            (name = mlp_options_enum_name(o, i)) == NULL)
            continue;
        n++;
        off += (size_t)snprintf(buf + off, len - off, "%s%s",
                                n == 1       ? ""
                                : n == total ? " or "
                                             : ", ",
                                name);
    }
}

/* "'--beta1'", "'--schedule step'", and " (the checkpoint's)". */
static void name_of(const mlp_option_t *o, const mlp_values_t *v,
                    int with_value, char *buf, size_t len)
{
    char val[64] = "";
    const void *b = base_of(o, v);

    if (with_value && b != NULL)
        mlp_options_format(o, b, 0, val, sizeof(val));
    snprintf(buf, len, "'--%s%s%s'%s", o->name, val[0] ? " " : "", val,
             from_checkpoint(o, v) ? " (the checkpoint's)" : "");
}

/* "--save FILE" */
static void flag_of(const mlp_option_t *o, char *buf, size_t len)
{
    snprintf(buf, len, "--%s%s%s", o->name, o->metavar != NULL ? " " : "",
             o->metavar != NULL ? o->metavar : "");
}

/* Does rule r hold?  (Its x in use and its conditions met.) */
static int broken(const mlp_rule_t *r, const mlp_values_t *v)
{
    if (r->kind == MLP_RULE_REQUIRED)
        return !given(r->x, v) && (r->alt == NULL || !given(r->alt, v)) &&
               (r->unless == NULL || !in_use(r->unless, v));
    if (!in_use(r->x, v) || (r->xvalues != 0 &&
                             !has_value(r->x, v, r->xvalues)) ||
        (r->when != NULL && !in_use(r->when, v)))
        return 0;
    /* the checkpoint's y is not known yet */
    if (!v->merged && (from_checkpoint(r->y, v) ||
                       (r->alt != NULL && from_checkpoint(r->alt, v))))
        return 0;
    switch (r->kind) {
    case MLP_RULE_NEEDS:
        if (r->yvalues != 0)
            return !has_value(r->y, v, r->yvalues);
        return !is_set(r->y, v) && (r->alt == NULL || !is_set(r->alt, v));
    case MLP_RULE_NEEDS_GIVEN:
        return !given(r->y, v);
    case MLP_RULE_CONFLICTS:
        return r->yvalues != 0 ? has_value(r->y, v, r->yvalues)
                               : in_use(r->y, v);
    case MLP_RULE_AT_MOST:
        return !(mlp_options_number(r->x, base_of(r->x, v)) <=
                 mlp_options_number(r->y, base_of(r->y, v)));
    case MLP_RULE_BELOW:
        return !(mlp_options_number(r->x, base_of(r->x, v)) <
                 mlp_options_number(r->y, base_of(r->y, v)));
    default:
        return 0;
    }
}

/* The message of a broken rule: MLP_EUSAGE. */
static int refuse(const mlp_rule_t *r, const mlp_values_t *v)
{
    char xn[128], yv[96] = "", words[96], tail[512], yf[96], af[96];

    snprintf(tail, sizeof(tail), "%s%s", r->why != NULL ? ": " : "",
             r->why != NULL ? r->why : "");
    if (r->kind == MLP_RULE_REQUIRED) {
        if (r->alt != NULL)
            return mlp_error_set(MLP_EUSAGE, "option '--%s' or '--%s' is "
                                 "required%s", r->x->name, r->alt->name,
                                 tail);
        return mlp_error_set(MLP_EUSAGE, "option '--%s' is required%s",
                             r->x->name, tail);
    }
    name_of(r->x, v, r->xvalues != 0, xn, sizeof(xn));
    if (base_of(r->y, v) != NULL)
        mlp_options_format(r->y, base_of(r->y, v), 0, yv, sizeof(yv));
    flag_of(r->y, yf, sizeof(yf));
    switch (r->kind) {
    case MLP_RULE_NEEDS:
        if (r->yvalues == 0) {
            if (r->alt != NULL)
                flag_of(r->alt, af, sizeof(af));
            return mlp_error_set(MLP_EUSAGE, "option %s needs %s%s%s%s", xn,
                                 yf, r->alt != NULL ? " or " : "",
                                 r->alt != NULL ? af : "", tail);
        }
        value_words(r->y, r->yvalues, words, sizeof(words));
        return mlp_error_set(MLP_EUSAGE, "option %s needs --%s %s (%s is "
                             "%s)%s", xn, r->y->name, words,
                             from_checkpoint(r->y, v) ? "the checkpoint's"
                                                      : "this run's",
                             yv, tail);
    case MLP_RULE_NEEDS_GIVEN:
        return mlp_error_set(MLP_EUSAGE, "option %s needs '%s'%s", xn, yf,
                             tail);
    case MLP_RULE_CONFLICTS:
        words[0] = '\0';
        if (r->yvalues != 0)
            value_words(r->y, r->yvalues, words, sizeof(words));
        return mlp_error_set(MLP_EUSAGE, "option %s conflicts with --%s%s%s"
                             "%s", xn, r->y->name, words[0] ? " " : "",
                             words, tail);
    default: {
        char xv[64];

        mlp_options_format(r->x, base_of(r->x, v), 0, xv, sizeof(xv));
        return mlp_error_set(MLP_EUSAGE, "option %s: %s is %s --%s (%s)%s",
                             xn, xv,
                             r->kind == MLP_RULE_AT_MOST ? "above"
                                                         : "not below",
                             r->y->name, yv, tail);
    }
    }
}

/* Are all of r's options the command's? */
static int applies(const mlp_rule_t *r, const mlp_values_t *v)
{
    return has(r->x, v) && has(r->y, v) && has(r->alt, v) &&
           has(r->when, v) && has(r->unless, v);
}

int mlp_rules_check(const mlp_rule_t *rules, size_t n, const mlp_values_t *v)
{
    for (size_t i = 0; i < n; i++)
        if (applies(&rules[i], v) && broken(&rules[i], v))
            return refuse(&rules[i], v);
    return 0;
}

int mlp_config_check_rules(const mlp_config_t *cfg, int merged)
{
    mlp_values_t v = {.cfg = cfg, .merged = merged};

    for (size_t i = 0; i < mlp_noption_rules; i++) {
        const mlp_rule_t *r = &mlp_option_rules[i];

        if (r->kind != MLP_RULE_REQUIRED &&
            r->kind != MLP_RULE_NEEDS_GIVEN && broken(r, &v))
            return refuse(r, &v);
    }
    return 0;
}

size_t mlp_rules_text(const mlp_rule_t *rules, size_t n,
                      const mlp_option_t *const *options,
                      const mlp_option_t *o, char *buf, size_t len,
                      size_t off)
{
    mlp_values_t v = {.options = options};

    for (size_t i = 0; i < n && off < len; i++) {
        const mlp_rule_t *r = &rules[i];
        char words[96] = "", xw[96] = "", cond[128] = "";
        const char *sep = off ? ", " : "";

        if (!applies(r, &v) ||
            !(r->x == o || (r->kind == MLP_RULE_REQUIRED && r->alt == o)))
            continue;
        if (r->xvalues != 0)
            value_words(r->x, r->xvalues, xw, sizeof(xw));
        if (r->yvalues != 0)
            value_words(r->y, r->yvalues, words, sizeof(words));
        if (r->when != NULL)
            snprintf(cond, sizeof(cond), " with --%s", r->when->name);
        switch (r->kind) {
        case MLP_RULE_REQUIRED:
            if (r->alt != NULL)
                off += (size_t)snprintf(buf + off, len - off,
                                        "%s--%s or --%s required", sep,
                                        r->x->name, r->alt->name);
            else
                off += (size_t)snprintf(buf + off, len - off, "%srequired",
                                        sep);
            if (r->unless != NULL && off < len)
                off += (size_t)snprintf(buf + off, len - off,
                                        " (but not with --%s)",
                                        r->unless->name);
            break;
        case MLP_RULE_NEEDS:
        case MLP_RULE_NEEDS_GIVEN:
            off += (size_t)snprintf(
                buf + off, len - off, "%s%s%sneeds --%s%s%s%s%s%s", sep, xw,
                xw[0] ? " " : "", r->y->name, words[0] ? " " : "", words,
                r->alt != NULL ? " or --" : "",
                r->alt != NULL ? r->alt->name : "", cond);
            break;
        default:
            off += (size_t)snprintf(
                buf + off, len - off, "%s%s%s%s --%s%s%s%s", sep, xw,
                xw[0] ? " " : "",
                r->kind == MLP_RULE_CONFLICTS ? "not with"
                : r->kind == MLP_RULE_AT_MOST ? "at most"
                                              : "below",
                r->y->name, words[0] ? " " : "", words, cond);
            break;
        }
    }
    return off < len ? off : len - 1;
}

/* ---- the data's rules ----------------------------------------------- */

int mlp_config_check_data(const mlp_config_t *cfg, unsigned has,
                          const char *train_what)
{
    mlp_values_t v = {.cfg = cfg};

    for (size_t i = 0; i < mlp_ndata_rules; i++) {
        const mlp_data_rule_t *r = &mlp_data_rules[i];
        char xn[128];

        if (!in_use(r->x, &v) || (r->needs & has) == r->needs)
            continue;
        name_of(r->x, &v, 0, xn, sizeof(xn));
        return mlp_error_set(MLP_EUSAGE, "option %s needs %s%s%s%s", xn,
                             r->what, train_what != NULL ? " (" : "",
                             train_what != NULL ? train_what : "",
                             train_what != NULL ? ")" : "");
    }
    return 0;
}

size_t mlp_data_rules_text(const mlp_option_t *o, char *buf, size_t len,
                           size_t off)
{
    for (size_t i = 0; i < mlp_ndata_rules && off < len; i++)
        if (mlp_data_rules[i].x == o)
            off += (size_t)snprintf(buf + off, len - off, "%sneeds %s",
                                    off ? ", " : "", mlp_data_rules[i].what);
    return off < len ? off : len - 1;
}
