#!/bin/bash
# End-to-end: every data-file value checked where it enters (issue 20,
# the data-file half).  A CSV record is bounded while it streams (one
# huge line in a small .csv.gz: an error naming the file, the line and
# the limit, in training and in predict --input, with the peak RSS
# bounded); a byte-order mark is not data; a NUL byte in a cell, and a
# label that cannot be a class name (a tab, a quoted newline, DEL, not
# UTF-8), fail at load naming file, line and column; an .npz with two
# members for one key is refused; a feature of tiny spread is constant;
# --limit-train reads no further than its rows (damage after them is
# never reached); logits that overflow are an error naming the row in
# predict and eval, with --json output valid JSON; a checkpoint's class
# names follow the same rule; a header declaring more than its file holds
# or a sample wider than a net can take is refused at the header.  Needs
# Debian's /usr/bin/python3 with numpy.
. "${srcdir:-.}/tests/lib.sh"

need_py numpy python3-numpy
D="$TMP/d"
mkdir "$D"
fit=(--hidden 8 --epochs 1 --batch 20 --threads 1 -j 0)
run() { "$MLPTRAIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null; }

"$PY" - "$D" <<'PYEOF' || { bad "python data"; finish; exit 1; }
import sys, gzip, io, zipfile, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(3)
def rows(n):
    y = rng.integers(0, 3, n)
    x = (rng.normal(size=(n, 4)) + 3 * np.eye(3, 4)[y]).astype(np.float32)
    return x, y
def csv(path, x, y, header=True, bom=False, names=None, label_first=False):
    with open(path, 'wb') as f:
        if bom:
            f.write(b'\xef\xbb\xbf')
        if header:
            cols = ['a', 'b', 'c', 'e']
            f.write((','.join(['label'] + cols if label_first
                              else cols + ['label']) + '\n').encode())
        for r, k in zip(x, y):
            lab = names[k] if names is not None else str(k)
            if ',' in lab or '"' in lab:
                lab = '"' + lab.replace('"', '""') + '"'
            cells = ['%.9g' % v for v in r]
            f.write((','.join([lab] + cells if label_first
                              else cells + [lab]) + '\n').encode())
x, y = rows(200)
xt, yt = rows(60)
csv(f'{d}/train.csv', x, y)
csv(f'{d}/test.csv', xt, yt)
csv(f'{d}/test_noh.csv', xt, yt, header=False)
# Byte-order marks: headerless, label first by name, gzipped.
csv(f'{d}/bom_noh.csv', x, y, header=False, bom=True)
csv(f'{d}/bom_first.csv', x, y, bom=True, label_first=True)
with open(f'{d}/bom_noh.csv', 'rb') as a, gzip.open(f'{d}/bom_noh.csv.gz', 'wb') as b:
    b.write(a.read())
# UTF-8 class names are fine.
csv(f'{d}/utf8.csv', x, y, names=['caf\u00e9', '\u65e5\u672c', 'plain "q", c'])
csv(f'{d}/utf8_test.csv', xt, yt, names=['caf\u00e9', '\u65e5\u672c', 'plain "q", c'])
# Labels that cannot be class names (row 7 of the file, line 8).
bad = {'tab': b'"a\tb"', 'newline': b'"a\nb"', 'del': b'a\x7fb',
       'latin1': b'caf\xe9'}
for k, v in bad.items():
    lines = open(f'{d}/train.csv', 'rb').read().split(b'\n')
    cells = lines[7].split(b',')
    lines[7] = b','.join(cells[:-1] + [v])
    open(f'{d}/lab_{k}.csv', 'wb').write(b'\n'.join(lines))
# A NUL byte inside a cell: "1\0999" once read as 1.
lines = open(f'{d}/train.csv', 'rb').read().split(b'\n')
cells = lines[5].split(b',')
lines[5] = b','.join([b'1\x00999'] + cells[1:])
open(f'{d}/nul.csv', 'wb').write(b'\n'.join(lines))
# .npz: two members named x.npy (numpy.load shows the last), and x
# beside x.npy.
def npy(a):
    b = io.BytesIO(); np.save(b, a); return b.getvalue()
import warnings
warnings.simplefilter('ignore')
with zipfile.ZipFile(f'{d}/dup.npz', 'w') as z:
    z.writestr('x.npy', npy(x))
    z.writestr('x.npy', npy(np.zeros_like(x)))
    z.writestr('y.npy', npy(y))
with zipfile.ZipFile(f'{d}/alias.npz', 'w') as z:
    z.writestr('x', npy(np.zeros_like(x)))
    z.writestr('x.npy', npy(x))
    z.writestr('y.npy', npy(y))
np.savez(f'{d}/ok.npz', x=x, y=y)
# A feature of tiny spread (0 and 1e-39, a float subnormal), another of
# range 2e-39 (minmax's 1/range overflowed a float).
t = x.copy()
t[:, 0] = np.where(np.arange(200) % 2, 0, 1e-39).astype(np.float32)
t[:, 1] = np.where(np.arange(200) % 3, -1e-39, 1e-39).astype(np.float32)
csv(f'{d}/tiny.csv', t, y)
# Rows that overflow the logits: finite values near float's largest, at
# row 300 (predict's second batch of 256).
big, ybig = rows(400)
big[300] = 3e38
csv(f'{d}/big_noh.csv', big, ybig, header=False)
csv(f'{d}/big.csv', big, ybig)
# --limit-train: 60000 good rows, then damage the reader would reach.
X, Y = rows(60000)
csv(f'{d}/long.csv', X, Y)
with open(f'{d}/long.csv', 'ab') as f:
    f.write(b'1,2,x,4,0\n')
with open(f'{d}/long.csv', 'rb') as a:
    body = a.read()
with open(f'{d}/long.csv.gz', 'wb') as b:
    b.write(gzip.compress(body[:-10]))
    b.write(b'\x1f\x8b\x08\x00 a corrupt second member')
Xn = X.copy()
Xn[-1, 2] = np.nan
np.savez(f'{d}/long.npz', x=Xn, y=Y)
np.save(f'{d}/long_x.npy', Xn)
np.save(f'{d}/long_y.npy', Y)
# A header declaring more than the file holds; a sample wider than a net.
hdr = b'\x00\x00\x08\x03' + (100).to_bytes(4, 'big') + (28).to_bytes(4, 'big') * 2
open(f'{d}/short-idx', 'wb').write(hdr + bytes(28 * 28 * 3))
np.save(f'{d}/short.npy', x)
b = open(f'{d}/short.npy', 'rb').read()
open(f'{d}/short.npy', 'wb').write(b[:-100])
w = b'\x00\x00\x08\x03' + (1).to_bytes(4, 'big') + (4097).to_bytes(4, 'big') * 2
with gzip.open(f'{d}/wide-idx.gz', 'wb') as f:
    f.write(w + bytes(4097 * 4097))
PYEOF

# ---- a byte-order mark is not data --------------------------------------
for f in bom_noh.csv bom_noh.csv.gz; do
    run --train "$D/$f" --test "$D/test_noh.csv" "${fit[@]}" &&
        grep -q "data .*: 200 train, 60 test" "$TMP/out" &&
        ok "$f: every row kept (a BOM is not a header)" ||
        bad "$f: $(cat "$TMP/out" "$TMP/err")"
done
run --train "$D/bom_first.csv" --test "$D/bom_first.csv" --label label "${fit[@]}" &&
    grep -q "data .*: 200 train" "$TMP/out" &&
    ok "BOM: --label names the first column" || bad "BOM --label: $(cat "$TMP/err")"

# ---- labels that cannot be class names, at load --------------------------
for k in tab newline del latin1; do
    case $k in
    tab) why='a control character (U+0009) at byte 1' ;;
    newline) why='a control character (U+000A) at byte 1' ;;
    del) why='a control character (U+007F) at byte 1' ;;
    latin1) why='not UTF-8 (byte 0xe9 at byte 3)' ;;
    esac
    expect_exit 1 "$D/lab_$k.csv: line 8, column 4 ('label'): label '.*' cannot be a class name: $why" -- \
        --train "$D/lab_$k.csv" --test "$D/test.csv" "${fit[@]}" --save "$TMP/lab.ckpt"
    ! grep -q '^epoch' "$TMP/out" && [ ! -e "$TMP/lab.ckpt" ] &&
        ok "label $k: refused before any epoch" || bad "label $k: trained: $(cat "$TMP/out")"
