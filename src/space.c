/*
 * space: search spaces, their checks and their draws (see space.h).
 * Pure: no processes, no files.
 *
 * The portability of a draw rests on rounded(): every intermediate result
 * goes through a volatile double, so the compiler can neither fuse a
 * product into an addition (FMA contraction, -ffp-contract=fast being
 * GCC's default in GNU C) nor keep x87 extended precision.  frexp, ldexp
 * and floor are exact operations; nothing else of libm is used.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/error.h"
#include "mlptrain/rng.h"
#include "mlptrain/space.h"

/* x rounded to a double in memory: see the top of this file. */
static double rounded(double x)
{
    volatile double v = x;

    return v;
}

/* ln 2 split so that k x LN2_HI is exact for |k| < 2^20 (fdlibm's). */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define LN2 0.69314718055994530942
#define SQRT_HALF 0.70710678118654752440

double mlp_space_log(double x)
{
    int e;
    double m = frexp(x, &e), s, s2, term, sum = 0.0;

    if (m < SQRT_HALF) { /* m in [sqrt(1/2), sqrt(2)) */
        m = rounded(m * 2.0);
        e--;
    }
    /* ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172: 21 terms of
     * s^(2j+1) / (2j+1) reach s^43 < 1e-32. */
    s = rounded(rounded(m - 1.0) / rounded(m + 1.0));
    s2 = rounded(s * s);
    term = s;
    for (int k = 1; k <= 43; k += 2) {
        sum = rounded(sum + rounded(term / (double)k));
        term = rounded(term * s2);
    }
    return rounded(rounded((double)e * LN2) + rounded(2.0 * sum));
}

double mlp_space_exp(double x)
{
    double k = floor(rounded(rounded(x / LN2) + 0.5)), r, term = 1.0;
    double sum = 1.0;

    /* e^x = 2^k e^r, |r| <= ln2 / 2 + rounding: 28 terms of r^n / n!
     * reach 0.35^28 / 28! < 1e-40. */
    r = rounded(rounded(x - rounded(k * LN2_HI)) - rounded(k * LN2_LO));
    for (int n = 1; n <= 28; n++) {
        term = rounded(rounded(term * r) / (double)n);
        sum = rounded(sum + term);
    }
    return ldexp(sum, (int)k);
}

static const char *const dist_names[] = {"choice", "uniform", "loguniform",
                                         "quniform", "qloguniform", NULL};

/* A key's option, or NULL (only sweep keys). */
static const mlp_option_t *key_option(const char *key)
{
    const mlp_option_t *o = mlp_options_find(key);

    return o != NULL && (o->flags & MLP_OPT_SWEEP) ? o : NULL;
}

static int is_whole(const mlp_option_t *o)
{
    return o->type == MLP_OPT_UINT || o->type == MLP_OPT_INT ||
           o->type == MLP_OPT_SIZE || o->type == MLP_OPT_U64 ||
           o->type == MLP_OPT_HIDDEN;
}

/* A number of the item's text: a plain decimal (options.h's float rule) read
 * as a double. */
static int number(const char *item, const char *what, const char *text,
                  double *v)
{
    float f;

    if (mlp_options_parse_float(what, text, &f) < 0)
        return mlp_error_prefix(MLP_EUSAGE, "option '--space': '%s'", item);
    *v = strtod(text, NULL);
    return 0;
}

