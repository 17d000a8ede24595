/*
 * options_value: one option's value, whatever its place (a run option's
 * field in mlp_config_t, a command's in its own struct): the strict
 * number parsers, the one value parser (mlp_options_parse), the one
 * formatter (mlp_options_format), defaults, ranges (see options.h).
 *
 * Non-goals: which options a command has (cli.c), rules between options
 * (options_rules.c).
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/error.h"
#include "mlptrain/options.h"
#include "options_internal.h"

void *mlp_options_field(const mlp_option_t *o, void *base)
{
    return (char *)base + o->offset;
}

const char *mlp_options_enum_name(const mlp_option_t *o, int v)
{
    for (int i = 0; o->names != NULL && o->names[i] != NULL; i++)
        if (i == v)
            return o->names[i];
    return NULL;
}

int mlp_options_enum_parse(const mlp_option_t *o, const char *name)
{
    for (int i = 0; o->names != NULL && o->names[i] != NULL; i++)
        if (strcmp(o->names[i], name) == 0)
            return i;
    return -1;
}

unsigned long long mlp_options_whole(const mlp_option_t *o, const void *base)
{
    switch (o->type) {
    case MLP_OPT_UINT: return *OPT_FIELD(o, base, unsigned);
    case MLP_OPT_INT: return (unsigned long long)*OPT_FIELD(o, base, int);
    case MLP_OPT_SIZE: return *OPT_FIELD(o, base, size_t);
    case MLP_OPT_U64: return *OPT_FIELD(o, base, uint64_t);
    case MLP_OPT_ENUM:
    case MLP_OPT_FLAG: return (unsigned long long)*OPT_FIELD(o, base, int);
    case MLP_OPT_HIDDEN: return *OPT_FIELD(o, base, size_t); /* nhidden */
    default: return 0;
    }
}

double mlp_options_number(const mlp_option_t *o, const void *base)
{
    return o->type == MLP_OPT_FLOAT ? (double)*OPT_FIELD(o, base, float)
                                    : (double)mlp_options_whole(o, base);
}

static void set_whole(const mlp_option_t *o, void *base,
                      unsigned long long v)
{
    void *p = mlp_options_field(o, base);

    switch (o->type) {
    case MLP_OPT_UINT: *(unsigned *)p = (unsigned)v; break;
    case MLP_OPT_INT: *(int *)p = (int)v; break;
    case MLP_OPT_SIZE: *(size_t *)p = (size_t)v; break;
    case MLP_OPT_U64: *(uint64_t *)p = (uint64_t)v; break;
    case MLP_OPT_ENUM:
    case MLP_OPT_FLAG: *(int *)p = (int)v; break;
    case MLP_OPT_HIDDEN: { /* one layer of width v, or none */
        mlp_config_t *cfg = base;

        cfg->nhidden = v > 0;
        cfg->hidden[0] = (size_t)v;
        break;
    }
    default: break;
    }
}

void mlp_options_set_default(const mlp_option_t *o, void *base)
{
    void *p = mlp_options_field(o, base);

    switch (o->type) {
    case MLP_OPT_FLOAT:
        *(float *)p = (float)o->def;
        break;
    case MLP_OPT_PATH:
    case MLP_OPT_STRING:
        snprintf(p, MLP_PATH_MAX, "%s", o->defstr != NULL ? o->defstr : "");
        break;
    case MLP_OPT_TEXT:
        *(const char **)p = o->defstr;
        break;
    case MLP_OPT_AUGMENT:
        *(mlp_augment_t *)p = (mlp_augment_t){0, 0};
        break;
    case MLP_OPT_CALLBACK: /* its owner zeroes it */
        break;
    default:
        set_whole(o, base, (unsigned long long)o->def);
        break;
    }
}

/* ---- parsers -------------------------------------------------------- */

int mlp_options_parse_uint(const char *opt, const char *arg,
                           unsigned long long lo, unsigned long long hi,
                           unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (arg[0] < '0' || arg[0] > '9')
        goto bad;
    errno = 0;
    v = strtoull(arg, &end, 10);
    if (*end != '\0')
        goto bad;
    if (errno == ERANGE || v < lo || v > hi)
        return mlp_error_set(MLP_EUSAGE,
                             "option '%s': '%s' is out of range (%llu..%llu)",
                             opt, arg, lo, hi);
    *out = v;
    return 0;
bad:
    return mlp_error_set(MLP_EUSAGE,
                         "option '%s': '%s' is not a whole number >= 0", opt,
                         arg);
}

