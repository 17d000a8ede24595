#!/bin/bash
# End-to-end: training under mpirun (issues 13, 24).  The micro-batches of
# each batch are split across the ranks and summed in fold.h's tree, so
# `mpirun -np R mlptrain -t 1` trains the same bytes as one process with
# -t 2, -t 1, and --accum 2 of half the batch at the same partition;
# losses and accuracies (train, val, test) are the same digits.  A
# checkpoint written by R ranks resumes in one process and the other way
# round; SIGINT to one rank stops every rank at the same batch (exit 130,
# one checkpoint, resumable); only rank 0 writes the log; an error on one
# rank ends the job instead of hanging it; other commands refuse R > 1.
# The same bytes in bf16.
# Skipped (77) without MPI.  Every mpirun runs under `timeout`.
. "${srcdir:-.}/tests/lib.sh"

need_mpi
# mpi NP BTL ARGS...: mlptrain on NP ranks (stdout, stderr: $TMP/mpi.out,
# $TMP/mpi.err); its exit code.
mpi() {
    local np=$1 btl=$2
    shift 2
    timeout -k 5 "$PATIENCE" "$MPIRUN" "${mpi_root[@]}" --oversubscribe --bind-to none \
        --mca btl "$btl" -np "$np" -x OMP_NUM_THREADS=1 "$@" \
        >"$TMP/mpi.out" 2>"$TMP/mpi.err"
}

D="$TMP/data"
make_data "$D" 590 120 8 8 4 3
# 590 rows = 14 x 40 + 30: the last batch is short (3 micro-batches: with
# 2 ranks 2 + 1, with 3 ranks 1 each); the 60 validation rows and 120
# test rows are split the same way.
common=(--data "$D" --hidden 24 -e 2 --dropout 0.2 --input-dropout 0.1
        --optimizer adam --lr 0.01 --schedule cosine --val 60
        --parallel batch --micro 10)

# The parameters and optimizer state of a checkpoint (tests/e2e_parallel).
payload() {
    n=$(od -A n -t u8 -j 256 -N 8 "$1" | tr -d ' ')
    tail -c +$((264 + n + 1)) "$1" | head -c -4 | md5sum | cut -d' ' -f1
}
one() { # name args...: one process
    local name=$1
    shift
    "$MLPTRAIN" "${common[@]}" --save "$TMP/$name.ckpt" "$@" \
        >"$TMP/$name.out" 2>"$TMP/err" || bad "$name: $(cat "$TMP/err")"
}
one t1 -b 40 -t 1
one t2 -b 40 -t 2
one acc -b 20 --accum 2 -t 1
ref=$(payload "$TMP/t1.ckpt")
[ -n "$(figures "$TMP/t1.out")" ] || bad "no epoch lines: $(cat "$TMP/t1.out")"

# same NAME: the run's checkpoint payload and figures are t1's.
same() {
    if [ "$(payload "$TMP/$1.ckpt")" = "$ref" ] &&
       [ "$(figures "$TMP/$1.out")" = "$(figures "$TMP/t1.out")" ]; then
        return 0
    fi
    echo "$1: $(figures "$TMP/$1.out") vs $(figures "$TMP/t1.out")"
    return 1
}
same t2 && same acc && ok "one process: -t 1, -t 2, --accum 2 agree" ||
    bad "one process: -t 1, -t 2, --accum 2 differ"

# ranks NAME NP BTL ARGS...
ranks() {
    local name=$1 np=$2 btl=$3
    shift 3
    mpi "$np" "$btl" "$MLPTRAIN" "${common[@]}" --save "$TMP/$name.ckpt" \
        "$@"
    local rc=$?
    cp "$TMP/mpi.out" "$TMP/$name.out"
    [ "$rc" -eq 0 ] || bad "$name: mpirun -np $np exit $rc: $(tail -5 "$TMP/mpi.err")"
}
ranks n2 2 self,vader -b 40 -t 1 --log "$TMP/n2.log"
same n2 && ok "-np 2 -t 1 (vader): the bytes and digits of one process" ||
    bad "-np 2 -t 1 (vader) differs from one process"
