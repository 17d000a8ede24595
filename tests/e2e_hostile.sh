#!/bin/bash
# End-to-end: hostile names and targets for every output (issue 10, points
# 1, 2, 3, 8 (locks) and 9).  Every picture writer (train --plot, plot
# --png, predict --png, activations --png, sweep charts) gets names with
# quotes, a newline, a backslash, $(...), backquotes, !cmd, a gnuplot
# `system` call and non-UTF-8 bytes, in paths and in titles/class names:
# no command may run (no PWNED file anywhere) and the picture is written.
# Then: devices, FIFOs and directories as targets; symbolic links as
# targets of every kind of output; a gnuplot that writes nothing or
# garbage (a full disk); outputs aliasing inputs; two trainers on one
# --log or --save.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
W="$TMP/w"
mkdir "$D" "$W"
"$MKDATA" "$D" 300 100 8 8 4 || { bad "mkdata"; finish; exit 1; }
common=(--data "$D" --epochs 1 --batch 50 --hidden 8 --threads 1 -j 1 --init-std 0.1)
is_png() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG' ]; }
pwned() {
    if [ -n "$(find "$TMP" -name 'PWNED*' 2>/dev/null)" ]; then
        bad "$1: a command ran: $(find "$TMP" -name 'PWNED*')"
        find "$TMP" -name 'PWNED*' -exec rm -f {} +
    else
        ok "$1: no command ran"
    fi
}
# draws NAME PNG... -- ARGS...: mlptrain ARGS succeeds and writes every PNG.
draws() {
    local name=$1 pngs=() p
    shift
    while [ "$1" != -- ]; do pngs+=("$1"); shift; done
    shift
    if ! "$MLPTRAIN" "$@" >/dev/null 2>"$TMP/err"; then
        bad "$name: $(cat "$TMP/err")"
        return
    fi
    for p in "${pngs[@]}"; do
        is_png "$p" || { bad "$name: '$p' is not a PNG: $(cat "$TMP/err")"; return; }
    done
    ok "$name"
}
cd "$W" || exit 1

hostile=(
    "q'uote"
    'd"quote'
    "$(printf 'new\nline')"
    'back\slash'
    '$(touch PWNED1)'
    '`touch PWNED2`'
    '!touch PWNED3'
    "'; system 'touch PWNED4'; '"
    "\"; system \"touch PWNED5\"; \""
    "\`touch PWNED6\`'\""
    "$(printf 'bad\377\376utf8')"
    "@macro"
)

# activations --png, and the train a model plus a log to draw from.
i=0
for h in "${hostile[@]}"; do
    i=$((i + 1))
    p="$W/a$i$h.png"
    draws "activations --png hostile $i" "$p" -- activations --png "$p"
done
pwned "activations --png"

# train --plot: three runs with hostile names.
for i in 5 8 9; do
    h=${hostile[$((i - 1))]}
    p="$W/t$i$h.png"
    draws "train --plot hostile $i" "$p" -- "${common[@]}" --plot "$p" \
        --log "$W/run$i.jsonl" --save "$W/m$i.ckpt"
done
pwned "train --plot"

# plot --png and --title, one log and several.
i=0
for h in "${hostile[@]}"; do
    i=$((i + 1))
    p="$W/p$i$h.png"
    draws "plot --png/--title hostile $i" "$p" -- \
        plot "$W/run5.jsonl" --png "$p" --title "$h"
    draws "plot --png/--title hostile $i, two logs" "$p" -- \
        plot "$W/run5.jsonl" "$W/run8.jsonl" --png "$p" --title "$h"
done
pwned "plot --png"

# predict --png, with hostile class names too.
i=0
for h in "${hostile[@]}"; do
    i=$((i + 1))
    case "$h" in *,*|*$'\n'*) continue ;; esac
    p="$W/r$i$h.png"
    if [ "$h" = "$(printf 'bad\377\376utf8')" ]; then
        # not UTF-8: refused where class names enter (one rule, text.h)
        expect_exit 2 "option '--class-names': name 1 'bad.xff.xfeutf8' cannot be a class name: not UTF-8" -- \
            predict --model "$W/m5.ckpt" --data "$D" -n 4 --png "$p" \
            --class-names "$h,b$h,c$h,d"
        continue
    fi
    draws "predict --png hostile $i" "$p" -- \
        predict --model "$W/m5.ckpt" --data "$D" -n 4 --png "$p" \
        --class-names "$h,b$h,c$h,a very long class name indeed for a cell"