int mlp_options_parse_float(const char *opt, const char *arg, float *out)
{
    const char *p = arg;
    char *end;
    size_t digits = 0;
    double v;

    /* [-]digits[.digits] or [-].digits, then [e[+-]digits]: no space, no
     * hex, no inf or nan, no '+' (as for whole numbers) */
    if (*p == '-')
        p++;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    if (digits == 0)
        goto bad;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            goto bad;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p != '\0')
        goto bad;
    errno = 0;
    v = strtod(arg, &end);
    if (*end != '\0')
        goto bad;
    /* A value a float cannot hold: too large (it would be inf), or so
     * small it would be 0 */
    if (!isfinite(v) || fabs(v) > FLT_MAX ||
        (v != 0.0 && (float)v == 0.0f))
        return mlp_error_set(MLP_EUSAGE,
                             "option '%s': '%s' is out of range for a float "
                             "(magnitude 1e-45..3.4e38)",
                             opt, arg);
    *out = (float)v;
    return 0;
bad:
    return mlp_error_set(MLP_EUSAGE,
                         "option '%s': '%s' is not a number", opt,
                         arg);
}

int mlp_options_parse_hidden(const char *arg, size_t *hidden,
                             size_t *nhidden)
{
    const char *p = arg;
    size_t n = 0;

    if (arg[0] == '\0' || strcmp(arg, "none") == 0) {
        *nhidden = 0;
        return 0;
    }
    for (;;) {
        char *end;
        unsigned long long v;

        if (*p < '0' || *p > '9')
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': expected a list of "
                                 "widths such as 512,256",
                                 arg);
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno == ERANGE || v == 0 || v > MLP_MAX_WIDTH)
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': widths must be "
                                 "1..%zu",
                                 arg, MLP_MAX_WIDTH);
        if (n == MLP_MAX_HIDDEN)
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': at most %d layers",
                                 arg, MLP_MAX_HIDDEN);
        hidden[n++] = (size_t)v;
        if (*end == '\0')
            break;
        if (*end != ',' && *end != ':')
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': expected a list of "
                                 "widths such as 512,256",
                                 arg);
        p = end + 1;
    }
    *nhidden = n;
    return 0;
}

int mlp_options_parse_augment(const char *opt, const char *arg,
                              mlp_augment_t *out)
{
    mlp_augment_t a = {0, 0};
    const char *p = arg;

    if (strcmp(arg, "none") == 0) {
        *out = a;
        return 0;
    }
    while (*p != '\0') {
        size_t n = strcspn(p, ",+");
        unsigned long long v;
        char num[32];
        int rc;

        if (n == 4 && strncmp(p, "flip", 4) == 0) {
            a.flip = 1;
        } else if (n > 6 && n - 6 < sizeof(num) &&
                   strncmp(p, "shift=", 6) == 0) {
            memcpy(num, p + 6, n - 6);
            num[n - 6] = '\0';
            if ((rc = mlp_options_parse_uint(opt, num, 0,
                                             MLP_AUGMENT_MAX_SHIFT, &v)) < 0)
                return rc;
            a.shift = (unsigned)v;
        } else {
            return mlp_error_set(MLP_EUSAGE, "option '%s': '%s': expected "
                                 "shift=K (0..%d), flip, both separated by "
                                 "a comma, or none",
                                 opt, arg, MLP_AUGMENT_MAX_SHIFT);
        }
        p += n;
        if ((*p == ',' || *p == '+') && *++p == '\0')
            return mlp_error_set(MLP_EUSAGE, "option '%s': '%s': trailing "
                                 "comma", opt, arg);
    }
    if (p == arg)
        return mlp_error_set(MLP_EUSAGE, "option '%s': empty value (none "
                             "turns augmentation off)", opt);
    *out = a;
    return 0;
}

