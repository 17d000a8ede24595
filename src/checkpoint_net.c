/*
 * checkpoint_net: between a checkpoint and a live net and optimizer (see
 * checkpoint.h).  Parameters and optimizer state cross in the logical
 * layout through mlp_net_block_export/import, so a file does not depend on
 * the blocked layout oneDNN picked where it was written.
 *
 * Kept apart from checkpoint.c so that the format code links without
 * oneDNN (fuzz/fuzz_checkpoint.c).
 */
#include <stdlib.h>
#include <string.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/error.h"

/* *buf holds n floats: reuse it when it has the size, else allocate. */
static int ensure(float **buf, size_t *have, size_t n)
{
    float *p;

    if (*buf != NULL && *have == n)
        return 0;
    if (n > SIZE_MAX / sizeof(float) || !(p = malloc(n * sizeof(float))))
        return mlp_error_set(MLP_ENOMEM,
                             "checkpoint: out of memory for %zu values", n);
    free(*buf);
    *buf = p;
    *have = n;
    return 0;
}

int mlp_checkpoint_capture(mlp_checkpoint_t *ck, mlp_net_t *net,
                           mlp_optim_t *opt)
{
    const mlp_net_spec_t *spec = mlp_net_spec(net);
    float *params, *grads, *state = NULL;
    size_t nflat, nstate = 0, np = mlp_net_nparams(net);
    int rc;

    mlp_net_params(net, &params, &grads, &nflat);
    if (opt != NULL)
        state = mlp_optim_state(opt, &nstate);
    if (state != NULL && nstate != nflat && nstate != 2 * nflat)
        return mlp_error_set(MLP_EINVAL,
                             "checkpoint: optimizer state of %zu values for "
                             "%zu parameters",
                             nstate, nflat);
    ck->in = spec->in;
    ck->out = spec->out;
    ck->nhidden = spec->nhidden;
    memcpy(ck->hidden, spec->hidden, sizeof(ck->hidden));
    ck->act = spec->act;
    if ((rc = ensure(&ck->params, &ck->nparams, np)) < 0)
        return rc;
    if ((rc = mlp_net_block_export(net, params, ck->params)) < 0)
        return rc;
    if (state == NULL) {
        free(ck->state);
        ck->state = NULL;
        ck->nstate = 0;
        return 0;
    }
    /* one or two blocks of the parameters' layout, each exported */
    if ((rc = ensure(&ck->state, &ck->nstate, nstate / nflat * np)) < 0)
        return rc;
    for (size_t k = 0; k < nstate / nflat; k++)
        if ((rc = mlp_net_block_export(net, state + k * nflat,
                                       ck->state + k * np)) < 0)
            return rc;
    return 0;
}

int mlp_checkpoint_restore(const mlp_checkpoint_t *ck, mlp_net_t *net,
                           mlp_optim_t *opt)
{
    const mlp_net_spec_t *spec = mlp_net_spec(net);
    float *params, *grads, *state = NULL;
    size_t nflat, nstate = 0;
    int rc;

    if (ck->in != spec->in || ck->out != spec->out)
        return mlp_error_set(MLP_EINVAL,
                             "checkpoint: a %zu-input %zu-class model, the "
                             "net has %zu inputs and %zu classes",
                             ck->in, ck->out, spec->in, spec->out);
    if (ck->nhidden != spec->nhidden ||
        memcmp(ck->hidden, spec->hidden, ck->nhidden * sizeof(size_t)) != 0)
        return mlp_error_set(MLP_EINVAL,
                             "checkpoint: other hidden layers than the net's");
    if (ck->act != spec->act)
        return mlp_error_set(MLP_EINVAL,
                             "checkpoint: activation %s, the net has %s",
                             mlp_act_name(ck->act), mlp_act_name(spec->act));
    if (ck->nparams != mlp_net_nparams(net) || ck->params == NULL)
        return mlp_error_set(MLP_EINVAL,
                             "checkpoint: %zu parameters, the net has %zu",
                             ck->nparams, mlp_net_nparams(net));
    mlp_net_params(net, &params, &grads, &nflat);
    if (opt != NULL) {
        state = mlp_optim_state(opt, &nstate);
        if ((state != NULL) != (ck->nstate > 0) ||
            (state != NULL &&
             (nstate % nflat != 0 || ck->state == NULL ||
              ck->nstate != nstate / nflat * ck->nparams)))
            return mlp_error_set(MLP_EINVAL,
                                 "checkpoint: %zu optimizer state values, "
                                 "the optimizer keeps %zu",
                                 ck->nstate,
                                 state != NULL ? nstate / nflat * ck->nparams
                                               : 0);
    }
    if ((rc = mlp_net_block_import(net, ck->params, params)) < 0)
        return rc;
    for (size_t k = 0; state != NULL && k < nstate / nflat && rc == 0; k++)
        rc = mlp_net_block_import(net, ck->state + k * ck->nparams,
                                  state + k * nflat);
    return rc;
}
