/*
 * fuzz_idx: libFuzzer entry point for the IDX reader.
 *
 * Feeds each input to mlp_idx_gunzip() when it starts with the gzip magic,
 * then to mlp_idx_parse(), as mlp_idx_read_file() does, and aborts when a
 * result is inconsistent (accepted with sizes that do not add up, or refused
 * without a message).  Seeds: fuzz/corpus/idx/.
 *
 * Not built by default:
 *   clang -g -O1 -fsanitize=fuzzer,address -Iinclude fuzz/fuzz_idx.c \
 *       src/idx.c src/error.c -lz -o /tmp/fuzz_idx
 *   /tmp/fuzz_idx -max_len=4096 fuzz/corpus/idx
 * Non-goals: the dataset-level checks, file I/O.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mlptrain/error.h"
#include "mlptrain/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parse(const uint8_t *buf, size_t len)
{
    mlp_idx_t x;
    size_t item = 1;

    mlp_error_clear();
    if (mlp_idx_parse(buf, len, "fuzz", &x) != 0) {
        if (mlp_error_message()[0] == '\0')
            abort();
        return;
    }
    for (unsigned i = 1; i < x.ndims; i++)
        item *= x.dims[i];
    if (x.ndims < 1 || x.ndims > MLP_IDX_MAX_DIMS || x.count != x.dims[0] ||
        x.item_size != item ||
        4 + 4 * (size_t)x.ndims + x.count * x.item_size != len ||
        x.data != buf + 4 + 4 * x.ndims || x.owned != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *out = NULL;
    size_t out_len = 0;

    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        mlp_error_clear();
        if (mlp_idx_gunzip(data, size, "fuzz", &out, &out_len) == 0)
            check_parse(out, out_len);
        else if (out != NULL || mlp_error_message()[0] == '\0')
            abort();
        free(out);
    } else {
        check_parse(data, size);
    }
    return 0;
}