ranks n3 3 tcp,self -b 40 -t 1
same n3 && ok "-np 3 -t 1 (tcp): the bytes and digits of one process" ||
    bad "-np 3 -t 1 (tcp) differs"
ranks n2acc 2 tcp,self -b 20 --accum 2 -t 2
same n2acc && ok "-np 2 -t 2 --accum 2 -b 20 (tcp): the same" ||
    bad "-np 2 --accum 2 differs"
# issue 24: each rank count on each transport, other -t and -j
ranks n2t 2 tcp,self -b 40 -t 2 -j 3
same n2t && ok "-np 2 -t 2 -j 3 (tcp): the same" ||
    bad "-np 2 -t 2 -j 3 (tcp) differs"
ranks n3v 3 self,vader -b 40 -t 1 -j 1
same n3v && ok "-np 3 -t 1 -j 1 (vader): the same" ||
    bad "-np 3 -t 1 -j 1 (vader) differs"
# MPI granting only FUNNELED: no communication thread, the reductions on
# the caller after the backward (dist.h's test hook): the same bytes.
MLPTRAIN_TEST_MPI_THREAD=funneled ranks nf 2 tcp,self -b 40 -t 2
same nf && grep -q '^ *their sums follow the backward (MPI allows no communication thread' "$TMP/nf.out" &&
    ok "-np 2 (tcp) with MPI_THREAD_FUNNELED only: the same, and the header says why" ||
    bad "-np 2 FUNNELED differs: $(cat "$TMP/nf.out")"
# The communication thread runs where it has a core of its own (dist.h:
# 2 ranks of -t 1 need 4 cores when not bound); the test hook starts it
# anyway: the same bytes with and without it, and the header says which.
if [ $((2 * 2)) -le "$(nproc)" ]; then
    want="overlap the backward"
else
    want="follow the backward"
fi
grep -q "^ *their sums $want" "$TMP/n2.out" &&
    ok "-np 2 -t 1 on $(nproc) cores: the sums $want" ||
    bad "-np 2 -t 1 on $(nproc) cores: not '$want': $(cat "$TMP/n2.out")"
MLPTRAIN_TEST_MPI_THREAD=serialized ranks ns2 2 tcp,self -b 40 -t 2
MLPTRAIN_TEST_MPI_THREAD=serialized ranks ns3 3 self,vader -b 20 --accum 2 -t 1
same ns2 && same ns3 &&
    grep -q '^ *their sums overlap the backward' "$TMP/ns2.out" &&
    ok "-np 2 (tcp) and -np 3 --accum 2 (vader) with the communication thread: the same" ||
    bad "the communication thread changes the bytes: $(cat "$TMP/ns2.out")"

# --clip-grad: the norm of the summed gradient, exact (fold.h), so the
# ranks clip as one process does.
one c1 -b 40 -t 1 --clip-grad 0.05
cref=$(payload "$TMP/c1.ckpt")
[ "$cref" != "$ref" ] || bad "--clip-grad 0.05 did not clip"
csame() {
    [ "$(payload "$TMP/$1.ckpt")" = "$cref" ] &&
        [ "$(figures "$TMP/$1.out")" = "$(figures "$TMP/c1.out")" ]
}
ranks c2 2 tcp,self -b 40 -t 2 --clip-grad 0.05
ranks c3 3 self,vader -b 20 --accum 2 -t 1 --clip-grad 0.05
csame c2 && csame c3 &&
    ok "--clip-grad: -np 2 (tcp) and -np 3 --accum 2 (vader) clip as one process" ||
    bad "--clip-grad under ranks differs from one process"

