/*
 * faults: the test-only fault-injection hooks (see faults.h).
 */
#include "mlptrain/faults.h"

static uint64_t interrupt_after;
static uint64_t loader_batch;
static int step_ranks;

void mlp_fault_set_interrupt_after(uint64_t n) { interrupt_after = n; }
uint64_t mlp_fault_interrupt_after(void) { return interrupt_after; }
void mlp_fault_set_loader_batch(uint64_t n) { loader_batch = n; }
uint64_t mlp_fault_loader_batch(void) { return loader_batch; }
void mlp_fault_set_step_ranks(int on) { step_ranks = on; }
int mlp_fault_step_ranks(void) { return step_ranks; }
