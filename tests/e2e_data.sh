#!/bin/bash
# End-to-end: your own data.  The same synthetic dataset written as IDX,
# CSV (features as the exact floats the IDX decode gives, p/255 printed
# with %.9g, which round-trips a float), .npy (uint8, and float32 = p/255),
# .npz and gzipped copies trains to identical figures, digit for digit;
# --normalize minmax/standard store the statistics numpy computes here;
# eval and predict --input read every format; hostile files fail with the
# file, row and column.  Needs Debian's /usr/bin/python3 with numpy.
. "${srcdir:-.}/tests/lib.sh"

need_py numpy python3-numpy

D="$TMP/d"
make_data "$D" 300 100 6 6 4 plain

# The copies, written by numpy from the IDX bytes.
"$PY" - "$D" <<'PYEOF' || { bad "python copies"; finish; exit 1; }
import sys, gzip, numpy as np
d = sys.argv[1]
def idx(p):
    b = open(p, 'rb').read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b[4 + 4 * nd:], dtype=np.uint8).reshape(dims)
names = np.array(['ant', 'bee', 'cat', 'dog'])
for sp, pre in (('train', 'train'), ('test', 't10k')):
    X = idx(f'{d}/{pre}-images-idx3-ubyte').reshape(-1, 36)
    y = idx(f'{d}/{pre}-labels-idx1-ubyte')
    Xf = X.astype(np.float32) / np.float32(255)
    with open(f'{d}/{sp}.csv', 'w') as f:
        f.write(','.join([f'f{j}' for j in range(36)] + ['label']) + '\n')
        for r, l in zip(Xf, y):
            f.write(','.join('%.9g' % v for v in r) + ',%d\n' % l)
    # The label first, by name, and the class names as text.
    with open(f'{d}/{sp}_named.csv', 'w') as f:
        f.write(','.join(['species'] + [f'f{j}' for j in range(36)]) + '\n')
        for r, l in zip(Xf, y):
            f.write(names[l] + ',' + ','.join('%.9g' % v for v in r) + '\n')
    # Real-valued features on their own scales, for --normalize.
    rng = np.random.default_rng(7 if sp == 'train' else 8)
    R = (Xf * rng.uniform(1, 50, 36).astype(np.float32) +
         rng.uniform(-20, 20, 36).astype(np.float32)).astype(np.float32)
    if sp == 'train':
        np.save(f'{d}/scale_mul.npy', R)
    np.save(f'{d}/{sp}_real.npy', R)
    np.save(f'{d}/{sp}_x.npy', Xf)
    np.save(f'{d}/{sp}_x64.npy', Xf.astype(np.float64))
    np.save(f'{d}/{sp}_x8.npy', X)
    np.save(f'{d}/{sp}_y.npy', y.astype(np.int64))
    np.savez_compressed(f'{d}/{sp}.npz', x=Xf, y=y.astype(np.int32))
    with open(f'{d}/{sp}_x.npy', 'rb') as a, gzip.open(f'{d}/{sp}_x.npy.gz', 'wb') as b:
        b.write(a.read())
    with open(f'{d}/{sp}.csv', 'rb') as a, gzip.open(f'{d}/{sp}.csv.gz', 'wb') as b:
        b.write(a.read())
PYEOF

figures() { grep '^epoch' "$1" | awk '{print $2, $4, $7, $10}' | tr '\n' ' '; }
train() {
    out=$1
    shift
    "$MLPTRAIN" "$@" --epochs 3 --lr 0.5 --batch 32 --hidden 16 --threads 1 \
        -j 2 --val 40 --log "$TMP/$out.log" >"$TMP/$out" 2>"$TMP/err" \
        </dev/null || bad "train $out: $(cat "$TMP/err")"
}

train idx --data "$D" --save "$TMP/idx.ckpt"
ref=$(figures "$TMP/idx")
[ -n "$ref" ] && ok "IDX figures: $ref" || bad "no IDX figures"
same() {
    got=$(figures "$TMP/$1")
    [ "$got" = "$ref" ] && ok "$1 gives the IDX figures" ||
        bad "$1: '$got', IDX: '$ref'"
}
train csv --train "$D/train.csv" --test "$D/test.csv" --normalize none \
    --save "$TMP/csv.ckpt"
