/*
 * ring: a bounded ring of preallocated batch slots with in-order hand-off.
 *
 * Batches carry a sequence number s = 0, 1, 2, ...; batch s lives in slot
 * s % nslots.  A producer claims sequence s (mlp_ring_claim blocks until the
 * consumer has released s - nslots), fills the slot and publishes it.  The
 * one consumer takes sequences strictly in order (mlp_ring_acquire blocks
 * until s is published) and releases each when done.  So producers may finish
 * out of order, yet the consumer sees 0, 1, 2, ...; and at most nslots
 * batches exist at once, however many producers there are.
 *
 * All waits block on condition variables (no spinning).  mlp_ring_abort()
 * records a status and wakes every waiter; every later or pending claim and
 * acquire returns that status.  The first abort's status wins.
 *
 * Slot buffers are allocated once, 64-byte aligned, at create.
 * Thread-safe: any number of producers, one consumer.
 */
#ifndef MLPTRAIN_RING_H
#define MLPTRAIN_RING_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/bf16.h"

typedef struct {
    union {         /* (batch, dim) inputs, 64-byte aligned: */
        float *x;   /* floats (vbytes 4) */
        mlp_bf16_t *xh; /* or bf16 values (vbytes 2) */
    };
    int32_t *y;     /* (batch) labels */
    size_t n;       /* rows filled, <= batch */
    uint64_t seq;   /* sequence number of the batch it holds */
    void *user;     /* producer's tag, free for the loader's use */
    int user_int;   /* ditto */
} mlp_slot_t;

typedef struct mlp_ring mlp_ring_t;

/* A ring of nslots (>= 1) slots of `batch` rows of `dim` values of
 * vbytes bytes each (4: float, 2: bf16). */
int mlp_ring_create(size_t nslots, size_t batch, size_t dim, size_t vbytes,
                    mlp_ring_t **out);
/* Free the ring; NULL is a no-op.  No thread may be using it. */
void mlp_ring_destroy(mlp_ring_t *ring);

size_t mlp_ring_nslots(const mlp_ring_t *ring);
/* Bytes held by the slots, for memory reports. */
size_t mlp_ring_bytes(const mlp_ring_t *ring);

/*
 * Producer: wait until the slot for `seq` is free (seq - nslots released),
 * return it in *slot.  Each seq is claimed once: a second claim is
 * MLP_EINVAL.  After an abort: the abort's status; MLP_ETHREAD if a pthread
 * call fails.
 */
int mlp_ring_claim(mlp_ring_t *ring, uint64_t seq, mlp_slot_t **slot);
/* Producer: the slot claimed for its seq is filled. */
void mlp_ring_publish(mlp_ring_t *ring, mlp_slot_t *slot);

/*
 * Consumer: wait until `seq` is published; *waited (if not NULL) gets the
 * seconds spent blocked (clock.h).
 */
int mlp_ring_acquire(mlp_ring_t *ring, uint64_t seq, mlp_slot_t **slot,
                     double *waited);
/* Consumer: done with the slot; its producer may reuse it. */
void mlp_ring_release(mlp_ring_t *ring, mlp_slot_t *slot);

/*
 * Stop: wake everyone; claims and acquires return `status` (< 0; a status
 * >= 0 means MLP_EABORTED) from now on.  The first abort's status wins.
 */
void mlp_ring_abort(mlp_ring_t *ring, int status);

#endif