# bf16: 2 and 3 ranks train one process's bf16 bytes and digits (and auto
# agrees across the ranks: each calibrates, all take bf16 or none).
if bf16_here "$D"; then
    one b1 -b 40 -t 1 --precision bf16
    bref=$(payload "$TMP/b1.ckpt")
    [ "$bref" != "$ref" ] || bad "bf16 trained f32's bytes"
    bsame() {
        [ "$(payload "$TMP/$1.ckpt")" = "$bref" ] &&
            [ "$(figures "$TMP/$1.out")" = "$(figures "$TMP/b1.out")" ]
    }
    ranks b2 2 self,vader -b 40 -t 1 --precision bf16
    ranks b3 3 tcp,self -b 20 --accum 2 -t 1 --precision bf16
    ranks b2t 2 tcp,self -b 40 -t 2 --precision bf16
    ranks b3v 3 self,vader -b 40 -t 1 --precision bf16
    MLPTRAIN_TEST_MPI_THREAD=serialized ranks b2s 2 tcp,self -b 40 -t 1 --precision bf16
    bsame b2 && bsame b3 && bsame b2t && bsame b3v && bsame b2s &&
        ok "bf16: -np 2 and -np 3 (vader, tcp, --accum 2, the thread) train one process's bytes" ||
        bad "bf16 under ranks differs from one process"
    one bc1 -b 40 -t 1 --precision bf16 --clip-grad 0.05
    ranks bc2 2 tcp,self -b 40 -t 1 --precision bf16 --clip-grad 0.05
    [ "$(payload "$TMP/bc2.ckpt")" = "$(payload "$TMP/bc1.ckpt")" ] &&
        [ "$(payload "$TMP/bc1.ckpt")" != "$bref" ] &&
        ok "bf16 --clip-grad: -np 2 (tcp) clips as one process" ||
        bad "bf16 --clip-grad under 2 ranks differs from one process"
    ranks ba 2 self,vader -b 40 -t 1 --precision auto
    [ "$(grep -c '^step .*(auto: ' "$TMP/ba.out")" = 1 ] &&
        grep -a -q '^precision=\(bf16\|f32\)$' "$TMP/ba.ckpt" &&
        ok "bf16: auto under 2 ranks chooses once, for all" ||
        bad "auto under ranks: $(cat "$TMP/ba.out")"
fi

# Only rank 0 prints and logs: one header, one run record with the ranks
# and the reduction's figures.
[ "$(grep -c '^ranks    2 MPI' "$TMP/n2.out")" = 1 ] &&
    [ "$(grep -c '"type":"run"' "$TMP/n2.log")" = 1 ] &&
    grep -q '"ranks":2' "$TMP/n2.log" &&
    grep '"type":"epoch"' "$TMP/n2.log" | grep -q '"reduce_bytes_per_step":[1-9]' &&
    grep '"type":"epoch"' "$TMP/n2.log" | grep -q '"reduce_seconds":' &&
    ok "rank 0 alone reports and logs (ranks, reduction bytes and seconds)" ||
    bad "report/log under 2 ranks: $(cat "$TMP/n2.out" "$TMP/n2.log")"

# Resume across rank counts at an epoch's end (a constant rate).
ropts=(--data "$D" --hidden 24 --optimizer adam --lr 0.01 --val 60
       --parallel batch --micro 10 -b 40)
"$MLPTRAIN" "${ropts[@]}" -e 3 -t 1 --save "$TMP/f3.ckpt" >"$TMP/f3" \
    2>"$TMP/err" || bad "f3: $(cat "$TMP/err")"
mpi 2 self,vader "$MLPTRAIN" "${ropts[@]}" -e 2 -t 1 --save "$TMP/r2.ckpt" ||
    bad "r2: $(cat "$TMP/mpi.err")"
"$MLPTRAIN" --data "$D" -e 3 -t 2 --resume "$TMP/r2.ckpt" >"$TMP/r3" \
    2>"$TMP/err" || bad "r3: $(cat "$TMP/err")"
[ "$(payload "$TMP/r2.ckpt")" = "$(payload "$TMP/f3.ckpt")" ] &&
    [ "$(figures "$TMP/r3")" = "$(figures "$TMP/f3" | tail -n 1)" ] &&
    ok "a checkpoint of 2 ranks resumes in one process exactly" ||
    bad "2 ranks -> 1 process: $(figures "$TMP/r3") / $(figures "$TMP/f3")"
"$MLPTRAIN" "${ropts[@]}" -e 2 -t 1 --save "$TMP/s2.ckpt" >/dev/null \
    2>"$TMP/err" || bad "s2: $(cat "$TMP/err")"
