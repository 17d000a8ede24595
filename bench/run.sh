#!/bin/bash
# bench/run.sh: the benchmarks of `make bench`.  Each prints a table, writes
# its figures to $BENCH_RESULTS (bench/results) as CSV and draws a PNG chart
# with gnuplot.  Figures are medians of $BENCH_REPEATS runs (default 5; 3
# for the end-to-end runs), with the spread, and ratios to a baseline
# measured in the same run.
#
#   1. gemm    dnnl_sgemm ceiling: square product and the model's GEMMs;
#              the bf16 ceiling: the same products as bf16 inner products
#   2. step    the training step alone vs that ceiling (bf16 steps vs the
#              bf16 ceiling)
#   3. loader  the loader alone, -j 0 1 2 4 20
#   3b. load   loading --data (as installed, a plain copy, --limit-train
#              1000) against zlib reading the same files whole
#   4. e2e     mlptrain end to end, -j 0 1 2 4 8 20: samples/s, wait, memory
#   5. torch   PyTorch (scripts/reference_torch.py): the reference's
#              DataLoader, and PyTorch at its best (in memory, the best of
#              f32 and bf16 autocast and of the thread splits) against
#              mlptrain f32 and bf16, 784-256-10 and 784-1024-10
#   6. recipe  the best recipe (RECIPE_OPTS) in mlptrain (RECIPE_MLPTRAIN)
#              and in PyTorch at its best, same options and epochs:
#              accuracy and time
#   7. parallel the parallel step (issue 13), default recipe, -t $NCORES:
#              --parallel gemm vs batch vs $NCORES independent -t 1
#              processes side by side (ratios to their sum), and gemm,
#              batch and -t 1 beside one busy single-thread process
#              (ratios to -t 1 there)
#   8. dist    MPI (built with it): the tree's sum across 2 ranks (shared
#              memory, TCP) against MPI_Allreduce and an exact integer sum;
#              the step's overlap of the reduction with the backward (the
#              hidden share) by bucket size, f32 and bf16; the default
#              recipe end to end on 2 one-thread ranks over TCP and shared
#              memory vs one process -t 2, f32 and bf16 (ratios, bytes, the
#              hidden share); one-thread compute per sample; the paper
#              estimate of scaling to 8 and 64 nodes (doc/mpi.md)
#   9. precision the default recipe and 784-1024-10 end to end in f32 and
#              bf16, interleaved: bf16 / f32, and bf16 / the bf16 ceiling
#
# Environment: BUILDDIR (where mlptrain and bench/bench_* are; default .),
# MLPTRAIN_DATA (the dataset), BENCH_EPOCHS (end-to-end epochs, default 3),
# BENCH_SKIP (names of benchmarks to skip, e.g. "torch"), RECIPE_OPTS (the
# options of section 6, given to both programs; see below).
set -u
# The best recipe: options both mlptrain and scripts/reference_torch.py
# take (its epochs included), run by section 6.
RECIPE_OPTS=${RECIPE_OPTS:-"--hidden 1024 --optimizer adamw --lr 0.002 --batch 512 --schedule cosine --warmup 1 --input-dropout 0.1 --label-smoothing 0.1 -e 40 --val 5000"}
# mlptrain's own extra options for it (not PyTorch's).
RECIPE_MLPTRAIN=${RECIPE_MLPTRAIN:-"--precision auto"}
B=${BUILDDIR:-.}
S=$(cd "$(dirname "$0")/.." && pwd)
export BENCH_RESULTS=${BENCH_RESULTS:-$B/bench/results}
EPOCHS=${BENCH_EPOCHS:-3}
REPS=${BENCH_REPEATS:-}
SKIP=${BENCH_SKIP:-}
NCORES=$(nproc)
mkdir -p "$BENCH_RESULTS"
R=$BENCH_RESULTS
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlptrain-bench-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