done
pwned "predict --png"

# sweep charts in a hostile directory.
for i in 1 5 8; do
    h=${hostile[$((i - 1))]}
    S="$W/s$i$h"
    draws "sweep charts hostile $i" "$S/curves.png" "$S/accuracy.png" -- \
        sweep --grid 'lr=0.05,0.1' --dir "$S" -t 1 -- "${common[@]}"
done
pwned "sweep charts"
[ -z "$(find "$TMP" -name '*.tmp.*')" ] && ok "no temporary file left" ||
    bad "temporary files: $(find "$TMP" -name '*.tmp.*')"

# SVG by suffix; other suffixes refused.
"$MLPTRAIN" plot "$W/run5.jsonl" --png "$W/c.svg" >/dev/null 2>"$TMP/err" &&
    grep -q '<svg' "$W/c.svg" && ok "plot --png x.svg writes SVG" ||
    bad "svg: $(cat "$TMP/err")"
expect_exit 2 "ends in .png or .svg" -- plot "$W/run5.jsonl" --png "$W/c.gif"
[ ! -e "$W/c.gif" ] && ok "no .gif written" || bad "c.gif written"

# ---- targets that are not regular files --------------------------------
mkfifo "$W/fifo.png"
mkdir "$W/dir.png"
ln -s /dev/null "$W/null.png"
for t in fifo.png dir.png null.png; do
    expect_exit 1 "cannot write '$W/$t': it is" -- plot "$W/run5.jsonl" --png "$W/$t"
    expect_exit 1 "cannot write '$W/$t': it is" -- activations --png "$W/$t"
    expect_exit 1 "cannot write '$W/$t': it is" -- "${common[@]}" --plot "$W/$t"
done
expect_exit 1 "cannot write '$W/fifo.png': it is a FIFO" -- "${common[@]}" --log "$W/fifo.png"
expect_exit 1 "cannot write '$W/fifo.png': it is a FIFO" -- "${common[@]}" --save "$W/fifo.png"
expect_exit 1 "cannot write '/dev/null': it is a character device" -- "${common[@]}" --save /dev/null
expect_exit 1 "it is a symbolic link (to '/dev/null')" -- predict --model "$W/m5.ckpt" --data "$D" --png "$W/null.png"
[ -p "$W/fifo.png" ] && [ -d "$W/dir.png" ] && [ -c /dev/null ] &&
    [ -L "$W/null.png" ] && ok "FIFO, directory and /dev/null untouched" ||
    bad "a target was replaced: $(ls -l "$W/fifo.png" "$W/dir.png" /dev/null "$W/null.png")"

# ---- outputs that are symbolic links -----------------------------------
# The rule for every output (outfile.h): a symbolic link at the path is
# refused (exit 1, naming it), whatever it names -- a regular file, a
# missing one -- and neither the link nor what it names is touched.  Each
# kind of output: checkpoint (and --save-best), its lock file, the log,
# the pictures of train, plot, activations and predict, export's files,
# sweep's results.csv.
L="$W/links"
mkdir "$L"
victim_ok() { # NAME: the link is still a link to victim, victim unchanged
    [ -L "$L/$1" ] && [ "$(readlink "$L/$1")" = victim ] &&
        [ "$(cat "$L/victim")" = precious ] && [ ! -e "$L/gone" ] &&
        [ -z "$(find "$L" -name '*.tmp.*')" ]
}
link_case() { # NAME WHAT ARGS...: NAME -> victim refused
    local name=$1 what=$2
    shift 2
    rm -f "$L/$name"
    printf precious >"$L/victim"
    ln -s victim "$L/$name"
    expect_exit 1 "cannot write '$L/$name': it is a symbolic link (to 'victim')" -- "$@"
    victim_ok "$name" && ok "$what: the link and its target untouched" ||
        bad "$what: $(ls -l "$L"; cat "$L/victim")"
}
link_case m.ckpt "--save" "${common[@]}" --save "$L/m.ckpt"
link_case b.ckpt "--save-best" "${common[@]}" --val 50 --save-best "$L/b.ckpt"
link_case run.jsonl "--log" "${common[@]}" --log "$L/run.jsonl"
link_case t.png "train --plot" "${common[@]}" --plot "$L/t.png"
link_case p.png "plot --png" plot "$W/run5.jsonl" --png "$L/p.png"
link_case a.png "activations --png" activations --png "$L/a.png"
link_case r.png "predict --png" predict --model "$W/m5.ckpt" --data "$D" -n 4 --png "$L/r.png"
link_case e.onnx "export --onnx" export --model "$W/m5.ckpt" --onnx "$L/e.onnx"
link_case e.npz "export --npz" export --model "$W/m5.ckpt" --npz "$L/e.npz"
mkdir "$L/sw"
rm -f "$L/sw/results.csv"
printf precious >"$L/victim"
ln -s ../victim "$L/sw/results.csv"
expect_exit 1 "cannot write '$L/sw/results.csv': it is a symbolic link" -- \
    sweep --grid 'lr=0.05' --dir "$L/sw" -t 1 -- "${common[@]}"