done
expect_exit 1 "$D/nul.csv: line 6, column 0 ('a'): a NUL byte in the cell" -- \
    --train "$D/nul.csv" --test "$D/test.csv" "${fit[@]}"

# UTF-8 names: kept, and every JSON written is valid (jansson).
if run --train "$D/utf8.csv" --test "$D/utf8_test.csv" "${fit[@]}" \
        --save "$TMP/utf8.ckpt" --log "$TMP/utf8.jsonl" &&
   run predict --model "$TMP/utf8.ckpt" --input "$D/test.csv" --label label \
        --json --logits && cp "$TMP/out" "$TMP/pred.json" &&
   run eval --model "$TMP/utf8.ckpt" --test "$D/utf8_test.csv" --json &&
   cp "$TMP/out" "$TMP/eval.json" &&
   "$PY" - "$TMP/pred.json" "$TMP/eval.json" "$TMP/utf8.jsonl" <<'PYEOF'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
assert len(rows) == 60, len(rows)
names = {'caf\u00e9', '\u65e5\u672c', 'plain "q", c'}
for r in rows:
    assert r['name'] in names, r
    assert abs(sum(r['probs']) - 1) < 1e-5 and len(r['logits']) == 3, r
e = json.load(open(sys.argv[2], encoding='utf-8'))
assert set(e['classes']) == names, e['classes']
for l in open(sys.argv[3], encoding='utf-8'):
    json.loads(l)
