/*
 * activations: activation values and derivatives from oneDNN's eltwise
 * primitives (see activations.h); the command is cmd_activations.c.
 *
 * Non-goals: speed (a few hundred values), activations the net lacks.
 */
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/activations.h"
#include "dnnl_check.h"
#include "mlptrain/error.h"


int mlp_activation_eval(mlp_act_t act, const float *x, size_t n, float *y,
                        float *dy)
{
    dnnl_engine_t eng = NULL;
    dnnl_stream_t strm = NULL;
    dnnl_primitive_desc_t fpd = NULL, hint = NULL, bpd = NULL;
    dnnl_primitive_t fwd = NULL, bwd = NULL;
    dnnl_memory_t mx = NULL, my = NULL, mones = NULL, mdy = NULL;
    dnnl_memory_desc_t md;
    dnnl_eltwise_desc_t ed;
    float *ones = NULL;
    int rc, fwd_alg, bwd_alg; /* the net's post-op and backward (net.h) */

    if ((rc = mlp_act_algs(act, &fwd_alg, &bwd_alg)) < 0)
        return rc;
    if (n == 0)
        return 0;
    {
        dnnl_dims_t dims = {1, (dnnl_dim_t)n};

        CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_nc));
    }
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));

    /* Forward: y = act(x), the algorithm of the net's post-op. */
    CHECK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training,
                                         (dnnl_alg_kind_t)fwd_alg, &md, 0.0f,
                                         0.0f));
    CHECK(dnnl_primitive_desc_create(&fpd, &ed, NULL, eng, NULL));
    CHECK(dnnl_primitive_create(&fwd, fpd));
    CHECK(dnnl_memory_create(&mx, &md, eng, (void *)x));
    CHECK(dnnl_memory_create(&my, &md, eng, y));
    {
        dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, mx}, {DNNL_ARG_DST, my}};

        CHECK(dnnl_primitive_execute(fwd, strm, 2, args));
    }
    CHECK(dnnl_stream_wait(strm));
    if (dy == NULL)
        goto out;

    /* Backward from y with diff_dst = 1: the net's dL/dz = dL/dh * act'. */
    ones = malloc(n * sizeof(*ones));
    if (ones == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        ones[i] = 1.0f;
    CHECK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training,
                                         (dnnl_alg_kind_t)bwd_alg, &md, 0.0f,
                                         0.0f));
    CHECK(dnnl_primitive_desc_create(&hint, &ed, NULL, eng, NULL));
    CHECK(dnnl_eltwise_backward_desc_init(&ed, (dnnl_alg_kind_t)bwd_alg, &md,
                                          &md, 0.0f, 0.0f));
    CHECK(dnnl_primitive_desc_create(&bpd, &ed, NULL, eng, hint));
    CHECK(dnnl_primitive_create(&bwd, bpd));
    CHECK(dnnl_memory_create(&mones, &md, eng, ones));
    CHECK(dnnl_memory_create(&mdy, &md, eng, dy));
    {
        dnnl_exec_arg_t args[] = {{DNNL_ARG_DST, my},
                                  {DNNL_ARG_DIFF_DST, mones},
                                  {DNNL_ARG_DIFF_SRC, mdy}};

        CHECK(dnnl_primitive_execute(bwd, strm, 3, args));
    }
    CHECK(dnnl_stream_wait(strm));
out:
    dnnl_memory_destroy(mdy);
    dnnl_memory_destroy(mones);
    dnnl_memory_destroy(my);
    dnnl_memory_destroy(mx);
    dnnl_primitive_destroy(bwd);
    dnnl_primitive_destroy(fwd);
    dnnl_primitive_desc_destroy(bpd);
    dnnl_primitive_desc_destroy(hint);
    dnnl_primitive_desc_destroy(fpd);
    dnnl_stream_destroy(strm);
    dnnl_engine_destroy(eng);
    free(ones);
    return rc;
}
