# Shared helpers of the end-to-end tests (sourced).  $MLPTRAIN is the
# program under test and $MKDATA the generator, both set by `make check`.
set -u
: "${MLPTRAIN:=./mlptrain}"
: "${MKDATA:=tests/mkdata}"
npass=0
nfail=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlptrain-e2e-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() { npass=$((npass + 1)); echo "PASS: $*"; }
bad() { nfail=$((nfail + 1)); echo "FAIL: $*"; }

# expect_exit CODE PATTERN -- ARGS...: run mlptrain, check the exit code and
# that stderr matches the grep pattern.
expect_exit() {
    want=$1 pat=$2
    shift 3
    "$MLPTRAIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    got=$?
    if [ "$got" -ne "$want" ]; then
        bad "mlptrain $*: exit $got, expected $want; stderr: $(cat "$TMP/err")"
    elif ! grep -q -- "$pat" "$TMP/err"; then
        bad "mlptrain $*: stderr lacks '$pat': $(cat "$TMP/err")"
    else
        ok "mlptrain $* -> $want"
    fi
}

# bf16_here DIR: 0 when this machine trains in bf16 (oneDNN has bf16
# inner products here), tried on the data in DIR; else 1, saying why.
bf16_here() {
    if "$MLPTRAIN" --data "$1" -e 1 --limit-train 8 -n 8 --precision bf16 -q \
        >/dev/null 2>"$TMP/bf16.err"; then
        return 0
    fi
    echo "SKIP (bf16): $(head -1 "$TMP/bf16.err")"
    return 1
}

finish() {
    echo "$npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
}

# need_mpi: exit 77 (skip, with the reason) unless this build has MPI and
# mpirun is there; then MPIRUN names it and the array mpi_root holds
# --allow-run-as-root when Open MPI needs it (root without
# OMPI_ALLOW_RUN_AS_ROOT).  For the MPI end-to-end tests.
need_mpi() {
    if [ "${MLP_HAVE_MPI:-0}" != 1 ]; then
        echo "SKIP: built without MPI (install the Debian packages libopenmpi-dev openmpi-bin, then ./configure --with-mpi)"
        exit 77
    fi
    MPIRUN=${MPIRUN:-mpirun}
    if ! command -v "$MPIRUN" >/dev/null; then
        echo "SKIP: MPI is built in but mpirun is missing (install the Debian package openmpi-bin)"
        exit 77
    fi
    mpi_root=()
    if [ "$(id -u)" = 0 ] && [ -z "${OMPI_ALLOW_RUN_AS_ROOT:-}" ]; then
        mpi_root=(--allow-run-as-root)
    fi
}
