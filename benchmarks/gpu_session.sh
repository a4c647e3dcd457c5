#!/usr/bin/env bash
# The GPU figures still owed, as one prepared script for a session that is lent a device.
#
# Here (once, with network or pip's cache):   bash benchmarks/gpu_session.sh prepare
#   copies the data sets the parts read into .gpu/data (../shared does not travel with the
#   working tree), downloads the d2l 0.17.6 wheel (the speed anchor) into .gpu/wheels and
#   ignores .gpu/ in .git/info/exclude. About 32 MB; the device tool carries at most 64 MiB.
# There (the device tool's `run`, carry [".gpu"]):  bash benchmarks/gpu_session.sh PART...
#   checks     pytest -m gpu, book-shape and WikiText-2-shape training speed, beam search
#              and generation, the scratch recurrences alone (issue 7): about 5 minutes on one H100/H200
#   quality:D  benchmarks/quality_lm.py --dataset D (issue 9; D = ptb, wikitext-2,
#              tinyshakespeare, timemachine), capped at BUDGET_S seconds (default 540);
#              quality:D:CONFIG runs another recipe for D, e.g.
#              quality:tinyshakespeare:configs/tinyshakespeare_lstm.toml (1.4532 at epoch 5 on a CPU)
#   ddp        benchmarks/ddp_lm.py --device cuda (issue 10; NCCL needs one GPU per process,
#              so NPROC defaults to the number of GPUs there, and 1 GPU only runs the baseline)
# Every part writes PART.log (at most 8 files come back from a device run) under $OUT (default
# runs/gpu_session), keeps going when one fails, and stops starting new parts once
# DEADLINE_S seconds (default 570) have passed, so a 600-s command returns its logs.
# TOGETHER=1 starts the quality parts at once, side by side on the one GPU, and waits for them all
# (the other parts still run one after another, before them): four recipes in one 600-s call where
# the session's device time is short (15 minutes, the machine's start included). Each run then
# shares the GPU, so its wall time is an upper bound on the time alone; the speed parts (`checks`)
# belong in a call of their own, with nothing beside them.
# DEVICE=cpu QUICK=1 runs the same commands small on a CPU: a check of this script itself.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/runs/gpu_session}
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
TOGETHER=${TOGETHER:-0}
DEADLINE_S=${DEADLINE_S:-570}
BUDGET_S=${BUDGET_S:-540}
PY=${PYTHON:-python3}
DATASETS="timemachine.txt fra-eng ptb wikitext-2 tinyshakespeare"

prepare() {
    mkdir -p .gpu/data .gpu/wheels
    for d in $DATASETS; do cp -r "${SEQLAB_DATA:-../shared/data}/$d" .gpu/data/; done
    "$PY" -m pip download -q --no-deps --only-binary=:all: -d .gpu/wheels d2l==0.17.6
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
    du -sh .gpu
}

if [ "${1:-}" = prepare ]; then prepare; exit; fi

mkdir -p "$OUT"
export PYTHONPATH=$ROOT PYTHONUNBUFFERED=1 SEQLAB_DATA=${SEQLAB_DATA:-$ROOT/.gpu/data}
if ls .gpu/wheels/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/gpu_site .gpu/wheels/*.whl \
        && export PYTHONPATH=$ROOT:/tmp/gpu_site
fi
START=$SECONDS
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  git rev-parse --short HEAD 2>/dev/null; date -u; } > "$OUT/machine.log" 2>&1

# step NAME SECONDS COMMAND...: one logged command, cut at its share of the time left
step() {
    local name=$1 limit=$2; shift 2
    local left=$((DEADLINE_S - (SECONDS - START)))
    if [ "$left" -lt 20 ]; then echo "skipped $name: deadline" | tee -a "$OUT/skipped.log"; return; fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name (at most ${limit}s): $*" | tee "$OUT/$name.log"
    local t0=$SECONDS
    timeout -k 30 "$limit" "$@" >> "$OUT/$name.log" 2>&1  # -k: a run that stops gracefully on TERM (saving, then testing) is killed 30 s on
    echo "== $name: exit $? after $((SECONDS - t0))s" | tee -a "$OUT/$name.log"
}

for part in "$@"; do
    case $part in
    checks)
        if [ "$QUICK" = 1 ]; then R=(--quick); W=(--wt-steps 1); B=(--epochs 0 --rounds 1 --batch 8 --no-book-loop)
            S=(--shapes 8x64 --repeats 2)
        else R=(--rounds 5 --epochs 4); W=(--wt-steps 20); B=(--rounds 10); S=(); fi
        # the scratch and concise rows apart: a part cut by its timeout prints no table, and on CUDA the
        # scratch rows also compile three models (the `compiled` entries, ~1 min each)
        step gpu_tests 120 "$PY" -m pytest tests -q -m gpu -p no:cacheprovider
        step speed_scratch 240 "$PY" -W ignore benchmarks/train_speed.py --device "$DEVICE" "${R[@]}" \
            --only rnn-scratch,gru-scratch,lstm-scratch
        step speed_concise 120 "$PY" -W ignore benchmarks/train_speed.py --device "$DEVICE" "${R[@]}" \
            --only rnn-concise,gru-concise,lstm-concise,deep-lstm
        step speed_wikitext 90 "$PY" -W ignore benchmarks/train_speed.py --device "$DEVICE" --skip-book --wikitext \
            "${R[@]}" "${W[@]}"
        step beam 120 "$PY" -W ignore benchmarks/beam_search.py --device "$DEVICE" "${B[@]}" --generation
        # the scratch recurrences alone: kernels a step (each a launch there) and time, forward + backward
        step recurrence 60 "$PY" -W ignore benchmarks/recurrence_steps.py --device "$DEVICE" "${S[@]}" ;;
    quality:*)
        spec=${part#quality:}; ds=${spec%%:*}; cfg=${spec#"$ds"}; cfg=${cfg#:}
        C=(); name=quality_$ds
        if [ -n "$cfg" ]; then C=(--config "$cfg"); name=${name}_$(basename "$cfg" .toml); fi
        Q=(--budget-s "$BUDGET_S"); [ "$QUICK" = 1 ] && Q=(--quick --set epochs=1 --set max_tokens=20000)
        # the run folder (checkpoints) stays on the machine: only logs come back
        rm -rf "/tmp/gpu_runs/$name"
        Q=(step "$name" $((BUDGET_S + 60)) "$PY" -W ignore benchmarks/quality_lm.py --dataset "$ds" "${C[@]}" \
            --device "$DEVICE" "${Q[@]}" --out "/tmp/gpu_runs/$name")
        if [ "$TOGETHER" = 1 ]; then "${Q[@]}" & else "${Q[@]}"; fi ;;
    ddp)
        n=${NPROC:-$("$PY" -c "import torch; print(max(torch.cuda.device_count(), 1))")}
        [ "$DEVICE" = cpu ] && n=${NPROC:-2}
        D=(); [ "$QUICK" = 1 ] && D=(--quick)
        step ddp 240 "$PY" benchmarks/ddp_lm.py --device "$DEVICE" --nproc "$n" "${D[@]}" ;;
    *) echo "unknown part $part: use prepare, checks, quality:DATASET or ddp" >&2; exit 2 ;;
    esac
done
wait  # the quality parts started together (TOGETHER=1)
echo "logs in $OUT: $(ls "$OUT" | tr '\n' ' ')"