int mlp_options_parse(const mlp_option_t *o, void *base, const char *arg)
{
    void *p = mlp_options_field(o, base);
    char opt[80], buf[96];
    unsigned long long v = 0;
    const char *why;
    float f;
    int rc;

    snprintf(opt, sizeof(opt), "--%s", o->name);
    switch (o->type) {
    case MLP_OPT_FLAG: /* no value on the command line; 0/1 in a grid */
        if (arg == NULL || strcmp(arg, "1") == 0 || strcmp(arg, "on") == 0)
            *(int *)p = 1;
        else if (strcmp(arg, "0") == 0 || strcmp(arg, "off") == 0)
            *(int *)p = 0;
        else
            return mlp_error_set(MLP_EUSAGE, "option '%s': '%s': expected "
                                 "0, 1, on or off", opt, arg);
        return 0;
    case MLP_OPT_HIDDEN: {
        mlp_config_t *cfg = base;

        return mlp_options_parse_hidden(arg, cfg->hidden, &cfg->nhidden);
    }
    case MLP_OPT_ENUM: {
        char names[256];
        size_t off = 0;

        if ((rc = mlp_options_enum_parse(o, arg)) >= 0) {
            *(int *)p = rc;
            return 0;
        }
        names[0] = '\0';
        for (size_t i = 0; o->names[i] != NULL && off < sizeof(names); i++)
            off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
                                    i ? ", " : "", o->names[i]);
        return mlp_error_set(MLP_EUSAGE, "option '%s': unknown value '%s' "
                             "(%s)", opt, arg, names);
    }
    case MLP_OPT_AUGMENT:
        return mlp_options_parse_augment(opt, arg, p);
    case MLP_OPT_PATH:
    case MLP_OPT_STRING: {
        size_t n = strnlen(arg, MLP_PATH_MAX);

        if (n >= MLP_PATH_MAX)
            return mlp_error_set(MLP_EUSAGE,
                                 "option '%s': a value of %zu bytes; at most "
                                 "%d", opt, strlen(arg), MLP_PATH_MAX - 1);
        if (n == 0 && o->type == MLP_OPT_PATH)
            return mlp_error_set(MLP_EUSAGE,
                                 "option '%s': an empty %s name", opt,
                                 (o->flags & MLP_OPT_DIR) ? "directory"
                                                          : "file");
        memcpy(p, arg, n + 1);
        return 0;
    }
    case MLP_OPT_TEXT:
        if (arg[0] == '\0' && (o->flags & MLP_OPT_NOT_EMPTY))
            return mlp_error_set(MLP_EUSAGE, "option '%s': an empty %s",
                                 opt, (o->flags & MLP_OPT_DIR)
                                          ? "directory name"
                                          : "value");
        *(const char **)p = arg;
        return 0;
    case MLP_OPT_CALLBACK:
        return o->set(p, arg);
    case MLP_OPT_FLOAT:
        if ((o->flags & MLP_OPT_OFF) && strcmp(arg, "off") == 0) {
            *(float *)p = -1.0f;
            return 0;
        }
        if ((o->flags & MLP_OPT_OFF) && strcmp(arg, "auto") == 0) {
            *(float *)p = 0.0f;
            return 0;
        }
        if ((rc = mlp_options_parse_float(opt, arg, &f)) < 0)
            return rc;
        /* an OFF option's 0 is its default (automatic), -1 its "off":
         * neither is a value to give */
        why = (o->flags & MLP_OPT_OFF) && !(f > 0.0f)
                  ? "must be > 0 or off"
                  : mlp_options_check(o, f, 0, buf, sizeof(buf));
        if (why != NULL)
            return mlp_error_set(MLP_EUSAGE, "option '%s': '%s' %s", opt, arg,
                                 why);
        *(float *)p = f;
        return 0;
    default:
        /* the formatter's words for 0 read back (a checkpoint's text) */
        if (!((o->flags & MLP_OPT_ZERO_ALL) && strcmp(arg, "all") == 0) &&
            !((o->flags & MLP_OPT_ZERO_AUTO) && strcmp(arg, "auto") == 0) &&
            (rc = mlp_options_parse_uint(opt, arg, o->lo, o->hi, &v)) < 0)
            return rc;
        set_whole(o, base, v);
        return 0;
    }
}

/* ---- ranges --------------------------------------------------------- */

/* o's largest float: its .max, else FLT_MAX. */
static double float_max(const mlp_option_t *o)
{
    return o->max > 0.0 ? o->max : FLT_MAX;
}

const char *mlp_options_check(const mlp_option_t *o, double f,
                              unsigned long long v, char *buf, size_t len)
{
    if (o->type == MLP_OPT_FLOAT) {
        int off = (o->flags & MLP_OPT_OFF) != 0;

        if (off && f == -1.0)
            return NULL;
        if (off && f == 0.0) /* the default: automatic */
            return NULL;
        switch (o->rule) {
        case MLP_FLOAT_POS:
            if (!(f > 0.0) || !isfinite(f))
                return off ? "must be > 0 or off" : "must be > 0";
            break;
        case MLP_FLOAT_NONNEG:
            if (!(f >= 0.0) || !isfinite(f))
                return "must be >= 0";
            break;
        case MLP_FLOAT_UNIT:
            if (!(f >= 0.0 && f < 1.0))
                return "must be in [0, 1)";
            break;
        }
        if (f > float_max(o)) {
            snprintf(buf, len, "is above %g, the most it may be",
                     float_max(o));
            return buf;
        }
        return NULL;
    }
    if (((o->flags & (MLP_OPT_ZERO_ALL | MLP_OPT_ZERO_AUTO)) && v == 0) ||
        o->lo == o->hi || (v >= o->lo && v <= o->hi))
        return NULL;
    snprintf(buf, len, "is out of range (%llu..%llu)", o->lo, o->hi);
    return buf;
}

