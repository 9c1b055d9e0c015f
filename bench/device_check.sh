#!/usr/bin/env bash
# The one check to run on a new accelerator box (and first, whenever a GPU is at hand):
#
#   bench/device_check.sh OUT_DIR            # from a plain checkout; installs nothing
#   DEVICE_CHECK_DRY_RUN=1 bench/device_check.sh OUT_DIR   # print the steps, run none
#
# Prints the device and driver, runs the tests that need a GPU (pytest -m gpu), the standard
# suite (fp32 for bandwidth; bf16, fp16, tf32, fp8, int8), the model workloads under
# torch.compile, a one-rank torchrun run over NCCL, reads idle power, and writes every result
# file, each step's log and a one-page summary.md to OUT_DIR. Aimed at under 8 minutes on one
# H100/H200: every step runs under `timeout` (the GPU limits sum to 8.6 minutes; the steps
# should take about 5), and a step that fails or times out is recorded and the next one runs. A run cut by its timeout keeps the
# workloads it finished (the runner saves after each and on SIGTERM).
#
# Without a GPU it checks what the CPU can: the ci suite instead of the standard one, fp8 and
# int8 rows (skipped, with the reason), a one-rank gloo run; the compile step is skipped and
# says so. Needs torch, numpy, pandas, scipy, typer and rich; PYTHONPATH points at src/.
# A shell script rather than a CLI command: it must run where the package is not installed,
# outlive a step that hangs or kills its interpreter, and run pytest and torchrun beside it.

set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "$1" && cd "$1" && pwd) || { echo "ERROR: cannot create $1" >&2; exit 2; }
PY=${PYTHON:-python3}
DRY=${DEVICE_CHECK_DRY_RUN:-0}
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT" || exit 2

STEPS="$OUT/steps.tsv"
printf 'step\tstatus\tseconds\tlimit_s\n' > "$STEPS"
START=$(date +%s)

# step NAME LIMIT_S COMMAND...: run under a time limit, log to OUT/NAME.log, record the outcome.
step() {
    local name=$1 limit=$2 status rc t0 t1
    shift 2
    echo "== $name (limit ${limit}s): $*"
    if [ "$DRY" = 1 ]; then
        printf '%s\tdry run\t0\t%s\n' "$name" "$limit" >> "$STEPS"
        return 0
    fi
    t0=$(date +%s)
    # SIGTERM first (the runner saves what finished), SIGKILL 20 s later if it still hangs.
    timeout --signal=TERM --kill-after=20 "$limit" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    t1=$(date +%s)
    case $rc in
        0) status="ok" ;;
        124 | 137) status="timed out" ;;
        *) status="failed (exit $rc)" ;;
    esac
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$((t1 - t0))" "$limit" >> "$STEPS"
    tail -n 25 "$OUT/$name.log"
    echo "-- $name: $status in $((t1 - t0)) s"
}

skip() {
    echo "== $1: skipped: $2"
    printf '%s\tskipped: %s\t0\t0\n' "$1" "$2" >> "$STEPS"
}

if "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    GPU=1
    DEVICE=cuda
else
    GPU=0
    DEVICE=cpu
    echo "no CUDA/ROCm GPU here: checking what the CPU can, GPU steps skipped"
fi
SB=("$PY" -m subsidybench)

if [ "$GPU" = 1 ] && command -v nvidia-smi > /dev/null; then
    step nvidia-smi 15 nvidia-smi
fi
step device 30 "$PY" bench/device_info.py "$DEVICE"
step gpu-tests 90 "$PY" -m pytest -q -rs -m gpu -p no:cacheprovider tests

if [ "$GPU" = 1 ]; then
    # fp32 is kept for the bandwidth rows (copy, triad); budget 2 s a workload keeps the suite
    # near two and a half minutes, with ten and more power samples inside every workload.
    step standard 160 "${SB[@]}" run --suite standard --device cuda \
        --dtype fp32,bf16,fp16,tf32,fp8,int8 --budget 2 --out "$OUT/standard.json"
    # One transformer and one CNN: compiling every model workload would not fit the limit.
    step compiled 110 "${SB[@]}" run --suite standard --device cuda --dtype bf16 --compile \
        --only gpt_train,cnn_train --budget 2 \
        --out "$OUT/compiled.json"
    step distributed 60 "$PY" -m torch.distributed.run --standalone --nproc-per-node 1 \
        -m subsidybench run --distributed --suite standard --device cuda --backend nccl \
        --only all_reduce,gpt_train --sizes 1MiB,256MiB --budget 1 --timeout 60 \
        --out "$OUT/distributed.json"
else
    step ci 240 "${SB[@]}" run --suite ci --device cpu --out "$OUT/ci.json"
    step lowp 60 "${SB[@]}" run --suite standard --device cpu --only matmul --dtype fp8,int8 \
        --out "$OUT/lowp.json"
    skip compiled "no GPU (torch.compile of the model workloads takes minutes on a CPU)"
    step distributed 75 "$PY" -m torch.distributed.run --standalone --nproc-per-node 1 \
        -m subsidybench run --distributed --suite ci --device cpu --backend gloo \
        --only all_reduce,gpt_train --dtype fp32 --sizes 4KiB --budget 4 --timeout 60 \
        --out "$OUT/distributed.json"
fi
step energy 20 "$PY" bench/device_info.py "$DEVICE" --energy
step summary 30 "$PY" bench/device_summary.py "$OUT"

[ "$DRY" = 1 ] || cat "$OUT/summary.md"
echo "device check: $(($(date +%s) - START)) s; results, logs and summary.md in $OUT"
