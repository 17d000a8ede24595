#!/bin/bash
# End-to-end: --clip-grad NORM (the step gradient's 2-norm clipped as
# PyTorch's clip_grad_norm_).  The norm is an exact sum of squares, so the
# clipped run trains the same checkpoint bytes for any -t, -j and --accum
# cut at the same micro-batches, and under MPI for any rank count; it is
# kept in the checkpoint (another value on resume is refused) and a
# resumed run continues exactly; a checkpoint written before the option
# existed resumes as it did (no clipping); it is a sweep key whose default
# leaves the run ids as they were.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
mkdir "$D"
"$MKDATA" "$D" 590 120 8 8 4 3 || { bad "mkdata"; finish; exit 1; }
common=(--data "$D" --hidden 24 -e 2 --dropout 0.2 --optimizer adam
        --lr 0.01 --schedule cosine --parallel batch --micro 10
        --clip-grad 0.05)

# The parameters and optimizer state of a checkpoint (tests/e2e_parallel).
payload() {
    n=$(od -A n -t u8 -j 256 -N 8 "$1" | tr -d ' ')
    tail -c +$((264 + n + 1)) "$1" | head -c -4 | md5sum | cut -d' ' -f1
}
figures() { grep '^epoch' "$1" | sed 's/  [0-9.]* s  .*//'; }

run() { # name args...
    local name=$1
    shift
    "$MLPTRAIN" "${common[@]}" --save "$TMP/$name.ckpt" "$@" \
        >"$TMP/$name.out" 2>"$TMP/err" || bad "$name: $(cat "$TMP/err")"
}

run t1 -b 40 -t 1 -j 0
ref=$(payload "$TMP/t1.ckpt")
for tj in "2 2" "3 0"; do
    set -- $tj
    run "t$1" -b 40 -t "$1" -j "$2"
    [ "$(payload "$TMP/t$1.ckpt")" = "$ref" ] &&
        [ "$(figures "$TMP/t$1.out")" = "$(figures "$TMP/t1.out")" ] &&
        ok "clipped: -t $1 -j $2 trains the bytes of -t 1 -j 0" ||
        bad "clipped: -t $1 -j $2 differs from -t 1"
done
run acc -b 20 --accum 2 -t 2
[ "$(payload "$TMP/acc.ckpt")" = "$ref" ] &&
    ok "clipped: --accum 2 of batch 20 is batch 40" ||
    bad "clipped: --accum 2 differs"
run gemm -b 40 -t 1 --parallel gemm
[ "$(payload "$TMP/gemm.ckpt")" = "$ref" ] &&
    ok "clipped: gemm mode at -t 1 is batch mode" || bad "gemm -t 1 differs"
run noclip -b 40 -t 1 --clip-grad 0
[ "$(payload "$TMP/noclip.ckpt")" != "$ref" ] &&
    ok "the clip changes the weights (it clips)" ||
    bad "--clip-grad 0.05 trained the unclipped weights"

# Kept in the checkpoint; another value on resume is a conflict.
grep -a -q '^clip-grad=0.0500000007$' "$TMP/t1.ckpt" &&
    ok "the checkpoint names clip-grad" ||
    bad "no clip-grad line: $(grep -a '^clip' "$TMP/t1.ckpt")"
expect_exit 2 "option '--clip-grad': 1 conflicts with the checkpoint" -- \
    --data "$D" -e 3 --clip-grad 1 --resume "$TMP/t1.ckpt"
# A resumed clipped run continues exactly (a constant rate: a schedule
# spans --epochs), checkpoint bytes included.
ropts=(--data "$D" --hidden 24 --optimizer adam --lr 0.01 -b 40
       --micro 10 --parallel batch --clip-grad 0.05)
"$MLPTRAIN" "${ropts[@]}" -e 3 -t 1 --save "$TMP/f3.ckpt" >"$TMP/f3" \
    2>"$TMP/err" &&
    "$MLPTRAIN" "${ropts[@]}" -e 3 --until 2 -t 2 --save "$TMP/r.ckpt" \
        >/dev/null 2>>"$TMP/err" &&
    "$MLPTRAIN" --data "$D" -e 3 -t 3 --resume "$TMP/r.ckpt" >"$TMP/r3" \
        2>>"$TMP/err" &&
    [ -n "$(figures "$TMP/r3")" ] &&
    [ "$(figures "$TMP/r3")" = "$(figures "$TMP/f3" | tail -n 1)" ] &&
    cmp -s "$TMP/f3.ckpt" "$TMP/r.ckpt" &&
    ok "a paused clipped run resumes exactly (figures and checkpoint bytes)" ||
    bad "resume: $(figures "$TMP/r3") / $(figures "$TMP/f3") $(cat "$TMP/err")"