/* A whole number for humans: 2^64-1 and 2^32-1 by name. */
static void fmt_whole(unsigned long long v, char *buf, size_t len)
{
    if (v == ULLONG_MAX)
        snprintf(buf, len, "2^64-1");
    else if (v == UINT_MAX)
        snprintf(buf, len, "2^32-1");
    else
        snprintf(buf, len, "%llu", v);
}

void mlp_options_range(const mlp_option_t *o, char *buf, size_t len)
{
    char lo[32], hi[32];

    buf[0] = '\0';
    switch (o->type) {
    case MLP_OPT_UINT:
    case MLP_OPT_INT:
    case MLP_OPT_SIZE:
    case MLP_OPT_U64:
        fmt_whole(o->lo, lo, sizeof(lo));
        fmt_whole(o->hi, hi, sizeof(hi));
        snprintf(buf, len, "%s in %s..%s%s", o->metavar, lo, hi,
                 (o->flags & MLP_OPT_ZERO_ALL)    ? " or all"
                 : (o->flags & MLP_OPT_ZERO_AUTO) ? " or auto"
                                                  : "");
        break;
    case MLP_OPT_FLOAT:
        switch (o->rule) {
        case MLP_FLOAT_POS:
            snprintf(buf, len, "%s > 0", o->metavar);
            break;
        case MLP_FLOAT_NONNEG:
            if (float_max(o) < FLT_MAX)
                snprintf(buf, len, "%s in 0..%g", o->metavar, float_max(o));
            else
                snprintf(buf, len, "%s >= 0", o->metavar);
            break;
        case MLP_FLOAT_UNIT:
            snprintf(buf, len, "0 <= %s < 1", o->metavar);
            break;
        }
        break;
    case MLP_OPT_HIDDEN:
        snprintf(buf, len, "up to %d widths in 1..%zu", MLP_MAX_HIDDEN,
                 (size_t)MLP_MAX_WIDTH);
        break;
    case MLP_OPT_AUGMENT:
        snprintf(buf, len, "K in 0..%d", MLP_AUGMENT_MAX_SHIFT);
        break;
    default: /* names (listed by the help), files, text */
        break;
    }
}

/* ---- formats -------------------------------------------------------- */

void mlp_options_format(const mlp_option_t *o, const void *base, int exact,
                        char *buf, size_t len)
{
    unsigned long long v = mlp_options_whole(o, base);

    buf[0] = '\0';
    switch (o->type) {
    case MLP_OPT_FLOAT: {
        float f = *OPT_FIELD(o, base, float);

        if ((o->flags & MLP_OPT_OFF) && f < 0.0f)
            snprintf(buf, len, "off");
        else if ((o->flags & MLP_OPT_OFF) && f == 0.0f)
            snprintf(buf, len, "auto");
        else
            snprintf(buf, len, exact ? "%.9g" : "%g", (double)f);
        break;
    }
    case MLP_OPT_ENUM: {
        const char *name = mlp_options_enum_name(o, (int)v);

        snprintf(buf, len, "%s", name != NULL ? name : "?");
        break;
    }
    case MLP_OPT_AUGMENT: {
        const mlp_augment_t *a = OPT_FIELD(o, base, mlp_augment_t);

        if (a->shift == 0 && !a->flip)
            snprintf(buf, len, "none");
        else
            snprintf(buf, len, "%s%.0u%s%s", a->shift ? "shift=" : "",
                     a->shift, a->shift && a->flip ? "," : "",
                     a->flip ? "flip" : "");
        break;
    }
    case MLP_OPT_HIDDEN: {
        const mlp_config_t *cfg = base;
        size_t off = 0;

        if (cfg->nhidden == 0)
            snprintf(buf, len, "none");
        for (size_t i = 0; i < cfg->nhidden && off < len; i++)
            off += (size_t)snprintf(buf + off, len - off, "%s%zu",
                                    i ? ":" : "", cfg->hidden[i]);
        break;
    }
    case MLP_OPT_PATH: {
        const char *s = OPT_FIELD(o, base, char);

        snprintf(buf, len, "%s", s[0] != '\0' ? s : "none");
        break;
    }
    case MLP_OPT_STRING:
        snprintf(buf, len, "%s", OPT_FIELD(o, base, char));
        break;
    case MLP_OPT_TEXT: {
        const char *s = *OPT_FIELD(o, base, const char *);

        snprintf(buf, len, "%s", s != NULL ? s : "");
        break;
    }
    case MLP_OPT_CALLBACK:
        break;
    default:
        if (v == 0 && (o->flags & MLP_OPT_ZERO_ALL))
            snprintf(buf, len, "all");
        else if (v == 0 && (o->flags & MLP_OPT_ZERO_AUTO))
            snprintf(buf, len, "auto");
        else if (o->type == MLP_OPT_INT)
            snprintf(buf, len, "%d", *OPT_FIELD(o, base, int));
        else
            snprintf(buf, len, "%llu", v);
        break;
    }
}