same csv
train csvgz --train "$D/train.csv.gz" --test "$D/test.csv.gz" \
    --normalize none
same csvgz
train npy32 --train "$D/train_x.npy" --train-labels "$D/train_y.npy" \
    --test "$D/test_x.npy.gz" --test-labels "$D/test_y.npy" --normalize none
same npy32
train npy64 --train "$D/train_x64.npy" --train-labels "$D/train_y.npy" \
    --test "$D/test_x64.npy" --test-labels "$D/test_y.npy" --normalize none
same npy64
train npy8 --train "$D/train_x8.npy" --train-labels "$D/train_y.npy" \
    --test "$D/test_x8.npy" --test-labels "$D/test_y.npy" --save "$TMP/u8.ckpt"
same npy8
train npz --train "$D/train.npz" --test "$D/test.npz" --normalize none
same npz
train idxfiles --train "$D/train-images-idx3-ubyte" \
    --train-labels "$D/train-labels-idx1-ubyte" \
    --test "$D/t10k-images-idx3-ubyte" \
    --test-labels "$D/t10k-labels-idx1-ubyte"
same idxfiles
# Class names: the label column by name, names numbered in byte order
# (ant bee cat dog = 0 1 2 3, as the numbers were): the same figures.
train named --train "$D/train_named.csv" --test "$D/test_named.csv" \
    --label species --normalize none --save "$TMP/named.ckpt"
same named

# Every format's files are in the run record with their size and crc32 on
# disk (what MPI ranks compare): --data's four files as the same files
# given with --train; a CSV or .npz holds its labels, so it appears twice;
# --limit-train reads a file's rows only so far, but sums it whole.
train csvlimit --train "$D/train.csv.gz" --test "$D/test.csv.gz" \
    --normalize none --limit-train 100
"$PY" - "$TMP" <<'PYEOF' && ok "the run record sums every format's files" ||
import sys, json, os, zlib
t = sys.argv[1]
def files(run):
    rec = [json.loads(l) for l in open(f'{t}/{run}.log')]
    return [r for r in rec if r.get('type') == 'run'][0]['dataset']['files']
for run in ('idx', 'csv', 'csvgz', 'npy32', 'npy64', 'npy8', 'npz',
            'idxfiles', 'named', 'csvlimit'):
    fs = files(run)
    assert len(fs) == 4, (run, fs)
    for f in fs:
        b = open(f['path'], 'rb').read()
        assert f['size'] == len(b) == os.path.getsize(f['path']), (run, f)
        assert f['crc32'] == '%08x' % zlib.crc32(b), (run, f)
    if run in ('csv', 'csvgz', 'npz', 'named', 'csvlimit'):
        assert fs[0] == fs[1] and fs[2] == fs[3], (run, fs)
assert files('idx') == files('idxfiles')
assert files('csvlimit') == files('csvgz')
PYEOF
    bad "the run record's file sums"

# --normalize: the checkpoint's shift and scale against numpy's statistics
# of the rows trained on (the --val hold-out taken out: mlptrain picks
# those rows, so the test takes the kept rows from mlptrain's own split
# by training without --val too).
for norm in minmax standard; do
    "$MLPTRAIN" --train "$D/train_real.npy" --train-labels "$D/train_y.npy" \
        --test "$D/test_real.npy" --test-labels "$D/test_y.npy" \
        --normalize $norm --epochs 1 --hidden 8 --threads 1 \
        --save "$TMP/$norm.ckpt" >/dev/null 2>"$TMP/err" ||
        bad "train --normalize $norm: $(cat "$TMP/err")"
    "$PY" - "$TMP/$norm.ckpt" "$D/train_real.npy" $norm <<'PYEOF' &&