mpi 3 self,vader "$MLPTRAIN" --data "$D" -e 3 -t 1 --resume "$TMP/s2.ckpt" ||
    bad "s3: $(cat "$TMP/mpi.err")"
[ "$(payload "$TMP/s2.ckpt")" = "$(payload "$TMP/f3.ckpt")" ] &&
    [ "$(figures "$TMP/mpi.out")" = "$(figures "$TMP/f3" | tail -n 1)" ] &&
    ok "a checkpoint of one process resumes on 3 ranks exactly" ||
    bad "1 process -> 3 ranks: $(figures "$TMP/mpi.out") / $(figures "$TMP/f3")"

# SIGINT to rank 1 alone, mid-run: every rank stops at the same batch and
# exits 130, rank 0 writes one checkpoint, which resumes (in one process)
# to the uninterrupted run's bytes.  Each rank runs under a shell that
# notes its pid and exit code.
iopts=(--data "$D" --hidden 64 --optimizer adam --lr 0.01 --parallel batch
       --micro 10 -b 40 -e 150)
"$MLPTRAIN" "${iopts[@]}" -t 1 --save "$TMP/full.ckpt" >"$TMP/full" \
    2>"$TMP/err" || bad "full: $(cat "$TMP/err")"
cat >"$TMP/rank.sh" <<'SH'
#!/bin/sh
"$@" &
echo $! >"$RANKDIR/pid.$OMPI_COMM_WORLD_RANK"
wait $!
echo $? >"$RANKDIR/rc.$OMPI_COMM_WORLD_RANK"
SH
chmod +x "$TMP/rank.sh"
mkdir "$TMP/ranks"
mpi 2 tcp,self -x RANKDIR="$TMP/ranks" "$TMP/rank.sh" "$MLPTRAIN" \
    "${iopts[@]}" -t 1 --save "$TMP/int.ckpt" --log "$TMP/int.log" &
mpid=$!
two_epochs() {
    [ -s "$TMP/ranks/pid.1" ] && [ -s "$TMP/int.log" ] &&
        [ "$(grep -c '"type":"epoch"' "$TMP/int.log")" -ge 2 ]
}
wait_until two_epochs || bad "SIGINT to rank 1: no 2 epochs logged: $(cat "$TMP/mpi.err")"
kill -INT "$(cat "$TMP/ranks/pid.1")"
wait $mpid
if [ "$(cat "$TMP/ranks/rc.0" 2>/dev/null)" = 130 ] &&
   [ "$(cat "$TMP/ranks/rc.1" 2>/dev/null)" = 130 ] &&
   grep -q "interrupted in epoch .*; saved '$TMP/int.ckpt'" "$TMP/mpi.err" &&
   [ "$(grep -c "interrupted in epoch" "$TMP/mpi.err")" = 1 ]; then
    ok "SIGINT to rank 1: both ranks exit 130, rank 0 saves once"
else
    bad "SIGINT to rank 1: rc $(cat "$TMP"/ranks/rc.* 2>/dev/null | tr '\n' ' ') $(cat "$TMP/mpi.err")"
fi
grep -q '"status":"interrupted"' "$TMP/int.log" ||
    bad "the log lacks the interrupted end"
"$MLPTRAIN" --data "$D" -t 2 -e 150 --resume "$TMP/int.ckpt" >"$TMP/ires" \
    2>"$TMP/err" || bad "resume after SIGINT: $(cat "$TMP/err")"
[ "$(payload "$TMP/int.ckpt")" = "$(payload "$TMP/full.ckpt")" ] &&
    ok "the interrupted 2-rank run resumes to the uninterrupted bytes" ||
    bad "resume after SIGINT differs from the uninterrupted run"

# An error on one rank (its data is damaged) ends the job: no hang.
B="$TMP/bad"
cp -r "$D" "$B"
for f in "$B"/train-images*; do head -c 100 "$f" >"$f.t" && mv "$f.t" "$f"; done
cat >"$TMP/split.sh" <<SH
#!/bin/sh
if [ "\$OMPI_COMM_WORLD_RANK" = 1 ]; then
    exec "$MLPTRAIN" --data "$B" -t 1 -e 2
