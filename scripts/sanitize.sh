#!/bin/bash
# Run the tests under the sanitizers, each build in its own directory:
#
# Both build without MPI (--without-mpi: see configure_and_build).
#
#   asan   ./configure --enable-sanitizers (AddressSanitizer with
#          LeakSanitizer, and UndefinedBehaviorSanitizer), `make check`:
#          every Check suite and every end-to-end script.
#   tsan   ./configure --enable-tsan, the suites with threads: ring, step,
#          loader, augment and the three trainer suites.  libgomp and oneDNN are not built with TSan,
#          so an OpenMP team's hand-offs would look like races: the trainer
#          suite runs with one compute thread (MLP_TEST_THREADS=1), which
#          keeps every loader thread under TSan's eye.  No suppressions.
#
# Every sanitizer report goes to a file (log_path) as well as failing the
# process, so a report from a run whose exit code a test expects to be
# non-zero is not lost: any report file fails the script.
#
# Usage: scripts/sanitize.sh [asan] [tsan]   (default: both)
# Each run builds the checkout it was started from, never an earlier build:
# the files git tracks (as they are in the working tree, uncommitted edits
# and new unignored files included) are copied into a fresh directory made
# by mktemp under ${TMPDIR:-/tmp}, autoreconf'd and configured there, so the
# build cannot pick up a build configured from another tree, and the source
# tree itself may be configured in place (as .ci/run does).  The directory
# is removed at the end; SANITIZE_KEEP=1 keeps it (its path is printed).
# `make -j$JOBS` (default 2).  Needs the tools ./bootstrap installs.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-2}
[ $# -gt 0 ] || set -- asan tsan
for which in "$@"; do
    case $which in
    asan|tsan) ;;
    *) echo "usage: scripts/sanitize.sh [asan] [tsan]" >&2; exit 2 ;;
    esac
done

root=$(mktemp -d "${TMPDIR:-/tmp}/mlptrain-sanitize.XXXXXX") ||
    { echo "sanitize: cannot make a build directory" >&2; exit 1; }
if [ "${SANITIZE_KEEP:-0}" = 1 ]; then
    echo "sanitize: builds kept in $root"
else
    trap 'rm -rf "$root"' EXIT
fi

# copy_tree DEST: the checkout's source files, without any build products.
copy_tree() {
    mkdir -p "$1" || return 1
    if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$src" &&
         git ls-files -z --cached --others --exclude-standard |
         while IFS= read -r -d '' f; do
             [ -e "$f" ] && printf '%s\0' "$f"
         done | tar --null -T - -cf -) | tar -xf - -C "$1" || return 1
        # The binary's version string names the checkout, not "unknown".
        (cd "$src" && git describe --always --dirty 2>/dev/null) \
            >"$1/.sanitize-version" || true
    else
        # A release tarball: copy it and drop any in-place build.
        cp -a "$src/." "$1/" || return 1
        if [ -f "$1/Makefile" ]; then
            (cd "$1" && make -s distclean >/dev/null 2>&1) || true
        fi
    fi
}

# configure_and_build NAME CONFIGURE-FLAG: a fresh copy of the tree,
# configured and built in $root/NAME.
configure_and_build() {
    local dir=$root/$1
    copy_tree "$dir" && cd "$dir" || return 1
    autoreconf -fi >autoreconf.log 2>&1 || { cat autoreconf.log; return 1; }
    # Without MPI: Open MPI's own allocations and threads are not ours to
    # check (LeakSanitizer and TSan report inside libmpi), and dist.c's
    # 1-rank case is what the suites test; tests/e2e_mpi.sh then skips.
    ./configure -q "$2" --without-mpi || return 1
    make -j"$jobs" >make.log 2>&1 || { cat make.log; return 1; }
}

# reports DIR: print and count sanitizer report files.
reports() {
    local n=0 f
    for f in "$1"/report.*; do
        [ -e "$f" ] || continue
        echo "=== $f"
        cat "$f"
        n=$((n + 1))
    done
    return "$n"
}

status=0
for which in "$@"; do
    case $which in
    asan)
        echo "sanitize: ASan+UBSan make check in $root/asan"
        configure_and_build asan --enable-sanitizers || { status=1; continue; }
        rep=$root/asan/reports
        rm -rf "$rep" && mkdir -p "$rep"
        # exitcode: not 1, which the error tests expect from mlptrain.
        ASAN_OPTIONS="detect_leaks=1:exitcode=86:log_path=$rep/report" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$rep/report" \
            make -j"$jobs" check >check.log 2>&1
        rc=$?
        grep -E '^(PASS|FAIL|ERROR|XPASS)' check.log
        if [ "$rc" -ne 0 ]; then
            status=1
            for log in tests/*.log; do
                grep -q -E '^:test-result: (FAIL|ERROR|XPASS)' "${log%.log}.trs" 2>/dev/null &&
                    { echo "=== $log"; cat "$log"; }
            done
        fi
        reports "$rep" || status=1
        ;;
    tsan)
        echo "sanitize: TSan ring, loader, augment, trainer (3), step in $root/tsan"
        configure_and_build tsan --enable-tsan || { status=1; continue; }
        make -j"$jobs" tests/check_ring tests/check_loader tests/check_augment \
            tests/check_trainer tests/check_trainer_resume \
            tests/check_trainer_val tests/check_step \
            >>make.log 2>&1 || { cat make.log; status=1; continue; }
        rep=$root/tsan/reports
        rm -rf "$rep" && mkdir -p "$rep"
        for t in ring loader augment trainer trainer_resume trainer_val step; do
            if MLP_TEST_THREADS=1 \
               TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$rep/report" \
               tests/check_$t >tests/check_$t.tsan.log 2>&1; then
                echo "PASS: tests/check_$t (tsan)"
            else
                echo "FAIL: tests/check_$t (tsan)"
                cat tests/check_$t.tsan.log
                status=1
            fi
        done
        reports "$rep" || status=1
        ;;
    esac
done
[ "$status" -eq 0 ] && echo "sanitize: clean" || echo "sanitize: FAILED"
exit "$status"