PYEOF
then
    ok "UTF-8 class names: predict --json, eval --json and the log are valid JSON"
else
    bad "UTF-8 names: $(cat "$TMP/err")"
fi

# A checkpoint whose class name is not UTF-8 (CRC recomputed): refused
# at load, as the same label in a CSV is; predict --json never writes it.
"$PY" - "$TMP/utf8.ckpt" "$TMP/latin1.ckpt" <<'PYEOF' || bad "patch names"
import sys, zlib
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.find('caf\u00e9'.encode())
b[i:i + 5] = b'caf\xe9\x00'
b[-4:] = (zlib.crc32(bytes(b[:-4])) & 0xffffffff).to_bytes(4, 'little')
open(sys.argv[2], 'wb').write(b)
PYEOF
expect_exit 1 "the name of class 0 is not a usable class name: not UTF-8 (byte 0xe9 at byte 3)" -- \
    predict --model "$TMP/latin1.ckpt" --input "$D/test.csv" --label label --json
[ ! -s "$TMP/out" ] && ok "nothing printed for a model with a non-UTF-8 name" ||
    bad "printed: $(head -c 200 "$TMP/out")"

# ---- .npz: one member per key -------------------------------------------
expect_exit 1 "$D/dup.npz: the archive has more than one member for 'x' ('x.npy' and 'x.npy')" -- \
    --train "$D/dup.npz" --test "$D/ok.npz" "${fit[@]}"
expect_exit 1 "$D/alias.npz: the archive has more than one member for 'x' ('x' and 'x.npy')" -- \
    --train "$D/ok.npz" --test "$D/alias.npz" "${fit[@]}"
expect_exit 1 "$D/dup.npz: the archive has more than one member" -- \
    predict --model "$TMP/utf8.ckpt" --input "$D/dup.npz"

