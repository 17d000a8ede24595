/*
 * fuzz_csv: libFuzzer entry point for the CSV reader (input.c, csv.c on
 * libcsv).
 *
 * The first byte picks the options (header auto/yes/no; label: the last
 * column, index 0, the name "y", or none), the rest is the file (gzip is
 * inflated when the magic says so).  Every row is read in small batches.
 * Aborts when a result is inconsistent: a non-finite value accepted, a
 * label that is empty, not NUL-terminated or not a usable class name
 * (text.h), a row count that grows past the bytes, or an error without a
 * message.  Seeds: fuzz/corpus/csv/.
 *
 * Not built by default (`make fuzz`):
 *   clang -g -O1 -fsanitize=fuzzer,address -Iinclude fuzz/fuzz_csv.c \
 *       src/csv.c src/input.c src/infile.c src/error.c src/text.c -lcsv -lzip \
 *       -lz \
 *       -o /tmp/fuzz_csv
 *   /tmp/fuzz_csv -max_len=4096 fuzz/corpus/csv
 * Non-goals: class names (dataset_files.c), file I/O.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/csv.h"
#include "mlptrain/error.h"
#include "mlptrain/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BATCH 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const labels[] = {NULL, "0", "y", NULL};
    mlp_input_t *in = NULL;
    mlp_csv_t *c = NULL;
    mlp_csv_opts_t o;
    float *x = NULL;
    char lab[BATCH][MLP_CSV_MAX_LABEL];
    size_t got, rows = 0, d;
    int rc;

    if (size < 1)
        return 0;
    memset(&o, 0, sizeof(o));
    o.header = (mlp_header_t)(data[0] % 3);
    o.label = labels[(data[0] >> 2) & 3];
    o.no_label = ((data[0] >> 2) & 3) == 3;
    mlp_error_clear();
    if ((rc = mlp_input_open_mem(data + 1, size - 1, "fuzz.csv", &in)) != 0 ||
        (rc = mlp_csv_open(in, &o, &c)) != 0) {
        if (mlp_error_message()[0] == '\0')
            abort();
        return 0; /* mlp_csv_open closed the input */
    }
    d = mlp_csv_features(c);
    if (d == 0 || d > MLP_CSV_MAX_COLS ||
        (o.no_label && mlp_csv_label_col(c) != -1))
        abort();
    if ((x = malloc(BATCH * d * sizeof(*x))) == NULL)
        goto out;
    do {
        memset(lab, 0x55, sizeof(lab));
        rc = mlp_csv_next(c, BATCH, x, lab, &got);
        if (rc != 0) {
            if (mlp_error_message()[0] == '\0')
                abort();
            break;
        }
        for (size_t i = 0; i < got * d; i++)
            if (!isfinite(x[i]))
                abort();
        for (size_t r = 0; r < got && mlp_csv_label_col(c) >= 0; r++)
            if (memchr(lab[r], '\0', MLP_CSV_MAX_LABEL) == NULL ||
                lab[r][0] == '\0' ||
                mlp_text_class_name(lab[r], NULL, 0) != 0)
                abort();
        rows += got;
        if (rows > size)
            abort();
    } while (got == BATCH);
out:
    free(x);
    mlp_csv_close(c);
    return 0;
}
