/*
 * dnnl_check: the one way this project calls oneDNN.  CHECK(call) runs a
 * oneDNN call; on failure it records the call's text, oneDNN's status and
 * the line (mlp_error_set, MLP_EDNNL) in `rc` and jumps to the function's
 * `out:` label, which cleans up.  Internal to src/ (net.c, net_params.c,
 * net_dropout.c, activations.c).
 */
#ifndef MLPTRAIN_DNNL_CHECK_H
#define MLPTRAIN_DNNL_CHECK_H

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "mlptrain/error.h"

/* Wrap a oneDNN call: on failure record the call and jump to `out`. */
#define CHECK(call)                                                        \
    do {                                                                   \
        dnnl_status_t s_ = (call);                                         \
        if (s_ != dnnl_success) {                                          \
            rc = mlp_error_set(MLP_EDNNL, "%s: %s (line %d)", #call,       \
                               dnnl_status2str(s_), __LINE__);             \
            goto out;                                                      \
        }                                                                  \
    } while (0)

#endif