# ---- a feature of tiny spread is constant ------------------------------
for n in standard minmax; do
    run --train "$D/tiny.csv" --test "$D/test.csv" "${fit[@]}" --normalize $n \
        --save "$TMP/tiny-$n.ckpt" && grep -q '^ok:' "$TMP/out" &&
        ok "--normalize $n: a spread of 1e-39 trains (a constant feature)" ||
        bad "--normalize $n tiny spread: $(cat "$TMP/out" "$TMP/err")"
done
run predict --model "$TMP/tiny-minmax.ckpt" --input "$D/tiny.csv" --label label &&
    ! grep -qi 'nan\|inf' "$TMP/out" && ok "tiny spread: finite predictions" ||
    bad "tiny spread predict: $(cat "$TMP/err")"

# ---- logits that overflow: an error naming the row ----------------------
# set_weights IN OUT MODE V: a checkpoint's parameters all set to V
# (MODE set) or multiplied by V (MODE scale), the CRC recomputed.
set_weights() { "$PY" "${srcdir:-.}/tests/ckpt_weights.py" "$@"; }
run --train "$D/train.csv" --test "$D/test.csv" "${fit[@]}" --normalize none \
    --save "$TMP/m.ckpt" || bad "train: $(cat "$TMP/err")"
# Weights 1: a row of 3e38 (finite) sums past float's range.
set_weights "$TMP/m.ckpt" "$TMP/ones.ckpt" set 1 || bad "set weights"
for fmt in --csv --json; do
    expect_exit 1 "$D/big_noh.csv: row 300: the model's logits are not finite" -- \
        predict --model "$TMP/ones.ckpt" --input "$D/big_noh.csv" --label 4 $fmt
    cp "$TMP/out" "$TMP/pred$fmt"
    ! grep -qi 'nan\|inf' "$TMP/out" && [ "$(grep -c . "$TMP/out")" -le 257 ] &&
        ok "predict $fmt: no NaN, no infinity, nothing of the batch of row 300" ||
        bad "predict $fmt printed: $(tail -3 "$TMP/out")"
done
"$PY" -c 'import json, sys; n = sum(1 for l in open(sys.argv[1]) if json.loads(l)); assert n == 256, n' \
    "$TMP/pred--json" && ok "predict --json before the error: 256 valid JSON lines" ||
    bad "invalid JSON: $(tail -2 "$TMP/pred--json")"
expect_exit 1 "$D/big.csv: sample 300: the model's logits are not finite" -- \
    eval --model "$TMP/ones.ckpt" --test "$D/big.csv"
! grep -qi 'nan' "$TMP/out" && ok "eval: no 'loss nan'" || bad "eval printed: $(cat "$TMP/out")"
# A model with large finite weights (x 1e30) on ordinary inputs.
set_weights "$TMP/m.ckpt" "$TMP/huge.ckpt" scale 1e30 || bad "scale weights"
expect_exit 1 "$D/test.csv: row 0: the model's logits are not finite" -- \
    predict --model "$TMP/huge.ckpt" --input "$D/test.csv" --label label --json
expect_exit 1 "$D/test.csv: sample 0: the model's logits are not finite" -- \
    eval --model "$TMP/huge.ckpt" --test "$D/test.csv" --json
[ ! -s "$TMP/out" ] && ok "eval --json of overflowing logits prints nothing" ||
    bad "eval --json printed: $(cat "$TMP/out")"
# Large but finite logits (weights x 1e3): finite probabilities that sum
# to 1, as the exported graph's stable Softmax gives them.
set_weights "$TMP/m.ckpt" "$TMP/big3.ckpt" scale 1e3 || bad "scale weights"
run predict --model "$TMP/big3.ckpt" --input "$D/test.csv" --label label --json --logits &&
    "$PY" - "$TMP/out" <<'PYEOF' && ok "logits of 1e3 and more: stable probabilities" ||
import json, math, sys
big = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    z = r['logits']
    m = max(z)
    e = [math.exp(v - m) for v in z]
    p = [v / sum(e) for v in e]
    assert all(abs(a - b) < 1e-6 for a, b in zip(p, r['probs'])), r
    big += max(abs(v) for v in z) > 100