# A checkpoint of the mlptrain before --clip-grad (tests/data, written on
# mkdata's 64 32 4 4 3 with these options, 1 epoch) resumes as that
# mlptrain's straight run: the figures of its epochs 2 and 3.
D1="$TMP/d1"
mkdir "$D1"
"$MKDATA" "$D1" 64 32 4 4 3 || bad "mkdata"
cp "${srcdir:-.}/tests/data/v3-before-clip.ckpt" "$TMP/old.ckpt"
"$MLPTRAIN" --data "$D1" --hidden 8 --momentum 0.9 --lr 0.5 -b 16 -j 0 \
    -t 1 -e 3 >"$TMP/old3" 2>"$TMP/err" &&
    "$MLPTRAIN" --data "$D1" -j 0 -t 1 -e 3 --resume "$TMP/old.ckpt" \
        >"$TMP/oldr" 2>>"$TMP/err" &&
    [ -n "$(figures "$TMP/oldr")" ] &&
    [ "$(figures "$TMP/oldr")" = "$(figures "$TMP/old3" | tail -n 2)" ] &&
    [ "$(figures "$TMP/old3" | tail -n 2 | cut -c1-60)" = \
      "$(printf '%s\n' \
         'epoch  2  loss 1.0723  train acc 0.4062  test acc 0.2500' \
         'epoch  3  loss 0.9644  train acc 0.5938  test acc 0.6250')" ] &&
    grep -a -q '^clip-grad=0$' "$TMP/old.ckpt" &&
    ok "a checkpoint from before --clip-grad resumes as it did (clip-grad=0)" ||
    bad "old checkpoint: $(figures "$TMP/oldr") / $(figures "$TMP/old3") $(cat "$TMP/err")"

# A sweep key; its default keeps the run id of a run without it.
S="$TMP/sw"
"$MLPTRAIN" sweep --grid 'clip-grad=0,0.05' --no-plots --dir "$S" -P 1 -t 1 \
    -- --data "$D" --hidden 8 -e 1 -b 40 >"$TMP/sw.out" 2>"$TMP/err" &&
    head -1 "$S/results.csv" | grep -q '^rank,run,clip-grad,status,' &&
    [ "$(grep -c ',ok,1,' "$S/results.csv")" -eq 2 ] &&
    ok "sweep --grid 'clip-grad=0,0.05': two runs" ||
    bad "sweep: $(cat "$TMP/err" "$S/results.csv")"
S2="$TMP/sw2"
"$MLPTRAIN" sweep --grid 'lr=0.1' --no-plots --dir "$S2" -P 1 -t 1 \
    -- --data "$D" --hidden 8 -e 1 -b 40 >/dev/null 2>"$TMP/err" &&
    id0=$(grep ',0,ok,' "$S/results.csv" | cut -d, -f2) &&
    [ -n "$id0" ] && [ -e "$S2/$id0.jsonl" ] &&
    ok "clip-grad=0 is the run id of a run without --clip-grad ($id0)" ||
    bad "ids: $(cut -d, -f2,3 "$S/results.csv") / $(ls "$S2") $(cat "$TMP/err")"

expect_exit 2 "option '--clip-grad': '-1' must be >= 0" -- --data "$D" \
    --clip-grad -1
expect_exit 2 "option '--clip-grad': 'inf' is not a number" -- --data "$D" \
    --clip-grad inf

# Under mpirun: the bytes of one process, for 2 and 3 ranks.
if [ "${MLP_HAVE_MPI:-0}" = 1 ] && command -v "${MPIRUN:-mpirun}" >/dev/null
then
    mpi_root=()
    if [ "$(id -u)" = 0 ] && [ -z "${OMPI_ALLOW_RUN_AS_ROOT:-}" ]; then
        mpi_root=(--allow-run-as-root)
    fi
    for np in 2 3; do
        timeout -k 5 60 "${MPIRUN:-mpirun}" "${mpi_root[@]}" \
            --oversubscribe --bind-to none --mca btl self,vader,tcp \
            -np "$np" -x OMP_NUM_THREADS=1 "$MLPTRAIN" "${common[@]}" \
            -b 40 -t 1 --save "$TMP/n$np.ckpt" >"$TMP/n$np.out" \
            2>"$TMP/mpi.err"
        rc=$?
        [ "$rc" -eq 0 ] && [ "$(payload "$TMP/n$np.ckpt")" = "$ref" ] &&
            [ "$(figures "$TMP/n$np.out")" = "$(figures "$TMP/t1.out")" ] &&
            ok "clipped under mpirun -np $np: the bytes of one process" ||
            bad "mpirun -np $np: exit $rc, $(tail -3 "$TMP/mpi.err")"
    done
else
    echo "(no MPI in this build: the ranks' case not checked)"
fi
finish
