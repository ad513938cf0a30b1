#!/usr/bin/env bash
# A GPU machine's check of the scale-out path, in under 5 minutes:
# the throughput table (default, XLA, mixed precision, all GPUs against one
# device) for the small model, then a 200-step smoke run under
# --strategy=mirrored on every GPU.
#
#     bash benchmarks/gpu_check.sh            # PYTHON=... to pick the interpreter
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
BENCH=(benchmarks/train_throughput.py --models=small --windows=3 --window_s=2)
export TF_CPP_MIN_LOG_LEVEL=2

command -v nvidia-smi >/dev/null && nvidia-smi -L
echo "== XLA against the plain step"
"$PY" "${BENCH[@]}" --compare=xla
echo "== mixed precision (mixed_float16) against float32"
"$PY" "${BENCH[@]}" --compare=precision --mixed_precision=mixed_float16
echo "== MirroredStrategy: 1 replica and all GPUs against default"
"$PY" "${BENCH[@]}" --strategy=default,mirrored

echo "== 200-step smoke run, --strategy=mirrored (all GPUs)"
RUN=$(mktemp -d)
trap 'rm -rf "$RUN"' EXIT
# 200 steps: one stage of 200 batches of 128 (the embedded dSprites).
"$PY" -m provlae_tf.main --dataset=dsprites --max_examples=25600 \
    --batch_size=128 --epoch_size=1 --train_seq=1 --info_images=0 \
    --log_every=50 --strategy=mirrored --checkpoint_dir="$RUN/run"
grep -q "Stage 1 finished" "$RUN/run/train.log" && echo "gpu_check: OK"
