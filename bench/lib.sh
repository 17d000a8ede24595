# bench/lib.sh: what bench/run.sh (`make bench`) and bench/goals.sh
# (`make bench-goals`) share (sourced).  Needs B (the build directory), S
# (the source tree), TMP (a scratch directory), EPOCHS and NCORES.

# median and min..max of the numbers on stdin: "median min max"
stats() { sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s %s %s\n", m, v[1], v[NR]}'; }
# a number field of our JSON-lines records (and PyTorch's): field NAME < lines
jfield() { sed -n "s/.*\"$1\": *\\([-0-9.eE+]*\\).*/\\1/p"; }
# the ratio a / b, to 4 places
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f\n", a / b}'; }

# mrun LOG HIDDEN ARGS...: mlptrain -j 4 for EPOCHS epochs at --hidden
# HIDDEN; its training samples/s.
mrun() {
    local log=$1 hid=$2
    shift 2
    "$B/mlptrain" --hidden "$hid" -j 4 --epochs "$EPOCHS" -q --log "$log" "$@" \
        >/dev/null || return 1
    grep '"type":"end"' "$log" | jfield samples_per_s
}

# PyTorch (Debian's python3-torch): have_torch, and the environment of
# its BLAS (benv: OpenBLAS's pthread build when installed, its AVX-512
# kernels where the CPU has them).
have_torch() { /usr/bin/python3 -c 'import torch' 2>/dev/null; }
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
benv=()
if [ -e "$openblas/libblas.so.3" ]; then
    benv=(LD_LIBRARY_PATH="$openblas")
    grep -q avx512f /proc/cpuinfo && benv+=(OPENBLAS_CORETYPE=SkylakeX)
fi

# tpy LOG HIDDEN TORCH_THREADS BLAS_THREADS ARGS...: one run of
# scripts/reference_torch.py for EPOCHS epochs; its training samples/s.
tpy() {
    local log=$1 hid=$2 tt=$3 bt=$4
    shift 4
    env "${benv[@]}" OPENBLAS_NUM_THREADS="$bt" /usr/bin/python3 \
        "$S/scripts/reference_torch.py" --hidden "$hid" --threads "$tt" \
        --epochs "$EPOCHS" "$@" >"$log" 2>"$TMP/t.err" ||
        { echo "PyTorch --hidden $hid $*: failed: $(tail -2 "$TMP/t.err")" >&2; return 1; }
    grep '"type": "end"' "$log" | jfield samples_per_s
}

# torch_best HIDDEN [VERBOSE]: PyTorch at its best on 784-HIDDEN-10: the
# data in memory, f32 or bf16 autocast, each split of torch's and
# OpenBLAS's threads (1 and all cores, not both 1), one run each; prints
# "TORCH_THREADS BLAS_THREADS AUTOCAST SAMPLES_PER_S" of the fastest (and
# with VERBOSE each configuration's line on stderr).
torch_best() {
    local hid=$1 verbose=${2:-} best=0 bestargs= ac split sps
    for ac in off bf16; do
        for split in "1 $NCORES" "$NCORES 1" "$NCORES $NCORES"; do
            set -- $split
            sps=$(tpy "$TMP/s.log" "$hid" "$1" "$2" --in-memory --autocast "$ac") || continue
            [ -n "$verbose" ] && printf "%-14s %-26s %10.0f\n" \
                "$([ "$ac" = off ] && echo f32 || echo bf16-autocast)" "$1, $2" "$sps" >&2
            if awk -v a="$sps" -v b="$best" 'BEGIN { exit !(a > b) }'; then
                best=$sps bestargs="$1 $2 $ac"
            fi
        done
    done
    [ -n "$bestargs" ] || return 1
    echo "$bestargs $best"
}

# torch_name TORCH_THREADS BLAS_THREADS AUTOCAST: a configuration's name.
torch_name() {
    echo "PyTorch in memory, $([ "$3" = off ] && echo f32 || echo bf16 autocast), threads $1+$2"
}