import sys, struct, numpy as np
b = open(sys.argv[1], 'rb').read()
x = np.load(sys.argv[2]).astype(np.float64)
assert struct.unpack_from('<I', b, 8)[0] == 3, 'version'
n_in = struct.unpack_from('<I', b, 24)[0]
opts = struct.unpack_from('<Q', b, 256)[0]
o = 264 + opts
kind, nnames = struct.unpack_from('<II', b, o)
assert kind == 1 and nnames == 0, (kind, nnames)
shift = np.frombuffer(b, '<f4', n_in, o + 8)
scale = np.frombuffer(b, '<f4', n_in, o + 8 + 4 * n_in)
if sys.argv[3] == 'minmax':
    ws, wc = x.min(0), 1 / (x.max(0) - x.min(0))
else:
    ws, wc = x.mean(0), 1 / x.std(0)
assert np.allclose(shift, ws, rtol=1e-6, atol=1e-6), (shift, ws)
assert np.allclose(scale, wc, rtol=1e-6, atol=0), (scale, wc)
PYEOF
        ok "--normalize $norm stores numpy's statistics" ||
        bad "--normalize $norm statistics"
done
# standard is the default for real features
"$MLPTRAIN" --train "$D/train_real.npy" --train-labels "$D/train_y.npy" \
    --test "$D/test_real.npy" --test-labels "$D/test_y.npy" --epochs 1 \
    --hidden 8 --threads 1 >"$TMP/default" 2>&1
"$MLPTRAIN" --train "$D/train_real.npy" --train-labels "$D/train_y.npy" \
    --test "$D/test_real.npy" --test-labels "$D/test_y.npy" --epochs 1 \
    --hidden 8 --threads 1 --normalize standard >"$TMP/standard" 2>&1
[ -n "$(figures "$TMP/default")" ] &&
    [ "$(figures "$TMP/default")" = "$(figures "$TMP/standard")" ] &&
    ok "real features default to --normalize standard" ||
    bad "the default is not standard"

# Resume on real features: the checkpoint's scaling, digit for digit.
R="--train $D/train_real.npy --train-labels $D/train_y.npy --test $D/test_real.npy --test-labels $D/test_y.npy --hidden 8 --threads 1 --val 30 --lr 0.3 --batch 32"
"$MLPTRAIN" $R --epochs 4 >"$TMP/full" 2>&1
"$MLPTRAIN" $R --epochs 2 --save "$TMP/half.ckpt" >/dev/null 2>&1
"$MLPTRAIN" $R --epochs 4 --resume "$TMP/half.ckpt" >"$TMP/rest" 2>&1
full=$(figures "$TMP/full" | cut -d' ' -f9-)
rest=$(figures "$TMP/rest")
[ -n "$rest" ] && [ "$full" = "$rest" ] &&
    ok "resume on real features continues exactly: $rest" ||
    bad "resume: full '$full', resumed '$rest'"
expect_exit 1 "model .* was trained on real features" -- \
    eval --model "$TMP/half.ckpt" --data "$D"

# eval on every format gives the same figures.
evalfig() { "$MLPTRAIN" eval --model "$1" "${@:2}" --threads 1 2>"$TMP/err" |
            grep '^test'; }
e1=$(evalfig "$TMP/csv.ckpt" --test "$D/test.csv")
e2=$(evalfig "$TMP/csv.ckpt" --test "$D/test_x.npy" --test-labels "$D/test_y.npy")
e3=$(evalfig "$TMP/csv.ckpt" --test "$D/test.npz")
e4=$(evalfig "$TMP/u8.ckpt" --test "$D/test_x8.npy" --test-labels "$D/test_y.npy")
e6=$(evalfig "$TMP/idx.ckpt" --data "$D")
e5=$(evalfig "$TMP/named.ckpt" --test "$D/test_named.csv" --label species)
[ -n "$e1" ] && [ "$e1" = "$e2" ] && [ "$e1" = "$e3" ] && [ "$e1" = "$e4" ] &&
    [ "$e1" = "$e5" ] && [ "$e1" = "$e6" ] &&
    ok "eval: one figure on CSV, .npy, .npz, IDX: $e1" ||
    bad "eval figures differ: '$e1' '$e2' '$e3' '$e4' '$e5' '$e6'"
