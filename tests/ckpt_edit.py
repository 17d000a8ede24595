#!/usr/bin/python3
"""Edit an mlptrain checkpoint (format version 2 or 3) for tests: its
options text and its header fields, then fix the sizes and the crc32 so
that only the edited content is wrong.

  ckpt_edit.py IN OUT EDIT...

EDIT is one of
  replace:OLD:NEW     replace text in the options (\\n in OLD/NEW: newline)
  line:NAME=VALUE     set option NAME's line (appended when absent)
  append:TEXT         append TEXT to the options text
  size:N              the options text becomes N bytes of "x=y\\n" lines
  u32:OFF=V, u64:OFF=V, f64:OFF=V   a header field at byte offset OFF
"""
import struct
import sys
import zlib

OPTIONS_BYTES, OPTIONS = 256, 264


def main(argv):
    src, out, edits = argv[1], argv[2], argv[3:]
    b = open(src, "rb").read()
    n = struct.unpack_from("<Q", b, OPTIONS_BYTES)[0]
    head = bytearray(b[:OPTIONS])
    text = b[OPTIONS:OPTIONS + n]
    rest = b[OPTIONS + n:-4]
    for e in edits:
        kind, _, arg = e.partition(":")
        if kind == "replace":
            old, _, new = arg.partition(":")
            old = old.replace("\\n", "\n").encode()
            new = new.replace("\\n", "\n").encode()
            assert old in text, (old, text)
            text = text.replace(old, new)
        elif kind == "line":
            name = arg.partition("=")[0].encode()
            lines = text.split(b"\n")[:-1]
            new = [arg.encode() if l.split(b"=")[0] == name else l
                   for l in lines]
            if new == lines and arg.encode() not in lines:
                new.append(arg.encode())
            text = b"\n".join(new) + b"\n"
        elif kind == "append":
            text += arg.replace("\\n", "\n").encode()
        elif kind == "size":
            k = int(arg)
            text = (b"x=y\n" * (k // 4 + 1))[:k]
        elif kind in ("u32", "u64", "f64"):
            off, _, v = arg.partition("=")
            fmt = {"u32": "<I", "u64": "<Q", "f64": "<d"}[kind]
            struct.pack_into(fmt, head, int(off),
                             float(v) if kind == "f64" else int(v))
        else:
            sys.exit("ckpt_edit: unknown edit " + e)
    body = bytearray(head + text + rest)
    struct.pack_into("<Q", body, OPTIONS_BYTES, len(text))
    struct.pack_into("<Q", body, 16, len(body) + 4)
    body += struct.pack("<I", zlib.crc32(bytes(body)) & 0xffffffff)
    open(out, "wb").write(body)


if __name__ == "__main__":
    main(sys.argv)
