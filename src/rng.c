/*
 * rng: splitmix64 counters and a Feistel permutation (see rng.h).
 */
#include <math.h>

#include "mlptrain/rng.h"

uint64_t mlp_rng_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t mlp_rng_key3(uint64_t a, uint64_t b, uint64_t c)
{
    return mlp_rng_mix(mlp_rng_mix(mlp_rng_mix(a) ^ b) ^ c);
}

void mlp_rng_seed(mlp_rng_t *r, uint64_t seed, uint64_t stream)
{
    r->key = mlp_rng_mix(mlp_rng_mix(seed) ^ (stream * 0xd1b54a32d192ed03ULL));
    r->ctr = 0;
}

uint64_t mlp_rng_u64(mlp_rng_t *r)
{
    return mlp_rng_mix(r->key ^ mlp_rng_mix(r->ctr++));
}

double mlp_rng_uniform(mlp_rng_t *r)
{
    return (double)(mlp_rng_u64(r) >> 11) * 0x1.0p-53;
}

double mlp_rng_normal(mlp_rng_t *r)
{
    double u1 = 1.0 - mlp_rng_uniform(r); /* (0, 1]: log() stays finite */
    double u2 = mlp_rng_uniform(r);

    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t mlp_rng_text(uint64_t h, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        h = (h ^ *c) * 0x100000001b3ULL;
    return h;
}

uint64_t mlp_rng_key(uint64_t chain, uint64_t x)
{
    /* mix(x) first: small consecutive keys (epochs, rows) land far apart. */
    return mlp_rng_mix(chain ^ mlp_rng_mix(x ^ 0x6a09e667f3bcc909ULL));
}

void mlp_perm_init(mlp_perm_t *p, uint64_t n, uint64_t seed, uint64_t stream)
{
    mlp_rng_t r;
    unsigned half = 1;

    while (half < 31 && (1ULL << (2 * half)) < n)
        half++;
    p->n = n;
    p->half = half;
    p->mask = (1ULL << half) - 1;
    mlp_rng_seed(&r, seed, stream);
    for (int i = 0; i < 4; i++)
        p->keys[i] = mlp_rng_u64(&r);
}

static uint64_t feistel(const mlp_perm_t *p, uint64_t x)
{
    uint64_t l = x >> p->half, r = x & p->mask;

    for (int i = 0; i < 4; i++) {
        uint64_t t = l ^ (mlp_rng_mix(r ^ p->keys[i]) & p->mask);
        l = r;
        r = t;
    }
    return (l << p->half) | r;
}

uint64_t mlp_perm_at(const mlp_perm_t *p, uint64_t i)
{
    /* The network permutes [0, 4^half) and 4^half < 4n: walking the cycle
     * until it lands in [0, n) takes under four steps on average. */
    uint64_t x = feistel(p, i);

    while (x >= p->n)
        x = feistel(p, x);
    return x;
}
