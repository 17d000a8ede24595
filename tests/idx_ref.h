/*
 * idx_ref: the references the IDX tests hold the reading road to, in
 * plain C (zlib and idx.h, no Check) for the Check suites (through
 * testutil.h) and the libFuzzer driver fuzz/fuzz_idx.c alike.  Test-only
 * code; allocation failures abort().
 */
#ifndef MLPTRAIN_IDX_REF_H
#define MLPTRAIN_IDX_REF_H

#include <stddef.h>
#include <stdint.h>

/*
 * zlib's own reading of a gzip buffer (members in turn, nothing after
 * them): the reference an accepted gzip input is held to.  A malloc'd
 * buffer of *out_len bytes, or NULL when zlib refuses it.
 */
uint8_t *tu_ref_gunzip(const uint8_t *buf, size_t len, size_t *out_len);

/* The count an IDX header at the start of buf declares (gzip: of the
 * start of what zlib inflates it to), at most 2^20; 0 without one. */
uint32_t tu_idx_declared(const uint8_t *buf, size_t len);

#endif