fi
exec "$MLPTRAIN" --data "$D" -t 1 -e 2
SH
chmod +x "$TMP/split.sh"
mpi 2 self,vader "$TMP/split.sh"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] &&
   grep -q "rank 1: " "$TMP/mpi.err"; then
    ok "an error on rank 1 ends the job (exit $rc)"
else
    bad "an error on rank 1: exit $rc: $(tail -5 "$TMP/mpi.err")"
fi

# Real features (CSV, standard scaling): each rank decodes its rows by the
# affine step; the same checkpoint as one process.
awk 'BEGIN { srand(5); print "a,b,c,d,e,label";
             for (i = 0; i < 230; i++) { k = i % 3; printf "%.6f,%.4f,%.6f,%.5f,%.3f,%s\n",
               rand() + k, 100 * rand(), rand() - 0.2 * k, 3 * rand(), 1000 + rand(),
               substr("xyz", k + 1, 1) } }' >"$TMP/f.csv"
fcommon=(--train "$TMP/f.csv" --test "$TMP/f.csv" --hidden 12 -e 2 -b 24
         --micro 8 --parallel batch --val 30)
"$MLPTRAIN" "${fcommon[@]}" -t 2 -q --save "$TMP/f1.ckpt" >/dev/null 2>"$TMP/err" ||
    bad "features, one process: $(cat "$TMP/err")"
mpi 2 tcp,self "$MLPTRAIN" "${fcommon[@]}" -t 1 -q --save "$TMP/f2.ckpt"
rc=$?
[ "$rc" -eq 0 ] && cmp -s "$TMP/f1.ckpt" "$TMP/f2.ckpt" &&
    ok "CSV features: -np 2 writes one process's checkpoint, byte for byte" ||
    bad "CSV features under 2 ranks: exit $rc, $(cmp "$TMP/f1.ckpt" "$TMP/f2.ckpt" 2>&1) $(tail -3 "$TMP/mpi.err")"

# ---- issue 20: the ranks agree before the first step -------------------------
# Two programs in one job (MPMD): rank 0 runs A, rank 1 runs B.  Each case
# ends at once with exit CODE and a message of rank 0 naming the rank and
# what differs; before, another --limit-train or --epochs hung in a
# collective forever, and another --lr or --seed ended "ok" with a model
# of neither run.  Every job runs under `timeout`: 124 or 137 is a hang.
mpmd() { # CODE PATTERN NAME -- A... -- B...
    local want=$1 pat=$2 name=$3 a=() b=()
    shift 4
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    b=("$@")
    rm -f "$TMP/mpmd.ckpt"
    timeout -k 5 60 "$MPIRUN" "${mpi_root[@]}" --oversubscribe --bind-to none \
        --mca btl self,vader -x OMP_NUM_THREADS=1 \
        -np 1 "$MLPTRAIN" "${a[@]}" : -np 1 "$MLPTRAIN" "${b[@]}" \
        >"$TMP/mpi.out" 2>"$TMP/mpi.err"
    local rc=$?
    if [ "$rc" -eq "$want" ] && grep -q -- "$pat" "$TMP/mpi.err" &&
       [ ! -e "$TMP/mpmd.ckpt" ]; then
        ok "$name: exit $rc, '$pat'"
    else
        bad "$name: exit $rc (want $want, 124/137: a hang), $(head -3 "$TMP/mpi.err")"
    fi
}
ag=(--data "$D" --hidden 16 -e 2 -t 1 -b 40 --save "$TMP/mpmd.ckpt")
mpmd 2 "rank 1 disagrees with rank 0: option '--limit-train' is 500 on rank 1 and all on rank 0" \
    "another --limit-train (hung)" -- "${ag[@]}" -- "${ag[@]}" --limit-train 500
mpmd 2 "rank 1 disagrees with rank 0: option '--epochs' is 3 on rank 1 and 2 on rank 0" \
    "another --epochs (hung)" -- "${ag[@]}" -- "${ag[@]}" -e 3
mpmd 2 "rank 1 disagrees with rank 0: option '--lr' is 0.2 on rank 1 and 0.1 on rank 0" \
    "another --lr (a silent mix)" -- "${ag[@]}" -- "${ag[@]}" --lr 0.2