assert big > 0
PYEOF
    bad "large logits: $(cat "$TMP/err")"

# ---- --limit-train reads no further than its rows -----------------------
# The damage at the end (a bad cell, a corrupt gzip member, a NaN) is
# reached without the limit and never with it.
for f in long.csv long.csv.gz long.npz; do
    case $f in
    long.csv) why="line 60002, column 2 ('c'): not a number: 'x'" ;;
    long.csv.gz) why="corrupt gzip stream" ;;
    long.npz) why="row 59999, column 2: NaN" ;;
    esac
    expect_exit 1 "$D/$f.*: $why" -- --train "$D/$f" --test "$D/test.csv" "${fit[@]}"
    run --train "$D/$f" --test "$D/test.csv" "${fit[@]}" --limit-train 1000 &&
        grep -q "data .*: 1000 train" "$TMP/out" &&
        ok "$f --limit-train 1000: read no further" ||
        bad "$f --limit-train: $(cat "$TMP/out" "$TMP/err")"
done
expect_exit 1 "$D/long_x.npy: row 59999, column 2: NaN" -- --train "$D/long_x.npy" \
    --train-labels "$D/long_y.npy" --test "$D/test.csv" "${fit[@]}"
run --train "$D/long_x.npy" --train-labels "$D/long_y.npy" --test "$D/test.csv" \
    "${fit[@]}" --limit-train 1000 && grep -q "data .*: 1000 train" "$TMP/out" &&
    ok "long_x.npy --limit-train 1000: read no further" ||
    bad "long_x.npy --limit-train: $(cat "$TMP/err")"
# The test file too (--limit-test), and predict's file is streamed anyway.
run --train "$D/train.csv" --test "$D/long.csv.gz" "${fit[@]}" --limit-test 500 &&
    ok "--limit-test 500 on a damaged test file: read no further" ||
    bad "--limit-test: $(cat "$TMP/err")"

# ---- headers are checked against their files ---------------------------
expect_exit 1 "$D/short-idx: truncated: the IDX header declares 78400 bytes of data, the file holds 2352" -- \
    --train "$D/short-idx" --train-labels "$D/long_y.npy" --test "$D/test.csv" "${fit[@]}"
expect_exit 1 "$D/short.npy: truncated: the .npy shape (200, 4) of '<f4' needs more data than the 3100 bytes after the header" -- \
    predict --model "$TMP/m.ckpt" --input "$D/short.npy"
expect_exit 1 "$D/wide-idx.gz: 16785409 features per sample; at most 16777216" -- \
    predict --model "$TMP/m.ckpt" --input "$D/wide-idx.gz"

# ---- rows that cannot fit in memory: refused before they are allocated ---
# 1000 samples of 3,000,000 byte features (3 GB; 3 MB of gzip members)
# with the address space capped at 1.5 GiB: an error naming the file, the
# rows and the memory, not an allocation failure half-way.
asan=0
ldd "$MLPTRAIN" 2>/dev/null | grep -q libasan && asan=1
"$PY" - "$D" <<'PYEOF' || bad "wide npy"
import gzip, io, sys, zlib
import numpy as np
d = sys.argv[1]
h = io.BytesIO()
np.lib.format.write_array_header_1_0(h, {'descr': '|u1', 'fortran_order': False,
                                         'shape': (1000, 3000000)})