"$MLPTRAIN" eval --model "$TMP/named.ckpt" --test "$D/test_named.csv" \
    --label species --threads 1 | grep -q 'ant' &&
    ok "eval shows the class names" || bad "eval lacks the class names"

# predict --input: the same lines from every format.
"$PY" - "$D" <<'PYEOF'
import sys, numpy as np
d = sys.argv[1]
x = np.load(f'{d}/test_x.npy')
with open(f'{d}/new.csv', 'w') as f:
    for r in x:
        f.write(','.join('%.9g' % v for v in r) + '\n')
np.savez(f'{d}/new.npz', x=x)
PYEOF
pred() { "$MLPTRAIN" predict --model "$1" --input "${@:2}" --threads 1 \
         2>"$TMP/err" | md5sum; }
p1=$(pred "$TMP/csv.ckpt" "$D/new.csv")
p2=$(pred "$TMP/csv.ckpt" "$D/test_x.npy")
p3=$(pred "$TMP/csv.ckpt" "$D/new.npz")
p4=$(pred "$TMP/csv.ckpt" "$D/test.csv" --label label)
[ "$p1" = "$p2" ] && [ "$p1" = "$p3" ] && [ "$p1" = "$p4" ] &&
    ok "predict --input: the same lines from CSV, .npy, .npz" ||
    bad "predict differs by format: $p1 $p2 $p3 $p4"
i1=$(pred "$TMP/u8.ckpt" "$D/t10k-images-idx3-ubyte")
i2=$(pred "$TMP/u8.ckpt" "$D/test_x8.npy")
[ "$i1" = "$i2" ] && ok "predict --input: IDX images = uint8 .npy" ||
    bad "predict IDX $i1, npy $i2"
# The lines: a header, 100 rows, probabilities summing to 1, the class
# the argmax of the logits, the accuracy eval printed.
"$MLPTRAIN" predict --model "$TMP/named.ckpt" --input "$D/test_named.csv" \
    --label species --logits --threads 1 >"$TMP/pred.csv" 2>"$TMP/err" ||
    bad "predict --logits: $(cat "$TMP/err")"
"$MLPTRAIN" predict --model "$TMP/named.ckpt" --input "$D/test_named.csv" \
    --label species --json --threads 1 >"$TMP/pred.json" 2>"$TMP/err" ||
    bad "predict --json: $(cat "$TMP/err")"
"$PY" - "$TMP/pred.csv" "$TMP/pred.json" "$D/test_y.npy" "$e1" <<'PYEOF' &&
import sys, json, numpy as np
lines = open(sys.argv[1]).read().splitlines()
assert lines[0] == 'row,class,name,p_0,p_1,p_2,p_3,logit_0,logit_1,logit_2,logit_3', lines[0]
rows = [l.split(',') for l in lines[1:]]
assert len(rows) == 100
names = ['ant', 'bee', 'cat', 'dog']
y = np.load(sys.argv[3])
right = 0
for i, r in enumerate(rows):
    assert int(r[0]) == i
    k = int(r[1]); p = np.array(r[3:7], float); lg = np.array(r[7:11], float)
    assert r[2] == names[k]
    assert abs(p.sum() - 1) < 1e-6
    assert k == int(np.argmax(lg))
    e = np.exp(lg - lg.max()); assert np.allclose(p, e / e.sum(), atol=1e-6)
    right += k == y[i]
acc = sys.argv[4].split('acc ')[1].split()[0]
assert '%.4f' % (right / 100) == acc, (right, acc)
js = [json.loads(l) for l in open(sys.argv[2])]
assert len(js) == 100 and all(j['class'] == int(r[1]) and j['name'] == r[2]
                              for j, r in zip(js, rows))
assert set(js[0]) == {'row', 'class', 'name', 'probs'}
PYEOF
    ok "predict lines: header, names, softmax, argmax, eval's accuracy, JSON" ||
    bad "predict lines"

