/*
 * clones: MLP_CLONES, the one way a hot loop gets copies for wider vector
 * units (AVX-512, AVX2) beside the baseline x86-64 one, picked once at load
 * time by an ifunc resolver (GCC's target_clones).  Every copy must compute
 * the same bits: the caller keeps floating-point contraction off where a
 * copy would otherwise fuse a multiply and an add.
 *
 * Off (one baseline copy) where it cannot work: other compilers and
 * targets, and ThreadSanitizer builds, whose instrumented ifunc resolver
 * runs during relocation before the TSan runtime exists and crashes.
 */
#ifndef MLPTRAIN_CLONES_H
#define MLPTRAIN_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&      \
    !defined(__SANITIZE_THREAD__)
#define MLP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MLP_CLONES
#endif

#endif