mb = gzip.compress(bytes(1 << 20), 1)
with open(f'{d}/wide_x.npy.gz', 'wb') as f:
    f.write(gzip.compress(h.getvalue()))
    for _ in range(3000000 * 1000 // (1 << 20) + 1):
        f.write(mb)
np.save(f'{d}/wide_y.npy', np.arange(1000) % 3)
# Two rows of 500,000 columns (4 MB of features): rows are allocated by
# what the file holds, not by a guess of 1024 rows (2 GB).
with open(f'{d}/wide2.csv', 'w') as f:
    for i in range(2):
        f.write(','.join(str((i + j) % 7) for j in range(500000)) + ',%d\n' % i)
PYEOF
if [ "$asan" = 1 ]; then
    echo "SKIP: the address-space cap is not for ASan builds (its shadow maps terabytes)"
else
    ( ulimit -v $((1536 * 1024))
      exec "$MLPTRAIN" --train "$D/wide_x.npy.gz" --train-labels "$D/wide_y.npy" \
          --test "$D/test.csv" "${fit[@]}" >"$TMP/out" 2>"$TMP/err" </dev/null )
    rc=$?
    [ "$rc" = 1 ] && grep -q "$D/wide_x.npy.gz: 1000 samples of 3000000 features need 2861.0 MiB of memory, and [0-9.]* MiB is available" "$TMP/err" &&
        ok "rows beyond the memory: refused naming file, rows and memory" ||
        bad "rows beyond the memory: exit $rc: $(cat "$TMP/err")"
    ( ulimit -v $((1536 * 1024))
      exec "$MLPTRAIN" --train "$D/wide2.csv" --test "$D/wide2.csv" "${fit[@]}" \
          --batch 2 >"$TMP/out" 2>"$TMP/err" </dev/null )
    rc=$?
    [ "$rc" = 0 ] && ok "two rows of 500,000 columns load in 1.5 GiB" ||
        bad "wide rows: exit $rc: $(cat "$TMP/err")"
fi

# ---- one enormous line: bounded memory ----------------------------------
# 400 fields of 512 KiB (210 MB) in the first record, 200 KB of gzip: the
# reader stops at MLP_CSV_MAX_RECORD (64 MiB), naming file, line and
# limit, before it holds more.
"$PY" - "$D/huge.csv.gz" <<'PYEOF' || bad "huge line"
import gzip, sys, zlib
field = b'0' * (512 * 1024 - 1) + b','
c = zlib.compressobj(9, zlib.DEFLATED, 31)
with open(sys.argv[1], 'wb') as f:
    for _ in range(400):
        f.write(c.compress(field))
    f.write(c.compress(b'1\n') + c.flush())
PYEOF
# peak RSS (KiB) of a run: getrusage of the child
peak() {
    "$PY" - "$MLPTRAIN" "$@" <<'PYEOF'
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PYEOF
}
for cmd in train predict; do
    if [ $cmd = train ]; then
        args=(--train "$D/huge.csv.gz" --test "$D/test.csv" "${fit[@]}")
        small=(--train "$D/test.csv" --test "$D/test.csv" "${fit[@]}")
    else
        args=(predict --model "$TMP/m.ckpt" --input "$D/huge.csv.gz")
        small=(predict --model "$TMP/m.ckpt" --input "$D/test.csv" --label label)
    fi
    read -r rc kb < <(peak "${args[@]}" 2>"$TMP/err")
    read -r rc0 kb0 < <(peak "${small[@]}" 2>/dev/null)
    if [ "$rc" = 1 ] && grep -q "$D/huge.csv.gz: line 1: a record longer than 67108864 bytes, the most a record may hold" "$TMP/err"; then
        ok "$cmd: one huge line refused naming file, line and limit"
    else
        bad "$cmd huge line: exit $rc: $(cat "$TMP/err")"
    fi
    if [ "$asan" = 1 ]; then
        echo "SKIP: $cmd: peak RSS not judged under ASan (its allocator keeps freed memory)"
    elif [ "$rc0" = 0 ] && [ $((kb - kb0)) -lt $((96 * 1024)) ]; then
        ok "$cmd: peak RSS $((kb / 1024)) MiB for a 210 MB line ($((kb0 / 1024)) MiB for a small file)"
    else
        bad "$cmd: peak RSS $((kb / 1024)) MiB for a 210 MB line, $((kb0 / 1024)) MiB small (exit $rc0)"
    fi
done

finish