int mlp_options_is_set(const mlp_option_t *o, const void *base)
{
    switch (o->type) {
    case MLP_OPT_FLOAT: return *OPT_FIELD(o, base, float) != 0.0f;
    case MLP_OPT_PATH:
    case MLP_OPT_STRING: return OPT_FIELD(o, base, char)[0] != '\0';
    case MLP_OPT_TEXT: {
        const char *s = *OPT_FIELD(o, base, const char *);

        return s != NULL && s[0] != '\0';
    }
    case MLP_OPT_HIDDEN: return mlp_options_whole(o, base) > 0;
    case MLP_OPT_AUGMENT:
        return mlp_augment_active(OPT_FIELD(o, base, mlp_augment_t));
    case MLP_OPT_CALLBACK: return 0;
    default: return mlp_options_whole(o, base) != 0;
    }
}

int mlp_options_is_default(const mlp_option_t *o, const void *base)
{
    switch (o->type) {
    case MLP_OPT_FLOAT:
        return *OPT_FIELD(o, base, float) == (float)o->def;
    case MLP_OPT_PATH:
    case MLP_OPT_STRING:
        return (o->flags & MLP_OPT_NOT_EMPTY) ||
               strcmp(OPT_FIELD(o, base, char),
                      o->defstr != NULL ? o->defstr : "") == 0;
    case MLP_OPT_TEXT:
        return *OPT_FIELD(o, base, const char *) == o->defstr;
    case MLP_OPT_HIDDEN: {
        const mlp_config_t *cfg = base;

        return cfg->nhidden == 1 && cfg->hidden[0] == (size_t)o->def;
    }
    case MLP_OPT_AUGMENT: return !mlp_options_is_set(o, base);
    case MLP_OPT_CALLBACK: return 1;
    default:
        return mlp_options_whole(o, base) == (unsigned long long)o->def;
    }
}

int mlp_options_equal(const mlp_option_t *o, const mlp_config_t *a,
                      const mlp_config_t *b)
{
    switch (o->type) {
    case MLP_OPT_FLOAT:
        return *OPT_FIELD(o, a, float) == *OPT_FIELD(o, b, float);
    case MLP_OPT_HIDDEN:
        return a->nhidden == b->nhidden &&
               memcmp(a->hidden, b->hidden,
                      a->nhidden * sizeof(a->hidden[0])) == 0;
    case MLP_OPT_PATH:
    case MLP_OPT_STRING:
        return strcmp(OPT_FIELD(o, a, char), OPT_FIELD(o, b, char)) == 0;
    case MLP_OPT_AUGMENT:
        return OPT_FIELD(o, a, mlp_augment_t)->shift ==
                   OPT_FIELD(o, b, mlp_augment_t)->shift &&
               OPT_FIELD(o, a, mlp_augment_t)->flip ==
                   OPT_FIELD(o, b, mlp_augment_t)->flip;
    default:
        return mlp_options_whole(o, a) == mlp_options_whole(o, b);
    }
}

void mlp_options_copy(const mlp_option_t *o, mlp_config_t *dst,
                      const mlp_config_t *src)
{
    void *p = mlp_options_field(o, dst);

    switch (o->type) {
    case MLP_OPT_FLOAT:
        *(float *)p = *OPT_FIELD(o, src, float);
        break;
    case MLP_OPT_HIDDEN:
        dst->nhidden = src->nhidden;
        memcpy(dst->hidden, src->hidden, sizeof(dst->hidden));
        break;
    case MLP_OPT_PATH:
    case MLP_OPT_STRING:
        memcpy(p, OPT_FIELD(o, src, char), MLP_PATH_MAX);
        break;
    case MLP_OPT_AUGMENT:
        *(mlp_augment_t *)p = *OPT_FIELD(o, src, mlp_augment_t);
        break;
    default:
        set_whole(o, dst, mlp_options_whole(o, src));
        break;
    }
}
