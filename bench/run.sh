#!/bin/bash
# bench/run.sh: the benchmarks of `make bench`.  Each prints a table, writes
# its figures to $BENCH_RESULTS (bench/results) as CSV and draws a PNG chart
# with gnuplot.  Figures are medians of $BENCH_REPEATS runs (default 5; 3
# for the end-to-end runs), with the spread, and ratios to a baseline
# measured in the same run.
#
#   1. gemm    dnnl_sgemm ceiling: square product and the model's GEMMs
#   2. step    the training step alone vs that ceiling
#   3. loader  the loader alone, -j 0 1 2 4 20
#   3b. load   loading --data (as installed, a plain copy, --limit-train
#              1000) against zlib reading the same files whole
#   4. e2e     mlptrain end to end, -j 0 1 2 4 8 20: samples/s, wait, memory
#   5. torch   the PyTorch reference (scripts/reference_torch.py) side by side
#   6. recipe  the best recipe (RECIPE_OPTS) in mlptrain and in the PyTorch
#              reference, same options and epochs: accuracy and time
#   7. parallel the parallel step (issue 13), default recipe, -t $NCORES:
#              --parallel gemm vs batch vs $NCORES independent -t 1
#              processes side by side (ratios to their sum), and gemm,
#              batch and -t 1 beside one busy single-thread process
#              (ratios to -t 1 there)
#   8. dist    MPI (built with it): the ordered gradient fold over 2 ranks,
#              shared memory and TCP; the default recipe end to end on 2
#              one-thread ranks over TCP vs one process -t 2 (ratio, bytes
#              and seconds of the reduction); one-thread compute per
#              sample; the paper estimate of scaling to 8 and 64 nodes
#
# Environment: BUILDDIR (where mlptrain and bench/bench_* are; default .),
# MLPTRAIN_DATA (the dataset), BENCH_EPOCHS (end-to-end epochs, default 3),
# BENCH_SKIP (names of benchmarks to skip, e.g. "torch"), RECIPE_OPTS (the
# options of section 6, given to both programs; see below).
set -u
# The best recipe: options both mlptrain and scripts/reference_torch.py
# take (its epochs included), run by section 6.
RECIPE_OPTS=${RECIPE_OPTS:-"--hidden 1024 --optimizer adamw --lr 0.002 --batch 512 --schedule cosine --warmup 1 --input-dropout 0.1 --label-smoothing 0.1 -e 40 --val 5000"}
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
# median and min..max of the numbers on stdin: "median min max"
stats() { sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s %s %s\n", m, v[1], v[NR]}'; }
# a number field of our JSON-lines records: field NAME < lines
jfield() { sed -n "s/.*\"$1\": *\\([-0-9.eE+]*\\).*/\\1/p"; }
plot() { # plot PNG SCRIPT
    if command -v gnuplot >/dev/null; then
        { echo "set terminal pngcairo size 900,520 enhanced font ',11'"; echo "set output '$1'"; echo "$2"; } |
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
    plot "$R/gemm.png" "set datafile separator ','
set title 'dnnl\\_sgemm GFLOP/s (median)'
set style data histograms; set style fill solid 0.8 border -1; set boxwidth 0.8
set ylabel 'GFLOP/s'; set xlabel 'threads'; set yrange [0:*]; set grid ytics
set key top left
plot '< grep square $R/gemm.csv' using 3:xtic(2) title 'square 2048', \
     '< grep step $R/gemm.csv' using 3 title '784-256-10 step GEMMs, batch 256'"
    echo
fi

if ! skip step; then
    echo "== 2. training step alone"
    "$B/bench/bench_step" || exit 1
    plot "$R/step.png" "set datafile separator ','
set title 'training step alone ($NCORES threads): samples/s vs the sgemm ceiling of the same GEMMs'
set style data histograms; set style fill solid 0.8 border -1
set ylabel 'samples/s'; set yrange [0:*]; set grid ytics; set xtics rotate by -25; set bmargin 7; set rmargin 6
set key top right
plot '$R/step.csv' every ::1 using 4:xtic(sprintf('%s b%s', stringcolumn(1), stringcolumn(2))) title 'mlptrain step', \
     '' every ::1 using 8 title 'dnnl\\_sgemm ceiling'"
    echo
fi

if ! skip loader; then
    echo "== 3. loader alone"
    "$B/bench/bench_loader" || exit 1
    plot "$R/loader.png" "set datafile separator ','
set title 'loader alone: decoded samples/s (60000 x 784, batch 256)'
set style data histograms; set style fill solid 0.8 border -1
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
    plot "$R/e2e.png" "set datafile separator ','
set title 'mlptrain end to end, default recipe: training samples/s and loader wait by -j'
set style data histograms; set style fill solid 0.8 border -1
set ylabel 'samples/s'; set y2label 'trainer waiting on the loader (%)'
set xlabel 'loader workers (-j)'; set yrange [0:*]; set y2range [0:20]; set y2tics; set grid ytics
plot '$R/e2e.csv' every ::1 using 2:xtic(1) title 'samples/s (median)', \
     '' every ::1 using 0:(\$5*100) axes x1y2 with linespoints lw 2 pt 7 title 'wait %'"
    echo
fi

if ! skip torch; then
    # PyTorch's matrix products run in the BLAS library's own thread pool;
    # its intra-op pool (torch.set_num_threads) is a second one.  Two pools
    # of $NCORES threads oversubscribe the cores (measured: 10x slower), so
    # each run gives the BLAS pool the cores and torch 1 thread.
    echo "== 5. the PyTorch reference, $EPOCHS epochs, $NCORES cores"
    if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
        echo "skipped: Debian's python3-torch is not installed (apt-get install python3-torch libopenblas0-pthread)"
    else
        echo "runner,workers,blas,samples_per_s,test_acc,ratio_mlptrain_to_it" >"$R/torch.csv"
        : >"$TMP/msps"
        for r in 1 2 3; do
            "$B/mlptrain" -j 4 --epochs "$EPOCHS" -q --log "$TMP/m.log" >/dev/null || exit 1
            grep '"type":"end"' "$TMP/m.log" | jfield samples_per_s >>"$TMP/msps"
        done
        read -r m_sps _ _ < <(stats <"$TMP/msps")
        m_acc=$(grep '"type":"end"' "$TMP/m.log" | jfield final_test_acc)
        echo "mlptrain,4,onednn,$m_sps,$m_acc,1" >>"$R/torch.csv"
        printf "%-30s %7s %10s %9s %10s\n" runner workers samples/s "test acc" "mlptrain x"
        printf "%-30s %7s %10.0f %9.4f %10s\n" "mlptrain (oneDNN)" 4 "$m_sps" "$m_acc" 1.00
        run_torch() { # LABEL WORKERS EPOCHS ENV...
            label=$1 workers=$2 ep=$3
            shift 3
            env "$@" /usr/bin/python3 "$S/scripts/reference_torch.py" --workers "$workers" \
                --threads 1 --epochs "$ep" >"$TMP/t.log" 2>"$TMP/t.err" ||
                { echo "$label: failed: $(tail -3 "$TMP/t.err")"; return; }
            t_sps=$(grep '"type": "end"' "$TMP/t.log" | jfield samples_per_s)
            t_acc=$(grep '"type": "epoch"' "$TMP/t.log" | tail -1 | jfield test_acc)
            blas=$(sed -n 's/.*"blas": "\([^"]*\)".*/\1/p' "$TMP/t.log")
            ratio=$(awk -v a="$m_sps" -v b="$t_sps" 'BEGIN {printf "%.1f", a / b}')
            printf "%-30s %7s %10.0f %9.4f %10s  (%s epochs; %s)\n" "$label" "$workers" "$t_sps" "$t_acc" "$ratio" "$ep" "$(basename "$blas")"
            echo "$label,$workers,$blas,$t_sps,$t_acc,$ratio" >>"$R/torch.csv"
        }
        openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
        if [ -e "$openblas/libblas.so.3" ]; then
            core=
            grep -q avx512f /proc/cpuinfo && core=OPENBLAS_CORETYPE=SkylakeX
            for w in 4 0; do
                run_torch "PyTorch + OpenBLAS" "$w" "$EPOCHS" LD_LIBRARY_PATH="$openblas" \
                    OPENBLAS_NUM_THREADS="$NCORES" $core
            done
        else
            echo "PyTorch + OpenBLAS: skipped (apt-get install libopenblas0-pthread)"
        fi
        # As Debian ships it: the reference BLAS, one thread; one epoch, it is slow.
        run_torch "PyTorch + reference BLAS" 0 1 \
            LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack
        plot "$R/torch.png" "set datafile separator ','
set title 'training samples/s: mlptrain vs the PyTorch reference ($NCORES cores)'
set style data histograms; set style fill solid 0.8 border -1
set ylabel 'samples/s (log scale)'; set logscale y; set yrange [1000:*]; set grid ytics
set xtics rotate by -15; set bmargin 5; set rmargin 10
plot '$R/torch.csv' every ::1 using 4:xtic(sprintf('%s, -j %s', stringcolumn(1), stringcolumn(2))) title 'samples/s'"
    fi
    echo
fi
if ! skip recipe; then
    # One run of each (a recipe runs for minutes); wall time from the
    # command's start to its exit, data loading and the test passes
    # included.  PyTorch as in section 5 at its fastest: OpenBLAS with the
    # cores, torch's own pool 1 thread, 4 loader workers (unless the recipe
    # sets -j).
    echo "== 6. best recipe, mlptrain vs PyTorch: $RECIPE_OPTS"
    if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
        echo "skipped: Debian's python3-torch is not installed (apt-get install python3-torch libopenblas0-pthread)"
    else
        now() { date +%s.%N; }
        t0=$(now)
        # shellcheck disable=SC2086 # RECIPE_OPTS: a list of options
        "$B/mlptrain" $RECIPE_OPTS -q --log "$TMP/rm.log" >/dev/null 2>"$TMP/rm.err" ||
            { echo "mlptrain $RECIPE_OPTS: failed: $(tail -3 "$TMP/rm.err")"; exit 1; }
        t1=$(now)
        openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
        tenv=() tthreads=$NCORES blasname=default
        if [ -e "$openblas/libblas.so.3" ]; then
            tenv=(LD_LIBRARY_PATH="$openblas" OPENBLAS_NUM_THREADS="$NCORES")
            grep -q avx512f /proc/cpuinfo && tenv+=(OPENBLAS_CORETYPE=SkylakeX)
            tthreads=1 blasname=OpenBLAS
        fi
        # shellcheck disable=SC2086
        env "${tenv[@]}" /usr/bin/python3 "$S/scripts/reference_torch.py" --workers 4 \
            --threads "$tthreads" $RECIPE_OPTS >"$TMP/rt.log" 2>"$TMP/rt.err" ||
            tfail=1
        t2=$(now)
    fi
    if [ "${tfail:-0}" = 1 ]; then
        # An option the reference lacks (e.g. --early-stop) lands here too.
        echo "reference_torch.py $RECIPE_OPTS: failed: $(tail -3 "$TMP/rt.err")"
    elif /usr/bin/python3 -c 'import torch' 2>/dev/null; then
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
        printf "%-22s %6s %9s %8s %10s %8s %11s\n" runner epochs "test acc" "val acc" samples/s "wall s" "time ratio"
        printf "%-22s %6s %9.4f %8s %10.0f %8.1f %11s\n" "mlptrain (oneDNN)" "$m_ep" "$m_acc" \
            "${m_val:--}" "$m_sps" "$m_wall" 1.00
        ratio=$(awk -v a="$t_wall" -v b="$m_wall" 'BEGIN {printf "%.2f", a / b}')
        printf "%-22s %6s %9.4f %8s %10.0f %8.1f %11s\n" "PyTorch ($blasname)" "$t_ep" "$t_acc" \
            "${t_val:--}" "$t_sps" "$t_wall" "$ratio"
        echo "mlptrain,$m_ep,$m_acc,$m_val,$m_sps,$m_wall,1" >>"$R/recipe.csv"
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
    # The cross-rank reduction (src/dist.c) against the compute it hides
    # behind.  The estimate, per step of a global batch G over R ranks,
    # gradient of b bytes, link bandwidth beta and per-message latency
    # alpha (no overlap of compute and reduction assumed):
    #   compute  s x G / R              s: one-thread seconds per sample
    #   fold     (C + R - 1)(alpha + b / (C beta))   the pipelined chain
    #            + b / beta + ceil(log2 R) alpha      the broadcast
    #   C = b / chunk chunks (mlp_dist_chunk: about 2R)
    # alpha is assumed: 20 us (10 Gbit/s Ethernet, TCP), 5 us (100 Gbit/s
    # with RDMA); beta is the link's line rate.
    echo "== 8. MPI: the ordered gradient fold, 2 ranks, and the scaling estimate"
    if ! grep -q '^#define HAVE_MPI 1' "$B/config.h" 2>/dev/null || [ ! -x "$B/bench/bench_dist" ]; then
        echo "skipped: built without MPI (install the Debian packages libopenmpi-dev openmpi-bin, then ./configure --with-mpi)"
    else
        mpi=(mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 -np 2)
        [ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
        OMP_NUM_THREADS=1 "$B/bench/bench_dist" --compute || exit 1
        for t in vader:self,vader tcp:tcp,self; do
            timeout 900 "${mpi[@]}" --mca btl "${t#*:}" "$B/bench/bench_dist" "${t%%:*}" || exit 1
        done
        echo "(bytes: rank 0 sent + received per fold; ms: the fold's median; local: one process folding the 4 parts, ms; allred: MPI_Allreduce of each rank's own fold, ms; differ: its sums whose bits differ from the ordered fold's)"
        echo
        # End to end: the default recipe on 2 ranks of one thread over TCP
        # against one process of 2 threads (batch mode: the same partition
        # and the same bits; -j 1 a rank: each decodes half the rows),
        # interleaved rounds, medians; the reduction's
        # bytes per step and seconds per epoch from rank 0's log.
        echo "end to end, default recipe, $EPOCHS epochs: mpirun -np 2 -t 1 (--mca btl tcp,self) vs one process -t 2"
        : >"$TMP/d_one"; : >"$TMP/d_two"; : >"$TMP/d_bytes"; : >"$TMP/d_red"
        for r in $(seq "${REPS:-3}"); do
            rm -f "$TMP"/d*.log
            "$B/mlptrain" --parallel batch -t 2 -j 4 --epochs "$EPOCHS" -q --log "$TMP/d1.log" >/dev/null 2>&1 ||
                { echo "mlptrain -t 2: failed"; exit 1; }
            grep '"type":"end"' "$TMP/d1.log" | jfield samples_per_s >>"$TMP/d_one"
            timeout 900 "${mpi[@]}" --mca btl tcp,self "$B/mlptrain" --parallel batch -t 1 -j 1 \
                --epochs "$EPOCHS" -q --log "$TMP/d2.log" >/dev/null 2>&1 ||
                { echo "mpirun -np 2 mlptrain -t 1: failed"; exit 1; }
            grep '"type":"end"' "$TMP/d2.log" | jfield samples_per_s >>"$TMP/d_two"
            grep '"type":"epoch"' "$TMP/d2.log" | jfield reduce_bytes_per_step | tail -1 >>"$TMP/d_bytes"
            grep '"type":"epoch"' "$TMP/d2.log" | jfield reduce_seconds | stats | cut -d' ' -f1 >>"$TMP/d_red"
        done
        read -r d1 d1lo d1hi < <(stats <"$TMP/d_one")
        read -r d2 d2lo d2hi < <(stats <"$TMP/d_two")
        dbytes=$(stats <"$TMP/d_bytes" | cut -d' ' -f1)
        dred=$(stats <"$TMP/d_red" | cut -d' ' -f1)
        dratio=$(awk -v a="$d2" -v b="$d1" 'BEGIN {printf "%.2f", a / b}')
        printf "%-34s %10s %17s %7s\n" case samples/s "min..max" ratio
        printf "%-34s %10.0f %8.0f..%-8.0f %7s\n" "one process -t 2 (batch)" "$d1" "$d1lo" "$d1hi" 1.00
        printf "%-34s %10.0f %8.0f..%-8.0f %7s\n" "mpirun -np 2 -t 1, tcp" "$d2" "$d2lo" "$d2hi" "$dratio"
        printf "reduction (rank 0): %.0f bytes sent + received per step, %.3f s per epoch in the fold\n" "$dbytes" "$dred"
        echo "case,samples_per_s,min,max,ratio,reduce_bytes_per_step,reduce_s_per_epoch" >"$R/dist-e2e.csv"
        echo "one process -t 2,$d1,$d1lo,$d1hi,1.00,," >>"$R/dist-e2e.csv"
        echo "mpirun -np 2 -t 1 tcp,$d2,$d2lo,$d2hi,$dratio,$dbytes,$dred" >>"$R/dist-e2e.csv"
        echo "(goal: ratio >= 0.85; both runs train the same bytes)"
        echo
        echo "paper estimate: speedup over one process (one thread each), alpha 20 us at 10 Gbit/s, 5 us at 100 Gbit/s"
        printf "%-18s %6s %4s %6s %11s %9s %8s %7s\n" model G R Gbit/s "compute ms" "fold ms" speedup "of R"
        awk -F, -v est="$R/dist-estimate.csv" '
        BEGIN { print "model,global_batch,ranks,gbit,compute_s,fold_s,speedup" >est }
        FNR > 1 {
            s = $5; n = $2
            for (gi = 1; gi <= 2; gi++) for (ri = 1; ri <= 2; ri++) for (li = 1; li <= 2; li++) {
                G = gi == 1 ? 256 : 8192; R = ri == 1 ? 8 : 64
                gbit = li == 1 ? 10 : 100; alpha = li == 1 ? 20e-6 : 5e-6; beta = gbit * 1e9 / 8
                ch = int(n / (2 * R)); if (ch < 4096) ch = 4096; if (ch > 65536) ch = 65536
                C = int((n + ch - 1) / ch); b = 4 * n
                lg = 0; for (x = 1; x < R; x *= 2) lg++
                tc = s * G / R
                tf = (C + R - 1) * (alpha + 4 * ch / beta) + b / beta + lg * alpha
                printf "%-18s %6d %4d %6d %11.3f %9.3f %8.1f %6.0f%%\n", $1, G, R, gbit, tc * 1e3, tf * 1e3,
                    s * G / (tc + tf), 100 * s * G / (tc + tf) / R
                printf "%s,%d,%d,%d,%.6g,%.6g,%.4g\n", $1, G, R, gbit, tc, tf, s * G / (tc + tf) >est
            }
        }' "$R/dist-compute.csv" || exit 1
    fi
    echo
fi
echo "results: $R"
