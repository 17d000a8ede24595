#!/bin/bash
# End-to-end: `mpirun -np R mlptrain sweep` (issue 23): rank 0 schedules,
# ranks 1..R-1 train.  A synchronous halving on 3 ranks (2 workers) and on
# 2 ranks (1 worker) gives the promotions and figures of -P 2 in one
# process; the jobs ran on the workers; the runs are not MPI ranks (no
# "ranks" in their logs).  Skipped (77) without MPI.  Every mpirun runs
# under `timeout`.
. "${srcdir:-.}/tests/lib.sh"

need_mpi
D="$TMP/data"
make_data "$D" 1700 300 4 4 10 gz
args=(sweep --search halving --space 'lr=loguniform(1e-3,0.3) hidden=choice(8,16,32)'
      --samples 9 --no-plots)
fixed=(-- --data "$D" -e 9 -b 20 -j 1 --val 300 --optimizer adam
       --schedule cosine)

"$MLPTRAIN" "${args[@]}" -P 2 -t 2 --dir "$TMP/p2" "${fixed[@]}" >/dev/null 2>"$TMP/err" ||
    bad "-P 2: $(cat "$TMP/err")"
for np in 3 2; do
    timeout -k 5 120 "$MPIRUN" "${mpi_root[@]}" --oversubscribe --bind-to none \
        --mca btl self,tcp -np $np -x OMP_NUM_THREADS=1 \
        "$MLPTRAIN" "${args[@]}" -t 1 --dir "$TMP/np$np" "${fixed[@]}" \
        >"$TMP/np$np.out" 2>"$TMP/np$np.err"
    rc=$?
    [ "$rc" -eq 0 ] && grep -q 'at once on each worker rank' "$TMP/np$np.err" &&
        ok "mpirun -np $np sweep: exit 0" || bad "-np $np: exit $rc: $(tail -5 "$TMP/np$np.err")"
    [ "$(csv_figures "$TMP/p2/results.csv")" = "$(csv_figures "$TMP/np$np/results.csv")" ] &&
        ok "-np $np: the promotions and figures of -P 2" ||
        bad "-np $np differs: $(diff <(csv_figures "$TMP/p2/results.csv") <(csv_figures "$TMP/np$np/results.csv"))"
    ranks=$(grep '"type":"start"' "$TMP/np$np/journal.jsonl" | grep -o '"rank":[0-9]*' | sort -u | tr '\n' ' ')
    want=$([ $np = 3 ] && echo '"rank":1 "rank":2 ' || echo '"rank":1 ')
    [ "$ranks" = "$want" ] && ok "-np $np: the jobs ran on the workers ($ranks)" ||
        bad "-np $np: jobs on $ranks"
    ! grep -q '"ranks"' "$TMP/np$np"/run-*.jsonl &&
        ok "-np $np: the runs are single processes, not ranks" || bad "a run took itself for a rank"
    [ "$(grep -c '^best: ' "$TMP/np$np.out")" -eq 1 ] &&
        ok "-np $np: one table, from rank 0" || bad "-np $np: $(cat "$TMP/np$np.out")"
done
# A second mpirun on the same finished sweep trains nothing.
timeout -k 5 60 "$MPIRUN" "${mpi_root[@]}" --oversubscribe --bind-to none \
    --mca btl self,tcp -np 3 "$MLPTRAIN" "${args[@]}" -t 1 --dir "$TMP/np3" "${fixed[@]}" \
    >/dev/null 2>"$TMP/again.err"
rc=$?
[ "$rc" -eq 0 ] && ! grep -q '^start \|^resume ' "$TMP/again.err" &&
    ok "-np 3 again: nothing to train" || bad "again: $rc: $(cat "$TMP/again.err")"
# Shards are for processes started by hand, not ranks.
timeout -k 5 60 "$MPIRUN" "${mpi_root[@]}" --oversubscribe --bind-to none \
    --mca btl self,tcp -np 2 "$MLPTRAIN" sweep --grid 'lr=0.1' --shard 1/2 \
    --dir "$TMP/x" >/dev/null 2>"$TMP/err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "under mpirun the ranks share it already" "$TMP/err" &&
    [ "$(grep -c "^mlptrain: option '--shard'" "$TMP/err")" -eq 1 ] &&
    ok "--shard under mpirun: exit 2, said once" || bad "--shard under mpirun: $rc: $(cat "$TMP/err")"

finish
