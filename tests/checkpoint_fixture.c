/*
 * checkpoint_fixture: see checkpoint_fixture.h.
 */
#include <stdlib.h>
#include <string.h>

#include "mlptrain/rng.h"
#include "testutil.h"
#include "checkpoint_fixture.h"

/*
 * A valid checkpoint without a net: in = rows * cols, hidden widths h,
 * `classes` outputs; parameters and (with momentum) state drawn from
 * `seed`.
 */
void make_ck(mlp_checkpoint_t *ck, size_t rows, size_t cols,
             const size_t *h, size_t nh, size_t classes,
             float momentum, uint64_t seed)
{
    mlp_rng_t r;
    size_t in;

    memset(ck, 0, sizeof(*ck));
    ck->rows = rows;
    ck->cols = cols;
    ck->in = rows * cols;
    ck->out = classes;
    ck->nhidden = nh;
    memcpy(ck->hidden, h, nh * sizeof(size_t));
    ck->act = MLP_ACT_TANH;
    ck->ntrain = 1000;
    ck->limit_train = 1000;
    ck->epoch = 3;
    ck->seed = seed;
    ck->batches_done = 4;
    ck->partial_loss_sum = 123.25;
    ck->partial_correct = 77;
    ck->batch = 64;
    ck->lr = 0.1f;
    ck->momentum = momentum;
    ck->weight_decay = 1e-4f;
    ck->init_std = 0.01f;
    ck->best_test_acc = 0.875;
    ck->best_epoch = 2;
    ck->final_test_acc = 0.8125;
    in = ck->in;
    for (size_t l = 0; l <= nh; l++) {
        size_t out = l < nh ? h[l] : classes;

        ck->nparams += (in + 1) * out;
        in = out;
    }
    ck->params = malloc(ck->nparams * sizeof(float));
    ck_assert_ptr_nonnull(ck->params);
    mlp_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < ck->nparams; i++)
        ck->params[i] = (float)mlp_rng_normal(&r);
    if (momentum > 0) {
        ck->nstate = ck->nparams;
        ck->state = malloc(ck->nstate * sizeof(float));
        ck_assert_ptr_nonnull(ck->state);
        for (size_t i = 0; i < ck->nstate; i++)
            ck->state[i] = (float)mlp_rng_normal(&r) * 1e-3f;
    }
}

/* The small checkpoint of most tests: 2x2 -> 3 -> 2, momentum. */
void small_ck(mlp_checkpoint_t *ck, uint64_t seed)
{
    static const size_t h[1] = {3};

    make_ck(ck, 2, 2, h, 1, 2, 0.5f, seed);
}

/* Version 2's own fields: an options text, Adam's steps, validation. */
void v2_fields(mlp_checkpoint_t *ck)
{
    static const char text[] = "lr=0.100000001\noptimizer=adam\n";

    ck->options = strdup(text);
    ck_assert_ptr_nonnull(ck->options);
    ck->options_len = strlen(text);
    ck->opt_steps = 52;
    ck->best_val_acc = 0.75;
    ck->best_val_epoch = 2;
    ck->best_val_loss = 0.5;
    ck->best_val_loss_epoch = 3;
}
