/*
 * fuzz_npy: libFuzzer entry point for the .npy reader (input.c, npy.c).
 *
 * Each input is read as mlptrain reads a features or labels file: through
 * an input over the buffer (gzip is inflated when the magic says so), the
 * header parsed strictly, then every row converted (floats, bytes or
 * labels, as the dtype allows) and the end checked.  Aborts when a result
 * is inconsistent: a header accepted with a shape or dtype outside what
 * npy.h promises (a shape whose data the input cannot hold among them),
 * or an error without a message.  Seeds: fuzz/corpus/npy/.
 *
 * Not built by default (`make fuzz`):
 *   clang -g -O1 -fsanitize=fuzzer,address -Iinclude fuzz/fuzz_npy.c \
 *       src/npy.c src/input.c src/infile.c src/error.c -lzip -lz \
 *       -o /tmp/fuzz_npy
 *   /tmp/fuzz_npy -max_len=4096 fuzz/corpus/npy
 * Non-goals: the dataset-level checks, file I/O.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mlptrain/error.h"
#include "mlptrain/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* At most this many values are converted per input (bounded work). */
#define MAX_VALUES 65536

static void must_have_message(int rc)
{
    if (rc != 0 && mlp_error_message()[0] == '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mlp_input_t *in = NULL;
    mlp_npy_header_t h;
    float *f = NULL;
    int32_t *y = NULL;
    uint8_t *b = NULL;
    int rc;

    mlp_error_clear();
    if ((rc = mlp_input_open_mem(data, size, "fuzz.npy", &in)) != 0) {
        must_have_message(rc);
        return 0;
    }
    rc = mlp_npy_read_header(in, &h);
    must_have_message(rc);
    if (rc != 0)
        goto out;
    if (h.ndim < 1 || h.ndim > 2 || h.elsize < 1 || h.elsize > 8 ||
        (h.ndim == 1 && h.d != 1) || (h.ndim == 2 && h.d == 0))
        abort();
    /* The shape's data fits what the input can hold (npy.h). */
    if (h.n != 0 && (h.d > mlp_input_max_bytes(in) / h.elsize / h.n))
        abort();
    if (h.n > MAX_VALUES || h.d > MAX_VALUES || h.n * h.d > MAX_VALUES)
        goto out;
    mlp_error_clear();
    if (h.ndim == 1 && !mlp_npy_is_float(h.dtype)) {
        if ((y = malloc(h.n * sizeof(*y) + 1)) == NULL)
            goto out;
        rc = mlp_npy_read_labels(in, &h, 0, h.n, y);
        for (size_t i = 0; rc == 0 && i < h.n; i++)
            if (y[i] < 0 || y[i] > MLP_NPY_MAX_LABEL)
                abort();
    } else if (h.dtype == MLP_NPY_U1) {
        if ((b = malloc(h.n * h.d + 1)) == NULL)
            goto out;
        rc = mlp_npy_read_u8(in, &h, 0, h.n, b);
    } else {
        if ((f = malloc(h.n * h.d * sizeof(*f) + 1)) == NULL)
            goto out;
        rc = mlp_npy_read_f32(in, &h, 0, h.n, f);
        for (size_t i = 0; rc == 0 && i < h.n * h.d; i++)
            if (f[i] != f[i] || f[i] - f[i] != 0.0f) /* NaN, inf */
                abort();
    }
    must_have_message(rc);
    if (rc == 0)
        must_have_message(mlp_npy_check_end(in));
out:
    mlp_input_close(in);
    free(f);
    free(y);
    free(b);
    return 0;
}
