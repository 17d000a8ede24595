#!/usr/bin/python3
"""Write a copy of a checkpoint with its parameters changed.

    ckpt_weights.py IN OUT set V     every parameter V
    ckpt_weights.py IN OUT scale V   every parameter times V

The parameters are the P floats before the optimizer state and the
checksum (doc/checkpoint-format.md: P and S at offsets 208 and 216);
the crc32 is recomputed, so the copy loads.  The new values must be
finite floats.  For tests of models with large weights (Debian's
/usr/bin/python3 with numpy).
"""
import struct
import sys
import zlib

import numpy as np


def main():
    src, dst, mode, v = sys.argv[1:5]
    b = bytearray(open(src, "rb").read())
    p, s = struct.unpack_from("<QQ", b, 208)
    i = len(b) - 4 - 4 * (p + s)
    w = np.frombuffer(bytes(b[i:i + 4 * p]), "<f4")
    w = np.full_like(w, np.float32(v)) if mode == "set" else w * np.float32(v)
    if not np.all(np.isfinite(w)):
        sys.exit(f"{mode} {v}: parameters not finite")
    b[i:i + 4 * p] = w.astype("<f4").tobytes()
    b[-4:] = (zlib.crc32(bytes(b[:-4])) & 0xffffffff).to_bytes(4, "little")
    open(dst, "wb").write(b)


if __name__ == "__main__":
    main()