# ---- bad inputs: clear errors naming file, row/line and column --------------
printf 'a,b,label\n1,2,0\n3,4\n' >"$TMP/ragged.csv"
printf 'a,b,label\n1,2,0\n3,x,1\n' >"$TMP/nonnum.csv"
printf 'a,b,label\n1,2,0\n3,nan,1\n' >"$TMP/nan.csv"
printf '' >"$TMP/empty.csv"
printf 'a,label\n1,0\n2,1\n' >"$TMP/ok1.csv"
expect_exit 1 "ragged.csv: line 3 has 2 fields; line 1 has 3" -- \
    --train "$TMP/ragged.csv" --test "$TMP/ragged.csv"
expect_exit 1 "nonnum.csv: line 3, column 1 ('b'): not a number: 'x'" -- \
    --train "$TMP/nonnum.csv" --test "$TMP/nonnum.csv"
expect_exit 1 "nan.csv: line 3, column 1 ('b'): NaN" -- \
    --train "$TMP/nan.csv" --test "$TMP/nan.csv"
expect_exit 1 "empty.csv: empty file" -- \
    --train "$TMP/empty.csv" --test "$TMP/empty.csv"
expect_exit 1 "has 1 features per sample but" -- \
    --train "$D/train.csv" --test "$TMP/ok1.csv"
expect_exit 1 "no column of that name" -- \
    --train "$D/train.csv" --test "$D/test.csv" --label nosuch
"$PY" -c "
import numpy as np
np.save('$TMP/big.npy', np.zeros((3, 36), '>f4'))
np.save('$TMP/obj.npy', np.array([[1, 'a']], dtype=object), allow_pickle=True)
np.save('$TMP/shape3.npy', np.zeros((2, 3, 6), np.float32))
np.save('$TMP/y5.npy', np.zeros(5, np.int64))
np.save('$TMP/yf.npy', np.zeros(300, np.float32))
x = np.load('$D/train_x.npy'); x[7, 5] = np.nan; np.save('$TMP/nanx.npy', x)
"
npy_refused() { # MESSAGE TRAIN LABELS: refused with exit 1 and MESSAGE
    expect_exit 1 "$1" -- --train "$2" --train-labels "$3" --test "$D/test.csv"
}
npy_refused "big.npy: .npy dtype '>f4' is big-endian" "$TMP/big.npy" "$D/train_y.npy"
npy_refused "obj.npy: .npy dtype '|O' is not supported" "$TMP/obj.npy" "$D/train_y.npy"
npy_refused "shape3.npy: .npy array has 3 dimensions" "$TMP/shape3.npy" "$D/train_y.npy"
npy_refused "y5.npy has 5 labels but .*train_x.npy has 300 samples" "$D/train_x.npy" "$TMP/y5.npy"
npy_refused "yf.npy: labels must be an (n,) integer array" "$D/train_x.npy" "$TMP/yf.npy"
npy_refused "nanx.npy: row 7, column 5: NaN" "$TMP/nanx.npy" "$D/train_y.npy"
gzip -c "$D/test.npz" >"$TMP/test.npz.gz"
expect_exit 1 "test.npz.gz: a gzip-compressed zip archive" -- \
    --train "$D/train.npz" --test "$TMP/test.npz.gz"
expect_exit 2 "option '--augment' needs images" -- \
    --train "$D/train.csv" --test "$D/test.csv" --augment flip
expect_exit 2 "option '--normalize' needs real features" -- \
    --data "$D" --normalize minmax
expect_exit 2 "option '--train' needs --test FILE" -- --train "$D/train.csv"
expect_exit 1 "a labels file" -- --train "$D/train_x.npy" --test "$D/test.csv"
expect_exit 1 "test.csv has 37 features per row but model .* takes 36" -- \
    predict --model "$TMP/csv.ckpt" --input "$D/test.csv"
expect_exit 1 "has real-valued features but model .* was trained on bytes" -- \
    predict --model "$TMP/u8.ckpt" --input "$D/test_x.npy"
sed '3s/^[a-z]*,/eel,/' "$D/test_named.csv" >"$TMP/eel.csv"
expect_exit 1 "eel.csv: row 1: label 'eel' is not one of the 4 training classes" -- \
    eval --model "$TMP/named.ckpt" --test "$TMP/eel.csv" --label species
finish