mpmd 2 "option '--seed' is 2 on rank 1 and 1 on rank 0" \
    "another --seed (a silent mix)" -- "${ag[@]}" -- "${ag[@]}" --seed 2
mpmd 2 "option '--optimizer' is adam on rank 1 and sgd on rank 0" \
    "another --optimizer" -- "${ag[@]}" -- "${ag[@]}" --optimizer adam
mpmd 2 "option '--dropout' is 0.5 on rank 1 and 0 on rank 0" \
    "another --dropout" -- "${ag[@]}" -- "${ag[@]}" --dropout 0.5
mpmd 2 "option '--limit-test' is 100 on rank 1 and all on rank 0" \
    "another --limit-test" -- "${ag[@]}" -- "${ag[@]}" --limit-test 100
# The same shapes and sizes, one pixel other: the data's checksums differ.
O="$TMP/other" P="$TMP/pixel"
mkdir "$O" "$P"
for f in "$D"/*.gz; do
    b=$(basename "$f" .gz)
    gzip -dc "$f" >"$O/$b"
    cp "$O/$b" "$P/$b"
done
printf '\377' | dd of="$P/train-images-idx3-ubyte" bs=1 seek=1000 \
    conv=notrunc status=none
mpmd 1 "rank 1 disagrees with rank 0: data file 0 is [0-9]* bytes, crc32" \
    "other data of the same shape" -- "${ag[@]}" --data "$O" -- \
    "${ag[@]}" --data "$P"
# Every format's files are summed, whatever part of them is read: CSV
# files alike but for a byte in the last row, which --limit-train 100
# never parses, are other data.
sed '$ s/^./9/' "$TMP/f.csv" >"$TMP/g.csv"
cg=(--hidden 8 -e 1 -t 1 -b 24 --limit-train 100 --save "$TMP/mpmd.ckpt")
mpmd 1 "rank 1 disagrees with rank 0: data file 0 is [0-9]* bytes, crc32" \
    "other CSV files, past the rows read" -- \
    --train "$TMP/f.csv" --test "$TMP/f.csv" "${cg[@]}" -- \
    --train "$TMP/g.csv" --test "$TMP/f.csv" "${cg[@]}"
# A rank that fails before the agreement (bad usage on rank 1 alone; a
# checkpoint rank 0 cannot read) takes part with its failure.
mpmd 2 "rank 1: option '--beta1' needs --optimizer adam or adamw" \
    "bad usage on rank 1 alone" -- "${ag[@]}" -- "${ag[@]}" --beta1 0.5
mpmd 1 "cannot open '$TMP/none.ckpt'" "no checkpoint on rank 0 alone" -- \
    --data "$D" -e 3 -t 1 --resume "$TMP/none.ckpt" -- "${ag[@]}" -e 3
mpmd 2 "rank 1 ends without training" "--help on rank 1 alone" -- \
    "${ag[@]}" -- --help
# The same options on both: one model, as before.
timeout -k 5 60 "$MPIRUN" "${mpi_root[@]}" --oversubscribe --bind-to none \
    --mca btl self,vader -x OMP_NUM_THREADS=1 -np 1 "$MLPTRAIN" "${ag[@]}" : \
    -np 1 "$MLPTRAIN" "${ag[@]}" -j 0 >"$TMP/mpi.out" 2>"$TMP/mpi.err" &&
    [ -s "$TMP/mpmd.ckpt" ] &&
    ok "two programs with the same options (and another -j) train" ||
    bad "agreeing ranks: $(head -3 "$TMP/mpi.err")"

# Other commands refuse several ranks.
mpi 2 self,vader "$MLPTRAIN" eval --help
rc=$?
[ "$rc" -eq 2 ] && grep -q "eval runs in one process" "$TMP/mpi.err" &&
    [ "$(grep -c 'runs in one process' "$TMP/mpi.err")" = 1 ] &&
    ok "eval under 2 ranks: a usage error from rank 0" ||
    bad "eval under 2 ranks: exit $rc: $(cat "$TMP/mpi.err")"
finish
