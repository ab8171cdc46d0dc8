#!/usr/bin/env bash
# One short GPU session (about 15 minutes of device time), prepared and tested on a CPU first.
#
#   benchmarks/gpu_session.sh [--smoke] bench                 # pretraining benchmark: BERT-Base, seq 128, bf16
#   benchmarks/gpu_session.sh [--smoke] qa                    # question answering on real SQuAD articles (~2 min on an H200)
#   benchmarks/gpu_session.sh [--smoke] notebooks [PREFIX..]  # gpu profile notebooks (default: 00-09)
#   benchmarks/gpu_session.sh [--smoke] all                   # machine info, bench, then every notebook
#
# Each part should fit one command of at most 10 minutes (`bench`: 3-4 minutes on an H100, a guess),
# so the notebooks go in parts (`notebooks 00 01 02 03`, `04 05`, `06 07`, `08 09`; docs/gpu-results.md):
# every call shares one course home under OUT, so notebook 04 finds the checkpoint 03 saved.
#
# Conditions (docs/gpu-results.md): no hub, so every hub checkpoint is served by all-MiniLM-L6-v2
# (BERTCOURSE_MODEL_OVERRIDES) and the datasets come from the real copies in DATA (default: the
# first of $BERTCOURSE_DATA_DIR, ../shared/data, shared/data). Lesson 03 pretrains for
# $BERTCOURSE_PRETRAIN_MINUTES minutes (default here 3, not the profile's 20: the session is short).
# --smoke cuts every budget (bertcourse run --smoke) and shrinks the benchmark, to test this
# script on a CPU. Results land in OUT (default artifacts/gpu-session, or $OUT): machine.txt,
# pretraining_speed.json/.txt, run-*/summary.md and summary.json.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=""
if [[ "${1:-}" == "--smoke" ]]; then smoke="--smoke"; shift; fi
part="${1:-all}"
shift || true

PYTHON="${PYTHON:-$( [[ -x .venv/bin/python ]] && echo .venv/bin/python || command -v python3 )}"
OUT="${OUT:-artifacts/gpu-session}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

for candidate in "${BERTCOURSE_DATA_DIR:-}" ../shared/data shared/data; do
  if [[ -n "$candidate" && -d "$candidate/emotion" ]]; then DATA="$(cd "$candidate" && pwd)"; break; fi
done
if [[ -z "${DATA:-}" ]]; then
  echo "No real data found: copy the course's shared/data folder here (or set BERTCOURSE_DATA_DIR)." >&2
  exit 2
fi

export BERTCOURSE_DATA_DIR="$DATA" BERTCOURSE_PROFILE=gpu BERTCOURSE_MODEL_OVERRIDES='*=all-MiniLM-L6-v2'
export BERTCOURSE_PRETRAIN_MINUTES="${BERTCOURSE_PRETRAIN_MINUTES:-3}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

machine() {
  {
    date -u +"date: %Y-%m-%d %H:%M UTC"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "GPU: none"
    "$PYTHON" -c "import sys, torch, transformers, datasets, accelerate; print('python', sys.version.split()[0], '| torch', torch.__version__, '| cuda', torch.version.cuda, '| transformers', transformers.__version__, '| datasets', datasets.__version__, '| accelerate', accelerate.__version__)"
    echo "data: $DATA | overrides: $BERTCOURSE_MODEL_OVERRIDES | pretraining minutes: $BERTCOURSE_PRETRAIN_MINUTES ${smoke:+| SMOKE}"
  } | tee "$OUT/machine.txt"
  "$PYTHON" -m bertcourse.tools.cli doctor > "$OUT/doctor.txt" 2>&1 || true
}

bench() {
  local sizes=(--model-size base --seq-len 128 --steps 15 --warmup 5 --rounds 2)  # batch 256, its CUDA default
  if [[ -n "$smoke" ]]; then sizes=(--model-size tiny-laptop --seq-len 128 --batch-size 4 --steps 1 --warmup 1 --rounds 1); fi
  "$PYTHON" benchmarks/pretraining_speed.py "${sizes[@]}" --data-dir "$DATA" \
    --json "$OUT/pretraining_speed.json" 2>&1 | tee "$OUT/pretraining_speed.txt"
}

qa() {  # issue 17's real-data benchmark: MiniLM on 38 SQuAD dev articles, scored on the other 10
  local sizes=(--epochs 2 --max-length 384 --stride 128)
  if [[ -n "$smoke" ]]; then sizes=(--max-train 32 --max-eval 16 --max-length 128 --stride 32); fi
  "$PYTHON" benchmarks/qa_finetune.py --data-dir "$DATA" "${sizes[@]}" 2>&1 | tee "$OUT/qa_finetune.txt"
}

notebooks() {
  local chosen=("$@")
  [[ ${#chosen[@]} -gt 0 ]] || chosen=(00 01 02 03 04 05 06 07 08 09)
  mkdir -p "$OUT/home"
  "$PYTHON" -m bertcourse.tools.cli run "${chosen[@]}" --profile gpu $smoke --no-html --timeout 1800 \
    --home "$OUT/home" --out "$OUT/run-${chosen[0]}-${chosen[-1]}"
}

case "$part" in
  bench) machine; bench ;;
  qa) machine; qa ;;
  notebooks) notebooks "$@" ;;
  all) machine; bench; qa; notebooks "$@" ;;
  *) echo "usage: $0 [--smoke] bench | qa | notebooks [PREFIX...] | all" >&2; exit 2 ;;
esac
