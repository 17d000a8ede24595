/*
 * rng: a small counter-based random generator.
 *
 * Every random value mlptrain uses is a pure function of (seed, stream,
 * counter): weight init draws from stream "layer i", and the order of epoch e
 * is a permutation keyed by (seed, e).  Nothing depends on which thread asks
 * or when, so any number of loader threads sees the same order, and a
 * checkpoint needs only the seed and the epoch to resume the random state.
 *
 * The permutation is a keyed Feistel network over the smallest even power of
 * two >= n, with cycle walking: mlp_perm_at(p, i) is the i-th element of a
 * random permutation of [0, n) in O(1) time and no memory, so a loader worker
 * can decode batch k without anyone materialising the epoch's order.
 *
 * Keyed bits for dropout masks (mlp_rng_key, mlp_rng_bits32): a pure hash of
 * a chain of keys, e.g. (seed, epoch, batch, layer, row), then of the unit
 * index.  The per-unit step is 32-bit integer arithmetic on the index alone,
 * so a loop over units vectorizes; the mask of a unit is the same whichever
 * thread computes it, and a resumed run recomputes it from the keys.
 *
 * Non-goals: cryptographic strength.  Thread-safe: the structs are plain
 * values; share a const mlp_perm_t freely.
 */
#ifndef MLPTRAIN_RNG_H
#define MLPTRAIN_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t key; /* from (seed, stream) */
    uint64_t ctr; /* values drawn so far */
} mlp_rng_t;

/* The splitmix64 finaliser: a bijective 64-bit mixing function. */
uint64_t mlp_rng_mix(uint64_t x);

/* A hash of three words (e.g. seed, epoch, sample): a pure function,
 * different for any change of one argument; for per-item draws. */
uint64_t mlp_rng_key3(uint64_t a, uint64_t b, uint64_t c);

void mlp_rng_seed(mlp_rng_t *r, uint64_t seed, uint64_t stream);
uint64_t mlp_rng_u64(mlp_rng_t *r);
/* Uniform in [0, 1), 53 random bits. */
double mlp_rng_uniform(mlp_rng_t *r);
/* Standard normal (Box-Muller; two draws per value, no hidden cache). */
double mlp_rng_normal(mlp_rng_t *r);

/*
 * FNV-1a over the bytes of text s, continuing from h (MLP_RNG_TEXT_INIT
 * to start): a hash of names and options for ids and keys (run ids, a
 * space's keys, a sweep's plan).  Pure; not for random draws by itself.
 */
#define MLP_RNG_TEXT_INIT 0xcbf29ce484222325ULL
uint64_t mlp_rng_text(uint64_t h, const char *s);

/*
 * Fold one more key into a chain: mlp_rng_key(mlp_rng_key(seed, a), b) ...
 * Pure; distinct chains give unrelated values (up to 64-bit collisions).
 */
uint64_t mlp_rng_key(uint64_t chain, uint64_t x);

/* One 32-bit mixing round (the "lowbias32" finaliser): bijective. */
static inline uint32_t mlp_rng_mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    return x ^ (x >> 16);
}

/*
 * Uniform 32 bits for index i under key (from mlp_rng_key): two keyed
 * rounds of mlp_rng_mix32, so for a fixed key it is a bijection of i (no
 * two units of a row share their bits).  Inline and branch-free: a loop
 * over i vectorizes.
 */
static inline uint32_t mlp_rng_bits32(uint64_t key, uint32_t i)
{
    uint32_t x = mlp_rng_mix32(i ^ (uint32_t)key);

    return mlp_rng_mix32(x + (uint32_t)(key >> 32));
}

typedef struct {
    uint64_t n;       /* permutes [0, n) */
    unsigned half;    /* bits per Feistel half */
    uint64_t mask;    /* (1 << half) - 1 */
    uint64_t keys[4]; /* round keys */
} mlp_perm_t;

/* A random permutation of [0, n) keyed by (seed, stream); n < 2^62. */
void mlp_perm_init(mlp_perm_t *p, uint64_t n, uint64_t seed, uint64_t stream);
/* Element i (< n) of the permutation. */
uint64_t mlp_perm_at(const mlp_perm_t *p, uint64_t i);

#endif
