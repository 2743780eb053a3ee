#!/usr/bin/env bash
# Which component of a release's pipeline carries its effect (issue 27, item 2): from the
# preset, switch ONE component back to today's default per arm, on 5 paired seeds.
#
#   bash scripts/run_ablation_sweep.sh PRESET TASK METHOD [forward|reverse]
#   bash scripts/run_ablation_sweep.sh paper_2024 logp scales_0.8
#
# Arms (BOConfig fields; "-" marks a component the preset already shares with the default):
#   paper_2024: tau (scales_tau=null: rho 1), clip (logit_clip=null), direction (sum),
#               jacobian (forward-mode instead of finite differences)
#   paper_2025: formula (paper, c), anchor (current), dropout (off), prior (unit), tau (null),
#               refit (every_step), invalid (lowest), positions (the record's 30)
# Runs go to $OUT/<task>_ablation_<preset>/<arm>/<task>/<method>/seed<k>.jsonl(.gz); the
# preset's own runs (scripts/run_pipeline_sweep.sh) are the reference arm.
# Budget: logp ~10-15 min per run on one thread: 4 arms x 5 seeds ~ 4-5 h (paper_2024).
set -uo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export SCALES_DATA_DIR=${SCALES_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT:-results/bo}
PRESET=${1:?usage: run_ablation_sweep.sh PRESET TASK METHOD [forward|reverse]}
TASK=${2:?usage: run_ablation_sweep.sh PRESET TASK METHOD [forward|reverse]}
METHOD=${3:?usage: run_ablation_sweep.sh PRESET TASK METHOD [forward|reverse]}
ORDER=${4:-forward}
SEEDS=(0 1 2 3 4)
case "$PRESET" in
paper_2024) ARMS=("tau:scales_tau=null" "clip:logit_clip=null" "direction:direction=sum"
                  "jacobian:scales_jacobian=forward") ;;
paper_2025) ARMS=("formula:scales_formula=paper scales_normalizer=c" "anchor:scales_anchor=current"
                  "dropout:scales_dropout=false" "prior:scales_prior=unit" "refit:refit=every_step"
                  "invalid:invalid=lowest" "positions:POSITIONS") ;;
*) echo "no ablation arms for preset $PRESET" >&2; exit 2 ;;
esac
JOBS=()
for seed in "${SEEDS[@]}"; do for arm in "${ARMS[@]}"; do JOBS+=("$seed|$arm"); done; done
if [ "$ORDER" = reverse ]; then
    ORDERED=(); for ((i = ${#JOBS[@]} - 1; i >= 0; i--)); do ORDERED+=("${JOBS[i]}"); done
else
    ORDERED=("${JOBS[@]}")
fi
for job in "${ORDERED[@]}"; do
    seed=${job%%|*}; arm=${job#*|}; name=${arm%%:*}; sets=${arm#*:}
    extra=(--set $sets)
    [ "$sets" = POSITIONS ] && extra=(--positions 30)
    "$PY" -m scales_core.sweep --task "$TASK" --methods "$METHOD" --seeds "$seed" --workers 1 \
        --threads 1 --preset "$PRESET" --out "$OUT/${TASK}_ablation_${PRESET}/$name" "${extra[@]}"
done
