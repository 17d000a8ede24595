/*
 * faults: test-only fault injection.  Tests set a hook; the library reads
 * it where the fault would happen.  Not part of any user-facing struct or
 * option: nothing but tests calls the setters.
 *
 * Hooks are process-wide plain values: set them before the run (or loader)
 * that should see them starts, and reset them (to 0) after.  Not
 * thread-safe to set while a run is going.
 */
#ifndef MLPTRAIN_FAULTS_H
#define MLPTRAIN_FAULTS_H

#include <stdint.h>

/* mlp_train behaves as if interrupted (SIGINT) once n training batches of
 * the run are done; 0: never. */
void mlp_fault_set_interrupt_after(uint64_t n);
uint64_t mlp_fault_interrupt_after(void);

/* A loader created from now on fails to decode batch number n (1-based,
 * counted over its whole schedule) with MLP_EIO, as a worker error would;
 * 0: never. */
void mlp_fault_set_loader_batch(uint64_t n);
uint64_t mlp_fault_loader_batch(void);

/* A stepper created from now on takes the ranks' path (buckets, the
 * communication thread, reduce.h) even in one process, so the tests and
 * the sanitizers reach it without MPI; 0: off. */
void mlp_fault_set_step_ranks(int on);
int mlp_fault_step_ranks(void);

#endif
