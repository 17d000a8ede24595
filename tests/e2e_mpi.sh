#!/bin/bash
# End-to-end: dist's sums across MPI ranks (tests/dist_probe under mpirun):
# 2 and 3 ranks over shared memory (btl vader) and over TCP; each rank
# checks that the step's reducer (reduce.h) has the bits of one process
# summing all the parts in fold.h's tree, the ordered double sum likewise, counts, the stop agreement and
# the broadcast.  Skipped (77) in a build without MPI.  Every mpirun runs
# under `timeout`: a hang fails the test instead of blocking the run.
. "${srcdir:-.}/tests/lib.sh"

need_mpi
: "${DIST_PROBE:=tests/dist_probe}"

# probe NP BTL: run the probe on NP ranks with the given transports.
probe() {
    local np=$1 btl=$2 rc
    timeout -k 5 "$PATIENCE" "$MPIRUN" "${mpi_root[@]}" --oversubscribe --bind-to none \
        --mca btl "$btl" -np "$np" -x OMP_NUM_THREADS=1 \
        "$DIST_PROBE" >"$TMP/out" 2>&1
    rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        bad "dist_probe -np $np --mca btl $btl: timed out (a hang): $(tail -5 "$TMP/out")"
    elif [ "$rc" -ne 0 ]; then
        bad "dist_probe -np $np --mca btl $btl: exit $rc: $(tail -20 "$TMP/out")"
    elif [ "$(grep -c ', 0 failed$' "$TMP/out")" -ne "$np" ]; then
        bad "dist_probe -np $np --mca btl $btl: not every rank passed: $(cat "$TMP/out")"
    else
        ok "dist_probe -np $np --mca btl $btl: $(grep -m1 'checks' "$TMP/out" | sed 's/.*: //')"
    fi
}

probe 2 self,vader
probe 3 self,vader
probe 2 tcp,self
probe 3 tcp,self
finish
