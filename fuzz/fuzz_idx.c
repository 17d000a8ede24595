/*
 * fuzz_idx: libFuzzer entry point for IDX files on the road every command
 * takes (table.c over input.c, idx.c for the format; gzip inflated by
 * input.c when the magic says so).
 *
 * Each input is read twice, as mlptrain reads --data's files: as a
 * features file (every row), and as the labels file of a generated
 * features file with as many rows as its header declares (every label).
 * Aborts when a result is inconsistent: accepted with items that are not
 * exactly the data its header declares (of zlib's own inflation, for
 * gzip), a label outside a byte, fewer rows than declared, or refused
 * without a message.  Seeds: fuzz/corpus/idx/.
 *
 * Not built by default (`make fuzz`):
 *   clang -g -O1 -fsanitize=fuzzer,address -Iinclude -Itests \
 *       fuzz/fuzz_idx.c tests/idx_ref.c src/table.c src/idx.c src/npy.c src/csv.c src/input.c \
 *       src/infile.c src/text.c src/error.c -lcsv -lzip -lz \
 *       -o /tmp/fuzz_idx
 *   /tmp/fuzz_idx -max_len=4096 fuzz/corpus/idx
 * Non-goals: the dataset-level checks, file I/O.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idx_ref.h"
#include "mlptrain/error.h"
#include "mlptrain/idx.h"
#include "mlptrain/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read buf through the road as features or labels; abort when the
 * outcome is inconsistent. */
static void check(const uint8_t *buf, size_t len, int as_labels)
{
    uint8_t feat[12] = {0, 0, 8, 2, 0, 0, 0, 0, 0, 0, 0, 1}, *fx = NULL;
    uint8_t *x = NULL, *plain = NULL, *ref = NULL;
    int32_t *y = NULL;
    size_t n, dim, got, flen = sizeof(feat), plen = len, hdr, total;
    mlp_table_opts_t o;
    mlp_idx_header_t h;
    mlp_table_t *t = NULL;
    int rc;

    memset(&o, 0, sizeof(o));
    o.path = as_labels ? "features" : "fuzz";
    o.labels_path = as_labels ? "fuzz" : NULL;
    o.want_labels = as_labels;
    if (as_labels) { /* n rows of one zero byte */
        uint32_t c = tu_idx_declared(buf, len);

        if ((fx = calloc(1, flen + c)) == NULL)
            abort();
        memcpy(fx, feat, flen);
        fx[4] = (uint8_t)(c >> 24);
        fx[5] = (uint8_t)(c >> 16);
        fx[6] = (uint8_t)(c >> 8);
        fx[7] = (uint8_t)c;
        flen += c;
    }
    mlp_error_clear();
    rc = mlp_table_open_mem(&o, as_labels ? fx : buf, as_labels ? flen : len,
                            as_labels ? buf : NULL, len, &t);
    if (rc == 0 && mlp_table_format(t) != MLP_FORMAT_IDX)
        goto out; /* another format's reader: its own driver's */
    if (rc == 0) {
        n = mlp_table_rows(t);
        dim = mlp_table_dim(t);
        if ((x = malloc(n * dim + 1)) == NULL ||
            (y = malloc(n * sizeof(*y) + 1)) == NULL)
            abort();
        rc = mlp_table_next(t, n, x, NULL, as_labels ? y : NULL, NULL, &got);
        if (rc == 0 && got != n)
            abort();
    }
    if (rc != 0) {
        if (mlp_error_message()[0] == '\0')
            abort();
        goto out;
    }
    /* Accepted: the items are exactly the data the header declares. */
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        if ((ref = tu_ref_gunzip(buf, len, &plen)) == NULL)
            abort();
        plain = ref;
    } else {
        plain = (uint8_t *)buf;
    }
    if (mlp_idx_parse_header(plain, plen, "ref", &h, &hdr, &total) != 0 ||
        (as_labels ? h.ndims != 1 : h.ndims < 2) || hdr + total != plen ||
        h.count != n || (!as_labels && h.item_size != dim))
        abort();
    for (size_t i = 0; as_labels && i < n; i++)
        if (y[i] != plain[hdr + i])
            abort();
    if (!as_labels && total > 0 && memcmp(x, plain + hdr, total) != 0)
        abort();
out:
    mlp_table_close(t);
    free(fx);
    free(x);
    free(y);
    free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size, 0);
    check(data, size, 1);
    return 0;
}
