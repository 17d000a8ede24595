#!/bin/bash
# End-to-end: inputs are regular files read within bounds, and a signal is
# never swallowed (issue 10, points 4 and 5).  A FIFO or /dev/zero as a data
# file, --resume or --model is refused at once, naming what it is; a .gz
# bomb loads in bounded time and memory with --limit-train; a header that
# declares too much is refused naming the limit; SIGINT/SIGTERM during
# start-up end the run with 130.  Each run is under `timeout` (124 = hang).
# Bounded time is CPU time, which the machine's load leaves alone.
. "${srcdir:-.}/tests/lib.sh"
need_tool "$PY" python3

D="$TMP/data"
make_data "$D" 600 100 12 12 7 gz
"$MLPTRAIN" --data "$D" --epochs 1 --hidden 8 --threads 1 -q \
    --save "$TMP/good.ckpt" >/dev/null 2>"$TMP/err" || bad "save: $(cat "$TMP/err")"

# bounded CODE PATTERN -- ARGS: as expect_exit, under a timeout (PATIENCE)
# and a 3 GiB address-space limit (today's unbounded reads hit one of
# them); $TMP/cpu gets the CPU seconds it took.  Sanitizer builds reserve
# terabytes of shadow memory: the timeout alone.
vlimit=3000000
grep -qa -e __asan_init -e __tsan_init "$MLPTRAIN" && vlimit=unlimited
bounded() {
    local TIMEFORMAT='%U %S'
    want=$1 pat=$2
    shift 3
    { time { (ulimit -v $vlimit; exec timeout -k 5 "$PATIENCE" "$MLPTRAIN" "$@") \
        >"$TMP/out" 2>"$TMP/err" </dev/null; }; } 2>"$TMP/cpu"
    got=$?
    if [ "$got" -ne "$want" ]; then
        bad "mlptrain $*: exit $got, expected $want; stderr: $(head -c 300 "$TMP/err")"
    elif [ -n "$pat" ] && ! grep -q -- "$pat" "$TMP/err"; then
        bad "mlptrain $*: stderr lacks '$pat': $(head -c 300 "$TMP/err")"
    else
        ok "mlptrain $* -> $want"
    fi
}

# ---- not regular files --------------------------------------------------
mkfifo "$TMP/fifo"
for f in train-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    for what in fifo zero; do
        rm -rf "$TMP/d2" && cp -r "$D" "$TMP/d2"
        if [ $what = fifo ]; then mkfifo "$TMP/d2/$f"; kind="is a FIFO"
        else ln -s /dev/zero "$TMP/d2/$f"; kind="is a character device"; fi
        bounded 1 "cannot read '$TMP/d2/$f': it $kind, not a regular file" -- \
            --data "$TMP/d2" --epochs 1 --hidden 8 --threads 1
    done
done
bounded 1 "cannot read '$TMP/fifo': it is a FIFO" -- \
    --data "$D" --epochs 2 --threads 1 --resume "$TMP/fifo"
bounded 1 "cannot read '/dev/zero': it is a character device" -- \
    --data "$D" --epochs 2 --threads 1 --resume /dev/zero
bounded 1 "cannot read '/dev/zero': it is a character device" -- \
    eval --data "$D" --threads 1 --model /dev/zero
bounded 1 "cannot read '$TMP/fifo': it is a FIFO" -- \
    predict --data "$D" --threads 1 --model "$TMP/fifo"

# ---- a .gz bomb ---------------------------------------------------------
# 27e6 images of 12x12 (3.9 GB of zeros) in 3.9 MB: concatenated gzip
# members of 1 MB of zeros each, after one holding the IDX header.
mkdir "$TMP/bomb"
cp "$D"/t10k-* "$TMP/bomb/"
"$PY" - "$TMP/bomb" <<'PY' || bad "making the bomb"
import gzip, struct, sys
d = sys.argv[1]
n, chunk = 27000000, 1000000
def member(b):
    return gzip.compress(b, 1)
zeros = member(bytes(chunk))
with open(d + "/train-images-idx3-ubyte.gz", "wb") as f:
    f.write(member(struct.pack(">IIII", 0x803, n, 12, 12)))
    f.write(zeros * (n * 144 // chunk))
labels = member(bytes(i % 7 for i in range(chunk)))
with open(d + "/train-labels-idx1-ubyte.gz", "wb") as f:
    f.write(member(struct.pack(">II", 0x801, n)))
    f.write(labels * (n // chunk))
with open(d + "/huge-images.gz", "wb") as f:   # 4.3 GB declared: > 4 GiB
    f.write(member(struct.pack(">IIII", 0x803, 30000000, 12, 12)))
PY
bounded 0 "" -- --data "$TMP/bomb" --limit-train 5000 --epochs 1 --hidden 8 \
    --threads 1 -q
# Inflating all 3.9 GB takes zlib seconds of CPU; 5000 images, a few ms.
cpu=$(awk '{ print $1 + $2 }' "$TMP/cpu")
awk -v c="$cpu" 'BEGIN { exit !(c != "" && c <= 2) }' &&
    ok "bomb with --limit-train 5000: $cpu s of CPU" ||
    bad "bomb with --limit-train 5000 took $cpu s of CPU"
mv "$TMP/bomb/huge-images.gz" "$TMP/bomb/train-images-idx3-ubyte.gz"
bounded 1 "declares 4320000000 bytes of data (30000000x12x12), more than the limit of 4294967296 bytes" -- \
    --data "$TMP/bomb" --limit-train 5000 --epochs 1 --threads 1

# ---- a checkpoint that declares too much --------------------------------
# A sparse file as long as its header says: 17 GiB, above the 16 GiB cap.
cp "$TMP/good.ckpt" "$TMP/huge.ckpt"
"$PY" - "$TMP/huge.ckpt" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(16); f.write(struct.pack("<Q", 17 << 30))
    f.truncate(17 << 30)
PY
if [ "$(stat -c %s "$TMP/huge.ckpt")" = $((17 << 30)) ]; then
    bounded 1 "the header says 18253611008 bytes; a checkpoint is at most 17179869184 bytes" -- \
        eval --data "$D" --threads 1 --model "$TMP/huge.ckpt"
else
    ok "SKIP: no sparse 17 GiB file here"
fi
rm -f "$TMP/huge.ckpt"

# ---- signals during start-up --------------------------------------------
for sig in TERM INT; do
    rm -f "$TMP/held"
    MLPTRAIN_TEST_STARTUP_HOLD="$TMP/held" timeout -k 5 "$PATIENCE" "$MLPTRAIN" \
        --data "$D" --epochs 1 --threads 1 >/dev/null 2>"$TMP/sig_err" &
    pid=$!
    # The hold file names mlptrain's own pid once it ends in a newline:
    # signal that process, not timeout(1), which forwards a signal only
    # once it knows its child's pid (under load it may not yet).
    wait_until grep -q '^[0-9][0-9]*$' "$TMP/held" 2>/dev/null
    kill -$sig "$(cat "$TMP/held" 2>/dev/null || echo $pid)" 2>/dev/null
    wait $pid
    got=$?
    [ -e "$TMP/held" ] && [ $got -eq 130 ] &&
        ok "SIG$sig during start-up: exit 130" ||
        bad "SIG$sig during start-up: exit $got (held: $([ -e "$TMP/held" ] && echo yes || echo no)); stderr: $(cat "$TMP/sig_err")"
done

finish
