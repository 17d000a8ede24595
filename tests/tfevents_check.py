#!/usr/bin/python3
"""Read mlptrain's TensorBoard event files independently, and compare them
with the JSON-lines log of the same run.

An independent reader: the TFRecord framing and both masked CRC-32Cs are
checked by this file's own code (not the writer's), each record is parsed
as a tensorflow.Event by Debian's python3-protobuf from proto/tfevent.proto
compiled here by protoc (not protoc-c), and the log is read with Python's
json.

    tfevents_check.py --protoc PROTOC --proto tfevent.proto DIR
        [--log RUN.jsonl] [--files N] [--allow-missing-last]

DIR's event files are read in name order, as TensorBoard reads them, and
merged as TensorBoard merges them: a value at a step already seen drops
that tag's values from that step on.  Checks, each failure a line:

  - names: events.out.tfevents.<10 digits>.<host>.<pid>, --files of them;
  - every file: whole records only (no trailing bytes, nothing torn),
    both CRCs right, the first record file_version "brain.Event:2" at
    step 0, every later one a Summary at a step >= 1 whose values all
    have a simple_value and distinct tags, wall times not decreasing,
    within a file and from one file to the next (name order is start
    order);
  - with --log: the log's epoch records, merged the same way (an epoch
    at or below the last one drops those from it on, as runlog reads a
    resumed run's log), have exactly the steps of every tag, and the
    values are the log's: lr exactly (both are the same float: the log
    prints the shortest decimal of it), the others to one float32 ulp
    (the log prints the double with 9 significant digits, the event holds
    the double rounded to float32: rounding the 9-digit decimal to float32
    can land one ulp away when the double is near a midpoint of two
    floats).  --allow-missing-last: the event files may lack the log's
    last epoch (a run killed between the log's record and the event's).

Exit 0 when every check passes, 1 otherwise; 2 for bad usage.
"""

import argparse
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

NAME_RE = re.compile(r"^events\.out\.tfevents\.(\d{10})\.([A-Za-z0-9._-]+)"
                     r"\.(\d+)$")
# tag -> the log's key
TAGS = {
    "loss/train": "train_loss",
    "accuracy/train": "train_acc",
    "loss/val": "val_loss",
    "accuracy/val": "val_acc",
    "loss/test": "test_loss",
    "accuracy/test": "test_acc",
    "lr": "lr",
    "samples_per_s": "samples_per_s",
}


def crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def ulps(a, b):
    """Distance of two float32 values in units in the last place."""
    def key(x):
        i = struct.unpack("<i", struct.pack("<f", x))[0]
        return i if i >= 0 else -0x80000000 - i
    return abs(key(a) - key(b))


class Checker:
    def __init__(self):
        self.failures = []

    def fail(self, msg):
        self.failures.append(msg)
        print("FAIL: " + msg)


def load_module(protoc, proto, tmp):
    d, base = os.path.split(os.path.abspath(proto))
    subprocess.run([protoc, "--proto_path=" + d, "--python_out=" + tmp,
                    base], check=True)
    sys.path.insert(0, tmp)
    import importlib
    return importlib.import_module(os.path.splitext(base)[0] + "_pb2")


def records(ck, path, data):
    """The data of each whole record; a failure for anything else."""
    out, off = [], 0
    while off < len(data):
        if len(data) - off < 12:
            ck.fail("%s: %d trailing bytes at %d: a torn header"
                    % (path, len(data) - off, off))
            break
        head = data[off:off + 8]
        (n,) = struct.unpack("<Q", head)
        (lcrc,) = struct.unpack("<I", data[off + 8:off + 12])
        if lcrc != masked(head):
            ck.fail("%s: record at %d: length CRC %08x, expected %08x"
                    % (path, off, lcrc, masked(head)))
            break
        if len(data) - off - 12 < n + 4:
            ck.fail("%s: record at %d: %d data bytes announced, %d left: "
                    "torn" % (path, off, n, len(data) - off - 16))
            break
        body = data[off + 12:off + 12 + n]
        (dcrc,) = struct.unpack("<I", data[off + 12 + n:off + 16 + n])
        if dcrc != masked(body):
            ck.fail("%s: record at %d: data CRC %08x, expected %08x"
                    % (path, off, dcrc, masked(body)))
            break
        out.append(body)
        off += 16 + n
    return out


