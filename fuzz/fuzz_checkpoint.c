/*
 * fuzz_checkpoint: libFuzzer entry point for the checkpoint parser.
 *
 * Each input is parsed twice: as it is, and with its trailing checksum
 * recomputed, so that mutations reach the field checks behind the CRC.
 * Aborts when a result is inconsistent: refused without a message or
 * with a non-zeroed result, or accepted but not re-encoding to the very
 * same bytes (the format is canonical: one file per checkpoint).
 * Seeds: fuzz/corpus/checkpoint/.
 *
 * Built by `make fuzz` (clang, -fsanitize=fuzzer,address,undefined), or:
 *   clang -g -O1 -fsanitize=fuzzer,address -Iinclude \
 *       fuzz/fuzz_checkpoint.c src/checkpoint.c src/checkpoint_input.c \
 *       src/text.c src/error.c -lz \
 *       -o /tmp/fuzz_checkpoint
 *   /tmp/fuzz_checkpoint -max_len=4096 fuzz/corpus/checkpoint
 * Non-goals: file I/O, the net (checkpoint_net.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parse(const uint8_t *buf, size_t len)
{
    static const mlp_checkpoint_t zero;
    mlp_checkpoint_t ck;
    uint8_t *enc = NULL;
    size_t enc_len = 0;

    mlp_error_clear();
    if (mlp_checkpoint_parse(buf, len, "fuzz", &ck) != 0) {
        if (mlp_error_message()[0] == '\0' ||
            memcmp(&ck, &zero, sizeof(ck)) != 0)
            abort();
        return;
    }
    /* canonical in its own format version (1 or 2) */
    if (mlp_checkpoint_encode_version(&ck, ck.version, &enc, &enc_len) != 0 ||
        enc_len != len ||
        memcmp(enc, buf, len) != 0)
        abort();
    free(enc);
    mlp_checkpoint_free(&ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;
    uint32_t crc;

    check_parse(data, size);
    if (size < 4 || !(copy = malloc(size)))
        return 0;
    memcpy(copy, data, size);
    crc = (uint32_t)crc32(0L, copy, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        copy[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    check_parse(copy, size);
    free(copy);
    return 0;
}