/* The option's own parser and range check on one value. */
static int check_value(const char *item, const mlp_option_t *o,
                       const char *text)
{
    mlp_config_t *cfg = malloc(sizeof(*cfg));
    int rc;

    if (cfg == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    mlp_config_defaults(cfg);
    rc = mlp_options_parse(o, cfg, text);
    free(cfg);
    if (rc < 0)
        return mlp_error_prefix(MLP_EUSAGE, "option '--space': '%s'", item);
    return 0;
}

/* Split "a,b,c" in place into at most max fields; their count, or -1 for
 * an empty field. */
static long split(char *p, const char **out, size_t max)
{
    size_t n = 0;

    for (;;) {
        char *comma = strchr(p, ',');

        if (comma != NULL)
            *comma = '\0';
        if (*p == '\0' || n == max)
            return -1;
        out[n++] = p;
        if (comma == NULL)
            return (long)n;
        p = comma + 1;
    }
}

/* One item "key=..." (tok, cut in place), into it; item names it in
 * messages. */
static int parse_item(char *tok, const char *item, mlp_space_item_t *it)
{
    char *eq = strchr(tok, '='), *v, *open;
    const char *args[MLP_SPACE_MAX_CHOICES];
    long n;
    int rc;

    memset(it, 0, sizeof(*it));
    if (eq == NULL || eq == tok || eq[1] == '\0')
        return mlp_error_set(MLP_EUSAGE, "option '--space': '%s' is not "
                             "KEY=DISTRIBUTION(...) or KEY=V1,V2,...", item);
    *eq = '\0';
    v = eq + 1;
    if ((it->opt = key_option(tok)) == NULL)
        return mlp_error_set(MLP_EUSAGE, "option '--space': unknown key "
                             "'%s' (keys: %s)", tok, mlp_sweep_keys());
    it->key = it->opt->name;
    it->whole = is_whole(it->opt);
    it->dist = MLP_DIST_CHOICE;
    open = strchr(v, '(');
    if (open != NULL) {
        size_t len = strlen(v);
        int d = -1;

        *open = '\0';
        for (int i = 0; dist_names[i] != NULL; i++)
            if (strcmp(v, dist_names[i]) == 0)
                d = i;
        if (d < 0)
            return mlp_error_set(MLP_EUSAGE, "option '--space': '%s': "
                                 "unknown distribution '%s' (choice, "
                                 "uniform, loguniform, quniform, "
                                 "qloguniform)", item, v);
        if (v[len - 1] != ')')
            return mlp_error_set(MLP_EUSAGE, "option '--space': '%s' lacks "
                                 "its closing ')'", item);
        v[len - 1] = '\0';
        it->dist = (mlp_dist_t)d;
        v = open + 1;
    }
    n = split(v, args, MLP_SPACE_MAX_CHOICES);
    if (n < 0)
        return mlp_error_set(MLP_EUSAGE, "option '--space': '%s' has an "
                             "empty value or more than %d", item,
                             MLP_SPACE_MAX_CHOICES);
    if (it->dist == MLP_DIST_CHOICE) {
        for (long i = 0; i < n; i++) {
            if ((rc = check_value(item, it->opt, args[i])) < 0)
                return rc;
            it->choices[i] = args[i];
        }
        it->nchoices = (size_t)n;
        return 0;
    }
    if (it->opt->type != MLP_OPT_FLOAT && !it->whole)
        return mlp_error_set(MLP_EUSAGE, "option '--space': '%s': '%s' "
                             "takes names: give them with choice(...)",
                             item, it->key);
    {
        int q = it->dist == MLP_DIST_QUNIFORM ||
                it->dist == MLP_DIST_QLOGUNIFORM;

        if (n != 2 + q)
            return mlp_error_set(MLP_EUSAGE, "option '--space': '%s': %s "
                                 "takes %s", item, dist_names[it->dist],
                                 q ? "LO,HI,Q" : "LO,HI");
        if ((rc = number(item, "LO", args[0], &it->lo)) < 0 ||
            (rc = number(item, "HI", args[1], &it->hi)) < 0 ||
            (q && (rc = number(item, "Q", args[2], &it->q)) < 0) ||
            (rc = check_value(item, it->opt, args[0])) < 0 ||
            (rc = check_value(item, it->opt, args[1])) < 0)
            return rc;
    }
    it->lo_text = args[0];
    it->hi_text = args[1];
    if (!(it->lo < it->hi))
        return mlp_error_set(MLP_EUSAGE, "option '--space': '%s': LO must "
                             "be below HI", item);
    if ((it->dist == MLP_DIST_LOGUNIFORM ||
         it->dist == MLP_DIST_QLOGUNIFORM) && !(it->lo > 0.0))
        return mlp_error_set(MLP_EUSAGE, "option '--space': '%s': a "
                             "log-uniform LO must be above 0", item);
    if (it->q != 0.0 && !(it->q > 0.0))
        return mlp_error_set(MLP_EUSAGE, "option '--space': '%s': Q must be "
                             "above 0", item);
    if (it->whole && it->q == 0.0)
        it->q = 1.0;
    if (it->whole && (it->q != floor(it->q) || it->lo != floor(it->lo) ||
                      it->hi != floor(it->hi)))
        return mlp_error_set(MLP_EUSAGE, "option '--space': '%s': '%s' "
                             "takes whole numbers: LO, HI and Q must be "
                             "whole", item, it->key);
    if (it->q > 0.0 && ceil(it->lo / it->q) > floor(it->hi / it->q))
        return mlp_error_set(MLP_EUSAGE, "option '--space': '%s': no "
                             "multiple of Q lies within [LO, HI]", item);
    return 0;
}

int mlp_space_add(mlp_space_t *sp, const char *spec)
{
    char *buf = NULL, *tok, *save = NULL, **bufs;
    mlp_space_item_t items[MLP_SWEEP_MAX_KEYS];
    size_t n = 0;
    int rc = 0;

    if ((buf = strdup(spec)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    for (tok = strtok_r(buf, " \t\n", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\n", &save)) {
        char item[256];

        snprintf(item, sizeof(item), "%s", tok);
        if (sp->nitems + n >= MLP_SWEEP_MAX_KEYS) {
            rc = mlp_error_set(MLP_EUSAGE, "option '--space': more than %d "
                               "keys", MLP_SWEEP_MAX_KEYS);
            goto out;
        }
        if ((rc = parse_item(tok, item, &items[n])) < 0)
            goto out;
        for (size_t j = 0; j < sp->nitems + n; j++) {
            const mlp_space_item_t *o = j < sp->nitems ? &sp->items[j]
                                                      : &items[j - sp->nitems];

            if (o->opt == items[n].opt) {
                rc = mlp_error_set(MLP_EUSAGE, "option '--space': key '%s' "
                                   "appears twice", items[n].key);
                goto out;
            }
        }
        n++;
    }
    if (n == 0) {
        rc = mlp_error_set(MLP_EUSAGE, "option '--space': '%s' has no "
                           "KEY=DISTRIBUTION(...)", spec);
        goto out;
    }
    if ((bufs = realloc(sp->bufs, (sp->nbufs + 1) * sizeof(*bufs))) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    sp->bufs = bufs;
    sp->bufs[sp->nbufs++] = buf;
    buf = NULL;
    memcpy(sp->items + sp->nitems, items, n * sizeof(items[0]));
    sp->nitems += n;
out:
    free(buf);
    return rc;
}

void mlp_space_free(mlp_space_t *sp)
{
    if (sp == NULL)
        return;
    for (size_t i = 0; i < sp->nbufs; i++)
        free(sp->bufs[i]);
    free(sp->bufs);
    memset(sp, 0, sizeof(*sp));
}

void mlp_space_value(const mlp_space_item_t *it, uint64_t seed, size_t p,
                     char *buf, size_t len)
{
    uint64_t x = mlp_rng_key3(seed, mlp_rng_text(MLP_RNG_TEXT_INIT, it->key),
                              (uint64_t)p);
    double u, v;

    if (it->dist == MLP_DIST_CHOICE) {
        snprintf(buf, len, "%s", it->choices[x % it->nchoices]);
        return;
    }
    u = (double)(x >> 11) * 0x1p-53; /* exact: [0, 1) */
    if (it->dist == MLP_DIST_LOGUNIFORM ||
        it->dist == MLP_DIST_QLOGUNIFORM) {
        double a = mlp_space_log(it->lo), b = mlp_space_log(it->hi);

        v = mlp_space_exp(rounded(a + rounded(u * rounded(b - a))));
    } else {
        v = rounded(it->lo + rounded(u * rounded(it->hi - it->lo)));
    }
    if (it->q > 0.0) {
        /* the nearest multiple of q, kept within [lo, hi] */
        double k = floor(rounded(rounded(v / it->q) + 0.5));
        double kmin = ceil(rounded(it->lo / it->q));
        double kmax = floor(rounded(it->hi / it->q));

        k = k < kmin ? kmin : k > kmax ? kmax : k;
        v = rounded(k * it->q);
    }
    if (it->whole) {
        snprintf(buf, len, "%.0f", v);
        return;
    }
    snprintf(buf, len, "%.4g", v);
    /* 4 digits may round past a bound: the bound then, as given. */
    v = strtod(buf, NULL);
    if (v < it->lo)
        snprintf(buf, len, "%s", it->lo_text);
    else if (v > it->hi)
        snprintf(buf, len, "%s", it->hi_text);
}

int mlp_space_sample(const mlp_space_t *sp, uint64_t seed, size_t first,
                     size_t n, mlp_grid_t *g)
{
    const char *keys[MLP_SWEEP_MAX_KEYS], *vals[MLP_SWEEP_MAX_KEYS];
    char (*text)[256] = malloc(MLP_SWEEP_MAX_KEYS * sizeof(*text));
    int rc = 0;

    if (text == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    for (size_t k = 0; k < sp->nitems; k++) {
        keys[k] = sp->items[k].key;
        vals[k] = text[k];
    }
    for (size_t p = first; p < first + n && rc == 0; p++) {
        for (size_t k = 0; k < sp->nitems; k++)
            mlp_space_value(&sp->items[k], seed, p, text[k], sizeof(text[k]));
        rc = mlp_grid_add_point(g, sp->nitems, keys, vals);
    }
    free(text);
    return rc;
}