def read_dir(ck, pb, d):
    """(files, [(file, step, wall, {tag: value})]) in name order."""
    names = sorted(n for n in os.listdir(d) if "tfevents" in n)
    events, last_wall = [], -math.inf
    for name in names:
        path = os.path.join(d, name)
        if not NAME_RE.match(name):
            ck.fail("%s: not an event file name of mlptrain" % path)
        if not os.path.isfile(path) or os.path.islink(path):
            ck.fail("%s: not a regular file" % path)
            continue
        with open(path, "rb") as f:
            data = f.read()
        recs = records(ck, path, data)
        if not recs:
            ck.fail("%s: no record" % path)
            continue
        for i, body in enumerate(recs):
            ev = pb.Event()
            try:
                ev.ParseFromString(body)
            except Exception as e:  # DecodeError
                ck.fail("%s: record %d: not an Event: %s" % (path, i, e))
                continue
            what = ev.WhichOneof("what")
            if ev.wall_time < last_wall:
                ck.fail("%s: record %d: wall time %.6f before %.6f"
                        % (path, i, ev.wall_time, last_wall))
            last_wall = ev.wall_time
            if i == 0:
                if what != "file_version" or \
                        ev.file_version != "brain.Event:2" or ev.step != 0:
                    ck.fail("%s: first record is not file_version "
                            "brain.Event:2 at step 0: %r" % (path, ev))
                continue
            if what != "summary" or ev.step < 1:
                ck.fail("%s: record %d: not a summary at a step >= 1: %r"
                        % (path, i, ev))
                continue
            vals = {}
            for v in ev.summary.value:
                if v.WhichOneof("value") != "simple_value":
                    ck.fail("%s: record %d: tag %r has no simple_value"
                            % (path, i, v.tag))
                elif v.tag in vals:
                    ck.fail("%s: record %d: tag %r twice" % (path, i, v.tag))
                else:
                    vals[v.tag] = v.simple_value
            events.append((name, ev.step, ev.wall_time, vals))
    return names, events


def merge_events(events):
    """tag -> {step: value}, TensorBoard's way (a step seen again drops
    that tag's values from it on)."""
    series = {}
    for _, step, _, vals in events:
        for tag, v in vals.items():
            s = series.setdefault(tag, {})
            for old in [k for k in s if k >= step]:
                del s[old]
            s[step] = v
    return series


def read_log(path):
    """epoch -> record, a resumed run's log read as runlog reads it."""
    epochs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # cut short by a kill
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not isinstance(rec, dict) or rec.get("type") != "epoch":
                continue
            e = rec["epoch"]
            for old in [k for k in epochs if k >= e]:
                del epochs[old]
            epochs[e] = rec
    return epochs


def compare(ck, series, epochs, allow_missing_last):
    steps = sorted(epochs)
    if allow_missing_last and steps:
        have = set(series.get("loss/train", {}))
        if steps[-1] not in have:
            steps = steps[:-1]
    nvalues = 0
    for tag, key in TAGS.items():
        want = {e: epochs[e].get(key) for e in steps if key in epochs[e]}
        want = {e: v for e, v in want.items() if v is not None}
        got = series.get(tag, {})
        if sorted(got) != sorted(want):
            ck.fail("%s: steps %s, the log's epochs %s"
                    % (tag, sorted(got), sorted(want)))
            continue
        for e, v in want.items():
            tb, js = got[e], f32(v)
            if tag == "lr" and tb != js:
                ck.fail("lr at epoch %d: %r, the log's %r (float %r)"
                        % (e, tb, v, js))
            elif ulps(tb, js) > 1:
                ck.fail("%s at epoch %d: %r, the log's %r (float %r, %d "
                        "ulps)" % (tag, e, tb, v, js, ulps(tb, js)))
            nvalues += 1
    extra = set(series) - set(TAGS)
    if extra:
        ck.fail("tags the log has no figure for: %s" % sorted(extra))
    return steps, nvalues


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--protoc", required=True)
    ap.add_argument("--proto", required=True)
    ap.add_argument("--log")
    ap.add_argument("--files", type=int)
    ap.add_argument("--allow-missing-last", action="store_true")
    ap.add_argument("dir")
    a = ap.parse_args()
    ck = Checker()
    with tempfile.TemporaryDirectory() as tmp:
        pb = load_module(a.protoc, a.proto, tmp)
        names, events = read_dir(ck, pb, a.dir)
    if a.files is not None and len(names) != a.files:
        ck.fail("%d event files, expected %d: %s" % (len(names), a.files,
                                                     names))
    series = merge_events(events)
    steps = sorted(series.get("loss/train", {}))
    print("PASS: %d event files, %d epoch records, steps %s read"
          % (len(names), len(events), steps) if not ck.failures else
          "read %d event files, %d epoch records" % (len(names),
                                                     len(events)))
    if a.log:
        steps, n = compare(ck, series, read_log(a.log),
                           a.allow_missing_last)
        if not ck.failures:
            print("PASS: %d values at epochs %s are the log's"
                  % (n, steps))
    return 1 if ck.failures else 0


if __name__ == "__main__":
    sys.exit(main())