[ -L "$L/sw/results.csv" ] && [ "$(cat "$L/victim")" = precious ] &&
    ok "sweep results.csv: the link and its target untouched" ||
    bad "sweep results.csv: $(ls -l "$L/sw")"
# a dangling link is not followed to create the file it names
ln -s gone "$L/dangling.jsonl"
expect_exit 1 "it is a symbolic link (to 'gone')" -- "${common[@]}" --log "$L/dangling.jsonl"
ln -s gone "$L/dangling.ckpt"
expect_exit 1 "it is a symbolic link (to 'gone')" -- "${common[@]}" --save "$L/dangling.ckpt"
[ ! -e "$L/gone" ] && ok "a dangling link's target is not created" ||
    bad "created through a dangling link: $(ls -l "$L")"
# the checkpoint's lock file: a link there is refused, not followed
rm -f "$L/k.ckpt" "$L/k.ckpt.lock"
ln -s gone "$L/k.ckpt.lock"
expect_exit 1 "cannot write '$L/k.ckpt.lock': it is a symbolic link" -- \
    "${common[@]}" --save "$L/k.ckpt"
[ ! -e "$L/gone" ] && [ ! -e "$L/k.ckpt" ] &&
    ok "a lock file that is a link: nothing created" ||
    bad "lock link: $(ls -l "$L")"
# a link among the directories above the file is followed as usual
ln -s "$L/sw" "$L/swlink"
"$MLPTRAIN" "${common[@]}" --save "$L/swlink/dir.ckpt" >/dev/null 2>"$TMP/err" &&
    [ -f "$L/sw/dir.ckpt" ] && ok "a linked directory above the output" ||
    bad "linked directory: $(cat "$TMP/err")"

# ---- a full disk: gnuplot exits 0 having written nothing or garbage -----
cp "$W/p1q'uote.png" "$W/keep.png"
cp "$W/keep.png" "$W/orig.png"
printf '#!/bin/sh\ncat >/dev/null\nexit 0\n' >"$TMP/gp-empty"
printf '#!/bin/sh\ncat >/dev/null\necho garbage\nexit 0\n' >"$TMP/gp-garbage"
chmod +x "$TMP/gp-empty" "$TMP/gp-garbage"
for g in empty garbage; do
    MLPTRAIN_GNUPLOT="$TMP/gp-$g" "$MLPTRAIN" plot "$W/run5.jsonl" --png "$W/keep.png" \
        >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ "$rc" -eq 1 ] && grep -q "old one is kept" "$TMP/err" && ! grep -q wrote "$TMP/out" &&
        ok "gnuplot writing $g: exit 1" || bad "gnuplot writing $g: exit $rc: $(cat "$TMP/err")"
    cmp -s "$W/keep.png" "$W/orig.png" && ok "gnuplot writing $g: old picture kept" ||
        bad "gnuplot writing $g: old picture replaced"
    [ -z "$(find "$W" -name 'keep.png.tmp.*')" ] && ok "gnuplot writing $g: temporary removed" ||
        bad "gnuplot writing $g: temporary left"
done
MLPTRAIN_GNUPLOT="$TMP/gp-empty" "$MLPTRAIN" sweep --grid 'lr=0.05' --dir "$W/sfull" -t 1 \
    -- "${common[@]}" >/dev/null 2>"$TMP/err"
