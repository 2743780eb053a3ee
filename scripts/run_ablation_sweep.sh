#!/usr/bin/env bash
# Which component of a release's pipeline carries its effect (issue 27, item 2): from the
# preset, switch ONE component back to today's default per arm, on 5 paired seeds.
#
#   bash scripts/run_ablation_sweep.sh PRESET TASK METHOD [forward|reverse]
#   bash scripts/run_ablation_sweep.sh paper_2024 logp scales_0.8
#
# Arms: scales_core.bo.presets.ABLATION_ARMS (paper_2024: tau, clip, direction, jacobian;
# paper_2025: formula, anchor, dropout, prior, refit, invalid, positions).
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
# one line per arm: NAME<TAB>arguments added to the preset's command
mapfile -t ARMS < <("$PY" -c 'import sys
from scales_core.bo.presets import ablation_arguments
for arm, args in ablation_arguments(sys.argv[1]).items():
    print(arm, " ".join(args), sep="\t")' "$PRESET")
[ ${#ARMS[@]} -gt 0 ] || exit 2
JOBS=()
for seed in "${SEEDS[@]}"; do for arm in "${ARMS[@]}"; do JOBS+=("$seed|$arm"); done; done
if [ "$ORDER" = reverse ]; then
    ORDERED=(); for ((i = ${#JOBS[@]} - 1; i >= 0; i--)); do ORDERED+=("${JOBS[i]}"); done
else
    ORDERED=("${JOBS[@]}")
fi
for job in "${ORDERED[@]}"; do
    seed=${job%%|*}; arm=${job#*|}; name=${arm%%$'\t'*}
    read -r -a extra <<< "${arm#*$'\t'}"
    "$PY" -m scales_core.sweep --task "$TASK" --methods "$METHOD" --seeds "$seed" --workers 1 \
        --threads 1 --preset "$PRESET" --out "$OUT/${TASK}_ablation_${PRESET}/$name" "${extra[@]}"
done
