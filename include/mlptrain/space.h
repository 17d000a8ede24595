/*
 * space: a sweep's search space and the points drawn from it, pure (no
 * processes, no files).
 *
 * A space is items separated by spaces, each a sweep key (grid.h: the
 * options flagged MLP_OPT_SWEEP) and a distribution:
 *
 *   uniform(LO,HI)          LO + u (HI - LO)
 *   loguniform(LO,HI)       LO (HI / LO)^u, 0 < LO
 *   quniform(LO,HI,Q)       uniform, rounded to a multiple of Q
 *   qloguniform(LO,HI,Q)    loguniform, rounded to a multiple of Q
 *   choice(V1,V2,...)       one of the values, each as likely
 *   V1,V2,...               the same as choice(V1,V2,...)
 *
 * e.g. 'lr=loguniform(1e-4,1e-1) dropout=uniform(0,0.5)
 * hidden=choice(256,512,1024:512) batch=qloguniform(64,1024,64)'.  A
 * whole-number option (batch, hidden as one width, epochs, ...) takes its
 * draw rounded to a multiple of Q (1 without Q); a float option's draw is
 * kept to 4 significant digits (%.4g: the text the run is given); names
 * (act, optimizer, augment, ...) only choice().  Every bound and choice is
 * parsed and range-checked by the option's own parser (mlp_options_parse,
 * options.h) when the
 * space is read, so a bad one fails before anything runs; a rounded draw
 * is kept within [LO, HI].
 *
 * Draws.  Point p's value of key k is a pure function of (seed, the key's
 * name, p): u = 53 bits of mlp_rng_key3(seed, hash(name), p) / 2^53.  So
 * adding a key or points (--samples 40 after 20) keeps the draws made,
 * and the same command draws the same points on every machine: the
 * arithmetic is IEEE-754 double +, -, x, / only, each result rounded to
 * double before the next operation (no fused multiply-add, no x87 excess
 * precision), and loguniform's logarithm and exponential are this
 * module's own (mlp_space_log, mlp_space_exp: fixed series in that
 * arithmetic), not libm's, whose last bits differ between libraries and
 * versions.  The decimal text is printf's %.4g (exactly rounded by glibc
 * and musl).  What is guaranteed is the text of every draw; the
 * distribution is as accurate as a double's 53 bits.
 *
 * Errors: MLP_EUSAGE naming the item ("option '--space': 'lr=uniform(0,1'
 * ..."), MLP_ENOMEM.  Thread-safe on distinct spaces.
 */
#ifndef MLPTRAIN_SPACE_H
#define MLPTRAIN_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/grid.h"
#include "mlptrain/options.h"

typedef enum {
    MLP_DIST_CHOICE,
    MLP_DIST_UNIFORM,
    MLP_DIST_LOGUNIFORM,
    MLP_DIST_QUNIFORM,
    MLP_DIST_QLOGUNIFORM,
} mlp_dist_t;

#define MLP_SPACE_MAX_CHOICES 256

typedef struct {
    const mlp_option_t *opt;  /* the key's option */
    const char *key;          /* its canonical name, static */
    mlp_dist_t dist;
    double lo, hi, q;         /* the bounds; q 0: none */
    int whole;                /* the option takes whole numbers */
    const char *lo_text, *hi_text; /* the bounds as given */
    size_t nchoices;
    const char *choices[MLP_SPACE_MAX_CHOICES]; /* in the space's text */
} mlp_space_item_t;

typedef struct {
    size_t nitems;
    mlp_space_item_t items[MLP_SWEEP_MAX_KEYS];
    size_t nbufs;
    char **bufs;              /* the specs' text, owned */
} mlp_space_t;

/* Add the items of one spec (zeroed space to start); a key given twice,
 * here or in an earlier spec, is MLP_EUSAGE.  The space is unchanged on
 * failure. */
int mlp_space_add(mlp_space_t *sp, const char *spec);
void mlp_space_free(mlp_space_t *sp);

/* The text of point p's value of item it (see above), into buf. */
void mlp_space_value(const mlp_space_item_t *it, uint64_t seed, size_t p,
                     char *buf, size_t len);

/* Append points first..first+n-1 of the space to the grid g (its keys
 * are the space's). */
int mlp_space_sample(const mlp_space_t *sp, uint64_t seed, size_t first,
                     size_t n, mlp_grid_t *g);

/* The natural logarithm of x > 0 and e^x (|x| < 700), in the portable
 * arithmetic above; relative error about 1e-15. */
double mlp_space_log(double x);
double mlp_space_exp(double x);

#endif