skip() { case " $SKIP " in *" $1 "*) echo "== $1: skipped (BENCH_SKIP)"; return 0;; esac; return 1; }
# stats, jfield, mrun, tpy, torch_best (PyTorch at its best)
. "$S/bench/lib.sh"
plot() { # plot PNG SCRIPT: a histogram chart of CSV columns
    if command -v gnuplot >/dev/null; then
        { echo "set terminal pngcairo size 900,520 enhanced font ',11'"; echo "set output '$1'"
          echo "set datafile separator ','"
          echo "set style data histograms; set style fill solid 0.8 border -1"; echo "$2"; } |
            gnuplot && echo "chart: $1"
    else
        echo "chart: skipped, gnuplot not installed (Debian package gnuplot-nox)"
    fi
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $NCORES cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
"$B/mlptrain" --version | head -2
echo

if ! skip gemm; then
    echo "== 1. compute ceiling"
    "$B/bench/bench_gemm" || exit 1
    plot "$R/gemm.png" "set title 'dnnl\\_sgemm GFLOP/s (median)'
set boxwidth 0.8
set ylabel 'GFLOP/s'; set xlabel 'threads'; set yrange [0:*]; set grid ytics
set key top left
plot '< grep square $R/gemm.csv' using 3:xtic(2) title 'square 2048', \
     '< grep step $R/gemm.csv' using 3 title '784-256-10 step GEMMs, batch 256'"
    echo
fi

if ! skip step; then
    echo "== 2. training step alone"
    "$B/bench/bench_step" || exit 1
    plot "$R/step.png" "set title 'training step alone ($NCORES threads): samples/s vs the sgemm ceiling of the same GEMMs'
set ylabel 'samples/s'; set yrange [0:*]; set grid ytics; set xtics rotate by -25; set bmargin 7; set rmargin 6
set key top right
plot '$R/step.csv' every ::1 using 4:xtic(sprintf('%s b%s', stringcolumn(1), stringcolumn(2))) title 'mlptrain step', \
     '' every ::1 using 8 title 'dnnl\\_sgemm ceiling'"
    echo
fi

if ! skip loader; then
    echo "== 3. loader alone"
    "$B/bench/bench_loader" || exit 1
    plot "$R/loader.png" "set title 'loader alone: decoded samples/s (60000 x 784, batch 256)'
set ylabel 'samples/s'; set xlabel 'loader workers (-j)'; set yrange [0:*]; set grid ytics
plot '$R/loader.csv' every ::1 using 3:xtic(1) title 'median'"
    echo
fi

if ! skip load; then
    echo "== 3b. loading --data: the dataset vs zlib reading the same files"
    "$B/bench/bench_load" ${MLPTRAIN_DATA:+"$MLPTRAIN_DATA"} || exit 1
    echo
fi

if ! skip e2e; then
    # The baseline is the step alone (bench_step --one), measured right
    # before each end-to-end run: the ratio of each pair, then the median,
    # holds even when the machine's speed drifts between minutes.
    echo "== 4. end to end: default recipe, $EPOCHS epochs, ${REPS:-3} runs per point"
    echo "workers,samples_per_s,lo,hi,wait_share,peak_rss_mib,ratio_to_step" >"$R/e2e.csv"
    printf "%7s %10s %21s %7s %9s %8s\n" workers samples/s range wait "RSS MiB" "vs step"
    for j in 0 1 2 4 8 20; do
        : >"$TMP/sps"; : >"$TMP/wait"; : >"$TMP/rss"; : >"$TMP/ratio"
        for r in $(seq "${REPS:-3}"); do
            step=$("$B/bench/bench_step" --one) || exit 1
            "$B/mlptrain" -j "$j" --epochs "$EPOCHS" -q --log "$TMP/log" >/dev/null || exit 1
            sps=$(grep '"type":"end"' "$TMP/log" | jfield samples_per_s)
            echo "$sps" >>"$TMP/sps"
            awk -v a="$sps" -v b="$step" 'BEGIN {print a / b}' >>"$TMP/ratio"
            grep '"type":"end"' "$TMP/log" | jfield peak_rss_kb >>"$TMP/rss"
            grep '"type":"epoch"' "$TMP/log" | jfield wait_share |
                awk '{s += $1} END {print s / NR}' >>"$TMP/wait"
        done
        read -r sps lo hi < <(stats <"$TMP/sps")
        read -r wait _ _ < <(stats <"$TMP/wait")
        read -r rss _ _ < <(stats <"$TMP/rss")
        read -r ratio _ _ < <(stats <"$TMP/ratio")
        rss=$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')
        printf "%7s %10.0f %10.0f..%-10.0f %6.2f%% %9s %8.2f\n" "$j" "$sps" "$lo" "$hi" \
            "$(awk -v w="$wait" 'BEGIN {print 100 * w}')" "$rss" "$ratio"
        echo "$j,$sps,$lo,$hi,$wait,$rss,$ratio" >>"$R/e2e.csv"
    done
    echo "(vs step: median over runs of the run's samples/s / the step alone's, measured just before it)"
    plot "$R/e2e.png" "set title 'mlptrain end to end, default recipe: training samples/s and loader wait by -j'
set ylabel 'samples/s'; set y2label 'trainer waiting on the loader (%)'
set xlabel 'loader workers (-j)'; set yrange [0:*]; set y2range [0:20]; set y2tics; set grid ytics
plot '$R/e2e.csv' every ::1 using 2:xtic(1) title 'samples/s (median)', \
     '' every ::1 using 0:(\$5*100) axes x1y2 with linespoints lw 2 pt 7 title 'wait %'"
    echo
fi

if ! skip torch; then
    # PyTorch two ways.  The reference's: a DataLoader of 4 worker
    # processes decoding each image (torch 1 thread, the BLAS pool on the
    # cores: two pools of $NCORES threads oversubscribe them, measured 10x
    # slower).  And PyTorch at its best, the peer doc/performance.md compares
    # with: the data in memory as tensors (--in-memory: a permutation per
    # epoch, x/255 per batch, no DataLoader), the faster of f32 and bf16
    # autocast, the best split of torch's threads and OpenBLAS's, found by
    # one run of each; then interleaved rounds of mlptrain (f32, bf16) and
    # that best PyTorch, medians, ratios per round.  For the default model
    # and for 784-1024-10 (the "Reaching 0.90" width).
    echo "== 5. PyTorch: the reference's DataLoader, and at its best; $EPOCHS epochs, $NCORES cores"
    if ! have_torch; then
        torch_skipped
    else
        [ ${#benv[@]} -gt 0 ] ||
            echo "(OpenBLAS missing: PyTorch runs on Debian's reference BLAS; apt-get install libopenblas0-pthread)"
        echo "model,runner,config,samples_per_s,min,max,test_acc,ratio_mlptrain_bf16_to_it" >"$R/torch.csv"
        for hid in 256 1024; do
            model="784-$hid-10"
            echo "-- $model: PyTorch in memory, one run of each configuration"
            printf "%-14s %-26s %10s\n" precision "threads (torch, OpenBLAS)" samples/s
            torch_best "$hid" verbose >"$TMP/tbest" 2>"$TMP/cfgs"
            cat "$TMP/cfgs"
            bestargs=$(cat "$TMP/tbest")
            [ -n "$bestargs" ] || { echo "PyTorch failed in every configuration"; continue; }
            set -- $bestargs
            btt=$1 bbt=$2 bac=$3
            bestname="$(torch_name "$btt" "$bbt" "$bac") (its best)"
            echo "$bestargs" >"$TMP/best$hid"
            echo "-- $model: ${REPS:-3} interleaved rounds"
            for c in mf mb tb tr; do : >"$TMP/r_$c"; : >"$TMP/q_$c"; done
            for r in $(seq "${REPS:-3}"); do
                mf=$(mrun "$TMP/mf.log" "$hid") || { echo "mlptrain failed"; exit 1; }
                mb=$(mrun "$TMP/mb.log" "$hid" --precision bf16) || { echo "mlptrain --precision bf16 failed"; exit 1; }
                tb=$(tpy "$TMP/tb.log" "$hid" "$btt" "$bbt" --in-memory --autocast "$bac") || tb=
                echo "$mf" >>"$TMP/r_mf"; echo "$mb" >>"$TMP/r_mb"
                awk -v a="$mb" -v b="$mf" 'BEGIN {print a / b}' >>"$TMP/q_mf"
                [ -n "$tb" ] && { echo "$tb" >>"$TMP/r_tb"; awk -v a="$mb" -v b="$tb" 'BEGIN {print a / b}' >>"$TMP/q_tb"; }
                if [ "$hid" = 256 ]; then
                    tr=$(tpy "$TMP/tr.log" "$hid" 1 "$NCORES" --workers 4) || tr=
                    [ -n "$tr" ] && { echo "$tr" >>"$TMP/r_tr"; awk -v a="$mb" -v b="$tr" 'BEGIN {print a / b}' >>"$TMP/q_tr"; }
                fi
            done
            acc() { grep "\"type\": *\"epoch\"" "$1" | tail -1 | jfield test_acc; }
            printf "%-52s %10s %17s %9s %11s\n" runner samples/s "min..max" "test acc" "bf16 ours x"
            trow() { # LABEL KEY LOG
                [ -s "$TMP/r_$2" ] || return 0
                read -r m lo hi < <(stats <"$TMP/r_$2")
                q=1.00
                [ -s "$TMP/q_$2" ] && q=$(stats <"$TMP/q_$2" | cut -d' ' -f1)
                a=$(acc "$3")
                printf "%-52s %10.0f %8.0f..%-8.0f %9.4f %11.2f\n" "$1" "$m" "$lo" "$hi" "$a" "$q"
                echo "$model,$1,,$m,$lo,$hi,$a,$q" >>"$R/torch.csv"
            }
            trow "mlptrain -j 4 (f32, the default)" mf "$TMP/mf.log"
            trow "mlptrain -j 4 --precision bf16" mb "$TMP/mb.log"
            trow "$bestname" tb "$TMP/tb.log"
            trow "PyTorch reference: DataLoader -j 4, OpenBLAS $NCORES" tr "$TMP/tr.log"
            echo "(bf16 ours x: median over rounds of mlptrain bf16's samples/s / the row's, same round)"
        done
        # As Debian ships it: the reference BLAS, one thread; one epoch, it is slow.
        rb=$(env LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack \
            /usr/bin/python3 "$S/scripts/reference_torch.py" --workers 0 --threads 1 --epochs 1 \
            2>/dev/null | grep '"type": "end"' | jfield samples_per_s)
        [ -n "$rb" ] && printf "%-52s %10.0f  (1 epoch, Debian's reference BLAS, as installed)\n" "PyTorch reference, -j 0" "$rb"
        plot "$R/torch.png" "set title 'training samples/s: mlptrain vs PyTorch ($NCORES cores)'
set ylabel 'samples/s'; set yrange [0:*]; set grid ytics
set xtics rotate by -20; set bmargin 9; set rmargin 10
plot '$R/torch.csv' every ::1 using 4:xtic(sprintf('%s %s', stringcolumn(1), stringcolumn(2))) title 'samples/s (median)'"
    fi
    echo
fi
if ! skip recipe; then
    # One run of each (a recipe runs for minutes); wall time from the
    # command's start to its exit, data loading and the test passes
    # included.  mlptrain with RECIPE_MLPTRAIN (--precision auto: bf16
    # where the calibration says it pays); PyTorch at its best as section
    # 5 found it for 784-1024-10 (in memory, its precision and threads),
    # else in memory with bf16 autocast on the cores.
    echo "== 6. best recipe, mlptrain ($RECIPE_MLPTRAIN) vs PyTorch at its best: $RECIPE_OPTS"
    if ! have_torch; then
        torch_skipped
    else
        now() { date +%s.%N; }
        t0=$(now)
        # shellcheck disable=SC2086 # RECIPE_OPTS: a list of options
        "$B/mlptrain" $RECIPE_OPTS $RECIPE_MLPTRAIN -q --log "$TMP/rm.log" >/dev/null 2>"$TMP/rm.err" ||
            { echo "mlptrain $RECIPE_OPTS: failed: $(tail -3 "$TMP/rm.err")"; exit 1; }
        t1=$(now)
        openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
        best="$NCORES 1 bf16"
        [ -s "$TMP/best1024" ] && best=$(cat "$TMP/best1024")
        set -- $best
        tenv=(OPENBLAS_NUM_THREADS="$2") tthreads=$1 tac=$3
        if [ -e "$openblas/libblas.so.3" ]; then
            tenv+=(LD_LIBRARY_PATH="$openblas")
            grep -q avx512f /proc/cpuinfo && tenv+=(OPENBLAS_CORETYPE=SkylakeX)
        fi
        blasname="in memory, $([ "$tac" = off ] && echo f32 || echo bf16), $1+$2 threads"
        # shellcheck disable=SC2086
        env "${tenv[@]}" /usr/bin/python3 "$S/scripts/reference_torch.py" --in-memory \
            --autocast "$tac" --threads "$tthreads" $RECIPE_OPTS >"$TMP/rt.log" 2>"$TMP/rt.err" ||
            tfail=1
        t2=$(now)
    fi
    if [ "${tfail:-0}" = 1 ]; then
        # An option the reference lacks (e.g. --early-stop) lands here too.
        echo "reference_torch.py $RECIPE_OPTS: failed: $(tail -3 "$TMP/rt.err")"
    elif have_torch; then
        m_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
        t_wall=$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')
        m_ep=$(grep -c '"type":"epoch"' "$TMP/rm.log")
        t_ep=$(grep -c '"type": "epoch"' "$TMP/rt.log")
        m_acc=$(grep '"type":"end"' "$TMP/rm.log" | jfield final_test_acc)
        t_acc=$(grep '"type": "epoch"' "$TMP/rt.log" | tail -1 | jfield test_acc)
        m_val=$(grep '"type":"epoch"' "$TMP/rm.log" | tail -1 | jfield val_acc)
        t_val=$(grep '"type": "epoch"' "$TMP/rt.log" | tail -1 | jfield val_acc)
        m_sps=$(grep '"type":"end"' "$TMP/rm.log" | jfield samples_per_s)
        t_sps=$(grep '"type": "end"' "$TMP/rt.log" | jfield samples_per_s)
        echo "runner,epochs,test_acc,val_acc,samples_per_s,wall_s,wall_ratio_to_mlptrain" >"$R/recipe.csv"
        m_prec=$(sed -n 's/.*"precision":{"asked":"[a-z0-9]*","used":"\([a-z0-9]*\)".*/\1/p' "$TMP/rm.log")
        printf "%-44s %6s %9s %8s %10s %8s %11s\n" runner epochs "test acc" "val acc" samples/s "wall s" "time ratio"
        printf "%-44s %6s %9.4f %8s %10.0f %8.1f %11s\n" "mlptrain ($m_prec)" "$m_ep" "$m_acc" \
            "${m_val:--}" "$m_sps" "$m_wall" 1.00
        ratio=$(awk -v a="$t_wall" -v b="$m_wall" 'BEGIN {printf "%.2f", a / b}')
        printf "%-44s %6s %9.4f %8s %10.0f %8.1f %11s\n" "PyTorch ($blasname)" "$t_ep" "$t_acc" \
            "${t_val:--}" "$t_sps" "$t_wall" "$ratio"
        echo "mlptrain-$m_prec,$m_ep,$m_acc,$m_val,$m_sps,$m_wall,1" >>"$R/recipe.csv"
        echo "pytorch-$blasname,$t_ep,$t_acc,$t_val,$t_sps,$t_wall,$ratio" >>"$R/recipe.csv"
        awk -v a="$m_acc" -v b="$t_acc" -v r="$ratio" 'BEGIN {
            printf "test acc: mlptrain %+.4f vs PyTorch; PyTorch takes %sx mlptrain'"'"'s wall time\n", a - b, r }'
        [ "$m_ep" = "$t_ep" ] || echo "warning: unequal epochs ($m_ep vs $t_ep): an early stop?"
    fi
    echo
fi
if ! skip parallel; then
    # Interleaved rounds (each round runs every case once) so the machine's
    # drift hits all cases; medians of $BENCH_REPEATS (3) rounds.  The busy
    # neighbour is a shell loop on one core.
    echo "== 7. the parallel step, default recipe, $EPOCHS epochs, $NCORES threads"
    preps=${REPS:-3}
    e2e_sps() { # LOG: training samples/s of the run
        grep '"type":"end"' "$1" | jfield samples_per_s
    }
    prun() { # LOG ARGS...: one run
        log=$1
        shift
        "$B/mlptrain" -j 4 --epochs "$EPOCHS" -q --log "$log" "$@" >/dev/null 2>&1 ||
            { echo "mlptrain $*: failed"; exit 1; }
    }
    # whole: gemm mode with one micro-batch a batch, the step as it was
    # before micro-batches (whole-batch products on oneDNN's threads).
    whole=(--parallel gemm --micro 256 -t "$NCORES")
    for c in gemm batch whole pair one busy_gemm busy_batch busy_whole busy_one; do : >"$TMP/p_$c"; done
    for r in $(seq "$preps"); do
        rm -f "$TMP"/p*.log
        prun "$TMP/pg.log" --parallel gemm -t "$NCORES"; e2e_sps "$TMP/pg.log" >>"$TMP/p_gemm"
        prun "$TMP/pb.log" --parallel batch -t "$NCORES"; e2e_sps "$TMP/pb.log" >>"$TMP/p_batch"
        prun "$TMP/pw.log" "${whole[@]}"; e2e_sps "$TMP/pw.log" >>"$TMP/p_whole"
        pids=
        for k in $(seq "$NCORES"); do
            prun "$TMP/pp$k.log" --parallel batch -t 1 &
            pids="$pids $!"
        done
        wait $pids
        cat "$TMP"/pp*.log | grep '"type":"end"' | jfield samples_per_s |
            awk '{s += $1} END {print s}' >>"$TMP/p_pair"
        prun "$TMP/p1.log" --parallel batch -t 1; e2e_sps "$TMP/p1.log" >>"$TMP/p_one"
        ( while :; do :; done ) &
        spin=$!
        prun "$TMP/pbg.log" --parallel gemm -t "$NCORES"; e2e_sps "$TMP/pbg.log" >>"$TMP/p_busy_gemm"
        prun "$TMP/pbb.log" --parallel batch -t "$NCORES"; e2e_sps "$TMP/pbb.log" >>"$TMP/p_busy_batch"
        prun "$TMP/pbw.log" "${whole[@]}"; e2e_sps "$TMP/pbw.log" >>"$TMP/p_busy_whole"
        prun "$TMP/pb1.log" --parallel batch -t 1; e2e_sps "$TMP/pb1.log" >>"$TMP/p_busy_one"
        kill "$spin"
        wait "$spin" 2>/dev/null
    done
    for c in gemm batch whole pair one busy_gemm busy_batch busy_whole busy_one; do
        read -r m lo hi < <(stats <"$TMP/p_$c")
        eval "pm_$c=$m pl_$c=$lo ph_$c=$hi"
    done
    echo "case,samples_per_s,min,max,ratio" >"$R/parallel.csv"
    printf "%-40s %10s %17s %7s\n" case samples/s "min..max" ratio
    prow() { # LABEL KEY BASE
        eval "m=\$pm_$2 lo=\$pl_$2 hi=\$ph_$2 b=\$pm_$3"
        ratio=$(awk -v a="$m" -v b="$b" 'BEGIN {printf "%.2f", a / b}')
        printf "%-40s %10.0f %8.0f..%-8.0f %7s\n" "$1" "$m" "$lo" "$hi" "$ratio"
        echo "$1,$m,$lo,$hi,$ratio" >>"$R/parallel.csv"
    }
    prow "$NCORES independent -t 1 processes (sum)" pair pair
    prow "--parallel gemm -t $NCORES" gemm pair
    prow "--parallel batch -t $NCORES" batch pair
    prow "gemm, whole batch (the old step) -t $NCORES" whole pair
    prow "-t 1 alone" one pair
    prow "beside a busy process: -t 1" busy_one busy_one
    prow "beside a busy process: gemm -t $NCORES" busy_gemm busy_one
    prow "beside a busy process: batch -t $NCORES" busy_batch busy_one
    prow "beside a busy process: whole batch -t $NCORES" busy_whole busy_one
    echo "(ratios: the first five to the independent processes' sum, the last four to -t 1 beside the busy process)"
    echo
fi
if ! skip dist; then
    # The cross-rank reduction (src/reduce.c over src/dist_mpi.c, doc/mpi.md)
    # against the compute it hides behind.  The estimate, per step of a
    # global batch G (one loader batch) over R ranks, gradient of b bytes,
    # link bandwidth beta, latency alpha and a per-message cost o:
    #   compute    s x G / R              s: one-thread seconds per sample
    #   reduction  2 (alpha + (R - 1) o) per bucket   two rounds of messages
    #              + 2 b (R - 1) / (R beta)           reduce-scatter, gather
    #   exposed    the first layer's buckets (the backward's last) plus what
    #              of the others the first layer's backward does not cover
    # alpha, o assumed: 20 us, 2 us (10 Gbit/s Ethernet, TCP); 5 us, 1 us
    # (100 Gbit/s with RDMA).
    echo "== 8. MPI: the tree's sum across 2 ranks, the overlap, end to end, and the scaling estimate"
    if ! grep -q '^#define HAVE_MPI 1' "$B/config.h" 2>/dev/null || [ ! -x "$B/bench/bench_dist" ]; then
        echo "skipped: built without MPI (install the Debian packages libopenmpi-dev openmpi-bin, then ./configure --with-mpi)"
    else
        export BENCH_REPEATS=${BENCH_REPEATS:-5}
        mpi=(mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 -x BENCH_REPEATS -np 2)
        [ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
        OMP_NUM_THREADS=1 "$B/bench/bench_dist" --compute || exit 1
        for t in vader:self,vader tcp:tcp,self; do
            timeout 900 "${mpi[@]}" --mca btl "${t#*:}" "$B/bench/bench_dist" "${t%%:*}" || exit 1
        done
        echo "(bytes: rank 0 sent + received a step; ms: the tree's sum across the ranks (reduce.h), median; local: one process summing the 4 parts in the tree, ms; allred: MPI_Allreduce of each rank's own float sum, ms, and differ: its sums whose bits differ from the tree's; fixed: the exact integer alternative (64-bit fixed point, MPI_Allreduce on int64), ms, and its sums that differ)"
        echo
        bf=f32
        "$B/bench/bench_gemm" --ceiling bf16 256 256 >/dev/null 2>&1 && bf=f32,bf16
        timeout 900 "${mpi[@]}" --mca btl tcp,self "$B/bench/bench_dist" --step tcp "$bf" || exit 1
        echo "(the default: here no core is free for a communication thread (dist.h), so the sums follow the backward, one bucket)"
        timeout 900 "${mpi[@]}" -x MLPTRAIN_TEST_MPI_THREAD=serialized --mca btl tcp,self "$B/bench/bench_dist" --step tcp "$bf" || exit 1
        echo "(the communication thread forced (dist.h's test hook): the step's reduction overlapped with the backward: hidden = 1 - exposed / at work, per bucket size; the default bucket is MLP_STEP_BUCKET)"
        echo
        # End to end: the default recipe on 2 ranks of one thread (TCP and
        # shared memory) against one process of 2 threads (batch mode: the
        # same partition and the same bits; -j 1 a rank: each decodes half
        # the rows), in f32 and bf16, interleaved rounds, medians; the
        # reduction's bytes per step and its hidden share from rank 0's log
        # (1 - reduce_exposed_seconds / reduce_seconds over the epochs).
        echo "end to end, default recipe, $EPOCHS epochs: mpirun -np 2 -t 1 vs one process -t 2"
        echo "case,precision,samples_per_s,min,max,ratio,reduce_bytes_per_step,hidden" >"$R/dist-e2e.csv"
        printf "%-30s %5s %10s %17s %7s %7s\n" case prec samples/s "min..max" ratio hidden
        hidden() { # LOG: the reduction's hidden share over the epochs
            grep '"type":"epoch"' "$1" | awk '
                match($0, /"reduce_seconds": *[-0-9.eE+]*/) { s = substr($0, RSTART, RLENGTH); sub(/.*: */, "", s); a += s }
                match($0, /"reduce_exposed_seconds": *[-0-9.eE+]*/) { s = substr($0, RSTART, RLENGTH); sub(/.*: */, "", s); e += s }
                END { printf "%.3f\n", (a > 0 ? 1 - e / a : 0) }'
        }
        for prec in ${bf//,/ }; do
            : >"$TMP/d_one"; : >"$TMP/d_bytes"
            for t in tcp shm tcp+thread shm+thread; do : >"$TMP/d_$t"; : >"$TMP/d_h$t"; done
            for r in $(seq "${REPS:-3}"); do
                rm -f "$TMP"/d*.log
                "$B/mlptrain" --parallel batch -t 2 -j 4 --epochs "$EPOCHS" --precision "$prec" -q \
                    --log "$TMP/d1.log" >/dev/null 2>&1 || { echo "mlptrain -t 2: failed"; exit 1; }
                grep '"type":"end"' "$TMP/d1.log" | jfield samples_per_s >>"$TMP/d_one"
                for t in tcp:tcp,self shm:self,vader tcp+thread:tcp,self shm+thread:self,vader; do
                    # +thread: the communication thread even without a
                    # core of its own (dist.h's test hook), to show why
                    # the default leaves it out here
                    th=()
                    case $t in *+thread*) th=(-x MLPTRAIN_TEST_MPI_THREAD=serialized) ;; esac
                    timeout 900 "${mpi[@]}" "${th[@]}" --mca btl "${t#*:}" "$B/mlptrain" --parallel batch -t 1 -j 1 \
                        --epochs "$EPOCHS" --precision "$prec" -q --log "$TMP/d2.log" >/dev/null 2>&1 ||
                        { echo "mpirun -np 2 mlptrain -t 1 (${t%%:*}): failed"; exit 1; }
                    grep '"type":"end"' "$TMP/d2.log" | jfield samples_per_s >>"$TMP/d_${t%%:*}"
                    hidden "$TMP/d2.log" >>"$TMP/d_h${t%%:*}"
                    grep '"type":"epoch"' "$TMP/d2.log" | jfield reduce_bytes_per_step | tail -1 >>"$TMP/d_bytes"
                done
            done
            read -r d1 d1lo d1hi < <(stats <"$TMP/d_one")
            dbytes=$(stats <"$TMP/d_bytes" | cut -d' ' -f1)
            printf "%-30s %5s %10.0f %8.0f..%-8.0f %7s %7s\n" "one process -t 2 (batch)" "$prec" "$d1" "$d1lo" "$d1hi" 1.00 ""
            echo "one process -t 2,$prec,$d1,$d1lo,$d1hi,1.00,," >>"$R/dist-e2e.csv"
            for t in tcp shm tcp+thread shm+thread; do
                read -r d2 d2lo d2hi < <(stats <"$TMP/d_$t")
                read -r h hlo hhi < <(stats <"$TMP/d_h$t")
                dratio=$(awk -v a="$d2" -v b="$d1" 'BEGIN {printf "%.2f", a / b}')
                printf "%-30s %5s %10.0f %8.0f..%-8.0f %7s %7s\n" "mpirun -np 2 -t 1, $t" "$prec" "$d2" "$d2lo" "$d2hi" "$dratio" "$h"
                echo "mpirun -np 2 -t 1 $t,$prec,$d2,$d2lo,$d2hi,$dratio,$dbytes,$h" >>"$R/dist-e2e.csv"
            done
        done
        printf "reduction (rank 0): %.0f bytes sent + received per step; hidden: its share behind the backward (median of rounds)\n" "$dbytes"
        echo "(goals: tcp >= 0.85 in f32 and >= 0.8 in bf16, shared memory >= 0.95; all runs train the same bytes; +thread: the communication thread forced where it has no core of its own, for comparison)"
        echo
        echo "paper estimate: speedup over one process (one thread each); alpha 20 us, o 2 us at 10 Gbit/s; 5 us, 1 us at 100 Gbit/s"
        printf "%-18s %6s %4s %6s %11s %9s %9s %8s %7s\n" model G R Gbit/s "compute ms" "reduce ms" "exposed" speedup "of R"
        awk -F, -v est="$R/dist-estimate.csv" '
        BEGIN { print "model,global_batch,ranks,gbit,compute_s,reduce_s,exposed_s,speedup" >est }
        FNR > 1 {
            s = $5; n = $2
            # the layers: the first (784 x h1 + h1) is the backward'"'"'s last
            first = $1 ~ /^784-256-/ ? 784 * 256 + 256 : 784 * 1024 + 1024
            # its share of the compute: its weight gradient, about a third
            # of its three products over the step'"'"'s (by multiply-adds)
            frac = first / n / 3
            for (gi = 1; gi <= 3; gi++) for (ri = 1; ri <= 2; ri++) for (li = 1; li <= 2; li++) {
                G = gi == 1 ? 256 : gi == 2 ? 8192 : 16384; R = ri == 1 ? 8 : 64
                gbit = li == 1 ? 10 : 100; alpha = li == 1 ? 20e-6 : 5e-6; o = li == 1 ? 2e-6 : 1e-6
                beta = gbit * 1e9 / 8
                nbf = int((first + 262143) / 262144); nbo = int((n - first + 262143) / 262144)
                tc = s * G / R
                rf = nbf * 2 * (alpha + (R - 1) * o) + 2 * 4 * first * (R - 1) / (R * beta)
                ro = nbo * 2 * (alpha + (R - 1) * o) + 2 * 4 * (n - first) * (R - 1) / (R * beta)
                hide = tc * frac
                te = rf + (ro > hide ? ro - hide : 0)
                printf "%-18s %6d %4d %6d %11.3f %9.3f %9.3f %8.1f %6.0f%%\n", $1, G, R, gbit, tc * 1e3,
                    (rf + ro) * 1e3, te * 1e3, s * G / (tc + te), 100 * s * G / (tc + te) / R
                printf "%s,%d,%d,%d,%.6g,%.6g,%.6g,%.4g\n", $1, G, R, gbit, tc, rf + ro, te, s * G / (tc + te) >est
            }
        }' "$R/dist-compute.csv" || exit 1
    fi
    echo
fi
if ! skip precision; then
    # The default recipe end to end, f32 and --precision bf16 in
    # interleaved rounds (ratio bf16 / f32 per round), and each bf16 run
    # against the bf16 ceiling (bench_gemm --ceiling: the step's products
    # as bf16 inner products on all cores) measured right before it; the
    # same for the 784-1024-10 net at batch 512 (the "Reaching 0.90"
    # shape).  Medians of $BENCH_REPEATS (3) rounds.
    echo "== 9. precision: bf16 against f32 and against the bf16 ceiling, $EPOCHS epochs"
    if ! "$B/bench/bench_gemm" --ceiling bf16 256 256 >/dev/null 2>&1; then
        echo "skipped: oneDNN has no bf16 inner products on this CPU ($("$B/mlptrain" --version | sed -n 's/.*(\(.*\)).*/\1/p' | head -1))"
    else
        echo "model,batch,f32_samples_per_s,bf16_samples_per_s,bf16_min,bf16_max,bf16_over_f32,bf16_ceiling,bf16_over_ceiling" >"$R/precision.csv"
        printf "%-12s %5s %10s %10s %17s %9s %10s %9s\n" model batch f32/s bf16/s "bf16 min..max" "bf16/f32" "ceiling" "of ceil"
        for mb in "256 256" "1024 512"; do
            set -- $mb
            hid=$1 bat=$2
            : >"$TMP/p_f"; : >"$TMP/p_b"; : >"$TMP/p_q"; : >"$TMP/p_c"; : >"$TMP/p_cq"
            for r in $(seq "${REPS:-3}"); do
                "$B/mlptrain" --hidden "$hid" -b "$bat" -j 4 --epochs "$EPOCHS" -q --log "$TMP/pf.log" >/dev/null || exit 1
                f=$(grep '"type":"end"' "$TMP/pf.log" | jfield samples_per_s)
                c=$("$B/bench/bench_gemm" --ceiling bf16 "$hid" "$bat") || exit 1
                "$B/mlptrain" --hidden "$hid" -b "$bat" -j 4 --epochs "$EPOCHS" --precision bf16 -q \
                    --log "$TMP/pb.log" >/dev/null || exit 1
                b=$(grep '"type":"end"' "$TMP/pb.log" | jfield samples_per_s)
                echo "$f" >>"$TMP/p_f"; echo "$b" >>"$TMP/p_b"; echo "$c" >>"$TMP/p_c"
                awk -v a="$b" -v b="$f" 'BEGIN {print a / b}' >>"$TMP/p_q"
                awk -v a="$b" -v b="$c" 'BEGIN {print a / b}' >>"$TMP/p_cq"
            done
            read -r f _ _ < <(stats <"$TMP/p_f")
            read -r b blo bhi < <(stats <"$TMP/p_b")
            read -r c _ _ < <(stats <"$TMP/p_c")
            q=$(stats <"$TMP/p_q" | cut -d' ' -f1)
            cq=$(stats <"$TMP/p_cq" | cut -d' ' -f1)
            printf "%-12s %5s %10.0f %10.0f %8.0f..%-8.0f %9.2f %10.0f %9.2f\n" "784-$hid-10" "$bat" "$f" "$b" "$blo" "$bhi" "$q" "$c" "$cq"
            echo "784-$hid-10,$bat,$f,$b,$blo,$bhi,$q,$c,$cq" >>"$R/precision.csv"
        done
        echo "(bf16/f32 and of ceil: medians over rounds of the round's ratio; goals on the default recipe: bf16/f32 >= 1.6, of ceil >= 0.65)"
    fi
    echo
fi
echo "results: $R"
