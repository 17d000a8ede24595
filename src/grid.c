/*
 * grid: sweep specs -> points, keys from the option table, run ids (see
 * grid.h).  Pure: no processes, no files.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/error.h"
#include "mlptrain/grid.h"
#include "mlptrain/rng.h"

/* The sweep key called `key` ('_' reads as '-'), or NULL. */
static const mlp_option_t *key_option(const char *key)
{
    const mlp_option_t *o = mlp_options_find(key);

    return o != NULL && (o->flags & MLP_OPT_SWEEP) ? o : NULL;
}

/* The canonical (static) name of a key, or NULL. */
static const char *key_name(const char *key)
{
    const mlp_option_t *o = key_option(key);

    return o != NULL ? o->name : NULL;
}

static char keys_text[512];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void make_keys_text(void)
{
    size_t off = 0;

    for (size_t i = 0; i < MLP_NOPTIONS && off < sizeof(keys_text); i++)
        if (mlp_options[i].flags & MLP_OPT_SWEEP)
            off += (size_t)snprintf(keys_text + off, sizeof(keys_text) - off,
                                    "%s%s", off ? ", " : "",
                                    mlp_options[i].name);
}

const char *mlp_sweep_keys(void)
{
    pthread_once(&keys_once, make_keys_text);
    return keys_text;
}

const char *mlp_sweep_key_flag(const char *key)
{
    const mlp_option_t *o = key_option(key);

    return o != NULL ? mlp_options_flag(o) : NULL;
}

