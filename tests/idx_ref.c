/*
 * idx_ref: see idx_ref.h.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "idx_ref.h"
#include "mlptrain/idx.h"

uint8_t *tu_ref_gunzip(const uint8_t *buf, size_t len, size_t *out_len)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *out = malloc(cap), *p;
    z_stream z;
    int zr;

    memset(&z, 0, sizeof(z));
    if (out == NULL || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        abort();
    z.next_in = (Bytef *)buf;
    z.avail_in = (uInt)len;
    for (;;) {
        if (n == cap) {
            if ((p = realloc(out, cap *= 2)) == NULL)
                abort();
            out = p;
        }
        z.next_out = out + n;
        z.avail_out = (uInt)(cap - n);
        zr = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
        if (zr == Z_STREAM_END && z.avail_in == 0)
            break;
        if (zr == Z_STREAM_END && z.avail_in >= 2 && z.next_in[0] == 0x1f &&
            z.next_in[1] == 0x8b && inflateReset(&z) == Z_OK)
            continue;
        if (zr != Z_OK && !(zr == Z_BUF_ERROR && n == cap)) {
            free(out);
            out = NULL;
            break;
        }
    }
    inflateEnd(&z);
    *out_len = n;
    return out;
}

uint32_t tu_idx_declared(const uint8_t *buf, size_t len)
{
    uint8_t h[64];
    mlp_idx_header_t x;
    size_t n = len, hdr, total;

    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        z_stream z;

        memset(&z, 0, sizeof(z));
        if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
            abort();
        z.next_in = (Bytef *)buf;
        z.avail_in = (uInt)len;
        z.next_out = h;
        z.avail_out = sizeof(h);
        inflate(&z, Z_SYNC_FLUSH);
        n = sizeof(h) - z.avail_out;
        inflateEnd(&z);
        buf = h;
    }
    if (mlp_idx_parse_header(buf, n, NULL, &x, &hdr, &total) != 0 ||
        x.count > 1u << 20)
        return 0;
    return (uint32_t)x.count;
}