rc=$?
[ "$rc" -ne 0 ] && grep -q "charts not drawn" "$TMP/err" && ok "sweep whose charts fail: exit $rc" ||
    bad "sweep whose charts fail: exit $rc: $(cat "$TMP/err")"

# ---- outputs aliasing inputs -------------------------------------------
cp "$W/m5.ckpt" "$W/res.ckpt"
cp "$W/res.ckpt" "$W/res.orig"
ln -s res.ckpt "$W/alias.jsonl"
train2=(--data "$D" --epochs 2 --batch 50 --hidden 8 --threads 1 -j 1 --init-std 0.1)
expect_exit 2 "'--log' and '--resume' name the same file" -- "${train2[@]}" \
    --resume "$W/res.ckpt" --log "$W/res.ckpt"
expect_exit 2 "'--log' and '--save' name the same file" -- "${train2[@]}" \
    --save "$W/res.ckpt" --log "$W/res.ckpt"
# an output that is a link to an input: refused as a link (see below)
expect_exit 1 "cannot write '$W/alias.jsonl': it is a symbolic link" -- "${train2[@]}" \
    --resume "$W/res.ckpt" --log "$W/alias.jsonl"
ln -s res.ckpt "$W/alias.png"
expect_exit 1 "cannot write '$W/alias.png': it is a symbolic link" -- "${train2[@]}" \
    --resume "$W/res.ckpt" --plot "$W/alias.png"
# an input that is a link to an output: the same file
ln -s new2.ckpt "$W/in-alias.csv"
cp "$W/res.ckpt" "$W/new2.ckpt"
expect_exit 2 "'--save' and '--train' name the same file" -- \
    "${train2[@]:2}" --train "$W/in-alias.csv" --test "$W/in-alias.csv" --save "$W/new2.ckpt"
expect_exit 2 "'--save' and '--data (train-images-idx3-ubyte)' name the same" -- \
    "${train2[@]}" --save "$D/train-images-idx3-ubyte.gz"
expect_exit 2 "'--log' and '--save' name the same file" -- "${train2[@]}" \
    --save "$W/new.ckpt" --log "$W/./new.ckpt"
cp "$W/run5.jsonl" "$W/log.png"
expect_exit 2 "'--png' and 'LOG' name the same file" -- plot "$W/log.png" \
    --png "$W/log.png"
cmp -s "$W/log.png" "$W/run5.jsonl" && ok "the log is untouched" || bad "log changed"
cmp -s "$W/res.ckpt" "$W/res.orig" && ok "the checkpoint is untouched" ||
    bad "the checkpoint was changed"
[ ! -e "$W/new.ckpt" ] && ok "nothing written for a refused run" || bad "new.ckpt written"
# --save may name the --resume checkpoint (it is replaced atomically).
"$MLPTRAIN" "${train2[@]}" --resume "$W/res.ckpt" --save "$W/res.ckpt" >/dev/null 2>"$TMP/err" &&
    ok "--resume X --save X allowed" || bad "--resume X --save X: $(cat "$TMP/err")"

# ---- two trainers on one --log or --save --------------------------------
long=(--data "$D" --epochs 100000 --batch 50 --hidden 8 --threads 1 -j 1 --init-std 0.1 -q)
for opt in --log --save; do
    f="$W/busy$opt"
    rm -f "$f"
    "$MLPTRAIN" "${long[@]}" $opt "$f" >/dev/null 2>&1 &
    pid=$!
    # The first trainer holds its lock once it has written to the file
    # (the log's run record, the checkpoint of epoch 1): both come after
    # the lock, taken before any work.
    wait_until test -s "$f" || bad "$opt: the first trainer wrote nothing"
    [ "$opt" = --log ] && before=$(wc -c <"$f")
    expect_exit 1 "in use by another mlptrain process" -- "${common[@]}" $opt "$f"
    if [ "$opt" = --log ]; then
        [ "$(wc -c <"$f")" -ge "$before" ] && [ "$before" -gt 0 ] &&
            ok "the first trainer's log not truncated" || bad "log truncated"
    fi
    kill -TERM "$pid"
    wait "$pid"
    [ ! -e "$f.lock" ] && ok "$opt: lock file removed at the end" || bad "$opt: $f.lock left"
done
pwned "all"
finish