int mlp_grid_add(mlp_grid_t *g, const char *spec)
{
    char *buf = NULL, *tok, *save = NULL;
    char **vals[MLP_SWEEP_MAX_KEYS] = {NULL};
    size_t nv[MLP_SWEEP_MAX_KEYS], slot[MLP_SWEEP_MAX_KEYS], nk = 0, count = 1;
    size_t nkeys = g->nkeys;
    const char *keys[MLP_SWEEP_MAX_KEYS];
    const char *kname[MLP_SWEEP_MAX_KEYS];
    const char **values;
    char **bufs;
    int rc = 0;

    memcpy(keys, g->keys, sizeof(keys));
    if ((buf = strdup(spec)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    for (tok = strtok_r(buf, " \t\n", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\n", &save)) {
        char *eq = strchr(tok, '='), *p;
        const char *k;

        if (eq == NULL || eq == tok) {
            rc = mlp_error_set(MLP_EUSAGE,
                               "option '--grid': '%s' is not KEY=V1,V2,...",
                               tok);
            goto out;
        }
        *eq = '\0';
        if ((k = key_name(tok)) == NULL) {
            rc = mlp_error_set(MLP_EUSAGE,
                               "option '--grid': unknown key '%s' (keys: %s)",
                               tok, mlp_sweep_keys());
            goto out;
        }
        for (size_t j = 0; j < nk; j++)
            if (kname[j] == k) {
                rc = mlp_error_set(MLP_EUSAGE,
                                   "option '--grid': key '%s' appears twice",
                                   k);
                goto out;
            }
        kname[nk] = k;
        nv[nk] = 1;
        for (p = eq + 1; *p != '\0'; p++)
            nv[nk] += *p == ',';
        if ((vals[nk] = malloc(nv[nk] * sizeof(char *))) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory");
            goto out;
        }
        /* Split the values in place: "a,b,c" -> "a" "b" "c". */
        p = eq + 1;
        for (size_t v = 0; v < nv[nk]; v++) {
            char *comma = strchr(p, ',');

            if (comma != NULL)
                *comma = '\0';
            if (*p == '\0') {
                rc = mlp_error_set(MLP_EUSAGE,
                                   "option '--grid': key '%s' has an empty "
                                   "value",
                                   k);
                nk++;
                goto out;
            }
            vals[nk][v] = p;
            p = comma != NULL ? comma + 1 : p + strlen(p);
        }
        count *= nv[nk];
        nk++;
        if (count > MLP_SWEEP_MAX_POINTS)
            break;
    }
    if (nk == 0) {
        rc = mlp_error_set(MLP_EUSAGE,
                           "option '--grid': '%s' has no KEY=V1,V2,...",
                           spec);
        goto out;
    }
    if (count > MLP_SWEEP_MAX_POINTS ||
        g->npoints + count > MLP_SWEEP_MAX_POINTS) {
        rc = mlp_error_set(MLP_EUSAGE,
                           "option '--grid': more than %d points; sample "
                           "them with --samples N",
                           MLP_SWEEP_MAX_POINTS);
        goto out;
    }
    /* Each key's column in the union of every spec's keys. */
    for (size_t j = 0; j < nk; j++) {
        const char *name = kname[j];

        for (slot[j] = 0; slot[j] < nkeys && keys[slot[j]] != name;
             slot[j]++)
            ;
        if (slot[j] == nkeys)
            keys[nkeys++] = name;
    }
    values = realloc(g->values, (g->npoints + count) * MLP_SWEEP_MAX_KEYS *
                                    sizeof(*values));
    if (values == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    g->values = values;
    bufs = realloc(g->bufs, (g->nbufs + 1) * sizeof(*bufs));
    if (bufs == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    g->bufs = bufs;
    /* The cartesian product, the first key varying slowest. */
    for (size_t i = 0; i < count; i++) {
        const char **row = values + (g->npoints + i) * MLP_SWEEP_MAX_KEYS;
        size_t rest = i;

        for (size_t k = 0; k < MLP_SWEEP_MAX_KEYS; k++)
            row[k] = NULL;
        for (size_t j = nk; j-- > 0;) {
            row[slot[j]] = vals[j][rest % nv[j]];
            rest /= nv[j];
        }
    }
    g->bufs[g->nbufs++] = buf;
    buf = NULL;
    g->npoints += count;
    g->nkeys = nkeys;
    memcpy(g->keys, keys, sizeof(keys));
out:
    for (size_t j = 0; j < nk; j++)
        free(vals[j]);
    free(buf);
    return rc;
}

int mlp_grid_add_point(mlp_grid_t *g, size_t n, const char *const *keys,
                       const char *const *values)
{
    const char *names[MLP_SWEEP_MAX_KEYS], *gk[MLP_SWEEP_MAX_KEYS];
    size_t nkeys = g->nkeys, len = 0, slot[MLP_SWEEP_MAX_KEYS];
    const char **vals;
    char **bufs, *buf, *p;

    if (g->npoints >= MLP_SWEEP_MAX_POINTS)
        return mlp_error_set(MLP_EUSAGE, "a sweep has at most %d points",
                             MLP_SWEEP_MAX_POINTS);
    if (n > MLP_SWEEP_MAX_KEYS)
        return mlp_error_set(MLP_EUSAGE, "a point has at most %d keys",
                             MLP_SWEEP_MAX_KEYS);
    memcpy(gk, g->keys, sizeof(gk));
    for (size_t j = 0; j < n; j++) {
        if ((names[j] = key_name(keys[j])) == NULL)
            return mlp_error_set(MLP_EUSAGE, "unknown sweep key '%s' (keys: "
                                 "%s)", keys[j], mlp_sweep_keys());
        for (slot[j] = 0; slot[j] < nkeys && gk[slot[j]] != names[j];
             slot[j]++)
            ;
        if (slot[j] == nkeys)
            gk[nkeys++] = names[j];
        len += strlen(values[j]) + 1;
    }
    if ((buf = malloc(len + 1)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    vals = realloc(g->values, (g->npoints + 1) * MLP_SWEEP_MAX_KEYS *
                                  sizeof(*vals));
    if (vals != NULL)
        g->values = vals;
    bufs = vals != NULL ? realloc(g->bufs, (g->nbufs + 1) * sizeof(*bufs))
                        : NULL;
    if (bufs == NULL) {
        free(buf);
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    }
    g->bufs = bufs;
    g->bufs[g->nbufs++] = buf;
    vals += g->npoints * MLP_SWEEP_MAX_KEYS;
    for (size_t k = 0; k < MLP_SWEEP_MAX_KEYS; k++)
        vals[k] = NULL;
    p = buf;
    for (size_t j = 0; j < n; j++) {
        size_t l = strlen(values[j]) + 1;

        memcpy(p, values[j], l);
        vals[slot[j]] = p;
        p += l;
    }
    memcpy(g->keys, gk, sizeof(gk));
    g->nkeys = nkeys;
    g->npoints++;
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

int mlp_grid_sample(mlp_grid_t *g, size_t n, uint64_t seed)
{
    size_t *idx;
    mlp_rng_t r;

    if (n >= g->npoints)
        return 0;
    if ((idx = malloc(g->npoints * sizeof(*idx))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    for (size_t i = 0; i < g->npoints; i++)
        idx[i] = i;
    /* The first n steps of a Fisher-Yates shuffle: n distinct points. */
    mlp_rng_seed(&r, seed, 0x73776565ULL /* "swee" */);
    for (size_t i = 0; i < n; i++) {
        size_t j = i + (size_t)(mlp_rng_u64(&r) % (g->npoints - i)), t;

        t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    qsort(idx, n, sizeof(*idx), cmp_size);
    for (size_t i = 0; i < n; i++) /* idx[i] >= i: copies go forward */
        memmove(g->values + i * MLP_SWEEP_MAX_KEYS,
                g->values + idx[i] * MLP_SWEEP_MAX_KEYS,
                MLP_SWEEP_MAX_KEYS * sizeof(*g->values));
    g->npoints = n;
    free(idx);
    return 0;
}

void mlp_grid_free(mlp_grid_t *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->nbufs; i++)
        free(g->bufs[i]);
    free(g->bufs);
    free(g->values);
    memset(g, 0, sizeof(*g));
}

size_t mlp_grid_argv(const mlp_grid_t *g, size_t p, char **argv)
{
    const char *const *row = g->values + p * MLP_SWEEP_MAX_KEYS;
    size_t n = 0;

    for (size_t k = 0; k < g->nkeys; k++)
        if (row[k] != NULL) {
            argv[n++] = (char *)mlp_sweep_key_flag(g->keys[k]);
            argv[n++] = (char *)row[k];
        }
    return n;
}

void mlp_sweep_key_value(const mlp_config_t *cfg, const char *key, char *buf,
                         size_t len)
{
    const mlp_option_t *o = key_option(key);

    buf[0] = '\0';
    if (o != NULL)
        mlp_options_format(o, cfg, 0, buf, len);
}

void mlp_sweep_run_id(const mlp_config_t *cfg, char *id, size_t len)
{
    uint64_t x = MLP_RNG_TEXT_INIT;

    /* "name=value " of every option that changes the figures or is a
     * sweep key (two grid points never share an id), in table order, each
     * value exact (a float's %.9g round-trips it); an ID_SET option only
     * when it is not its default. */
    for (size_t i = 0; i < MLP_NOPTIONS; i++) {
        const mlp_option_t *o = &mlp_options[i];
        char v[MLP_PATH_MAX + 64];

        if (!(o->flags & (MLP_OPT_FIGS | MLP_OPT_SWEEP)) ||
            ((o->flags & MLP_OPT_ID_SET) && mlp_options_is_default(o, cfg)))
            continue;
        mlp_options_format(o, cfg, 1, v, sizeof(v));
        x = mlp_rng_text(mlp_rng_text(mlp_rng_text(mlp_rng_text(x, o->name),
                                                   "="), v), " ");
    }
    snprintf(id, len, "run-%012llx",
             (unsigned long long)(mlp_rng_mix(x) >> 16));
}
