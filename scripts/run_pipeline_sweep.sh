#!/usr/bin/env bash
# The runs behind the pipeline tables of chapters 4-6: GA and ScaLES under each
# published release's BO pipeline (scales_core.bo.presets), beside today's default.
#
#   bash scripts/run_pipeline_sweep.sh PRESET TASK [forward|reverse] [SEEDS...]
#
# PRESET: paper_2024 (first release: the paper's B tables) or paper_2025 (later release).
# TASK:   logp (10 seeds of GA and ScaLES 0.5/0.8/2), expressions (10 seeds of GA and
#         ScaLES 0.2/0.5/0.8/2; paper_2024 on the first release's own checkpoint
#         paper_2024_expressions), guacamol (3 seeds of GA and ScaLES 0.5/0.8, 12 steps; chapter 6 reads paper_2025,
#         the pipeline that wins on logP: scales_core.results.strongest_pipeline).
# Runs go to $OUT/<task>_<preset>/<task>/<method>/seed<k>.jsonl(.gz); resumable, and
# safe to start twice (a run file another process writes is locked).
# Under paper_2024 the GA is today's GA (the preset changes only the penalty and the
# direction of a penalized step): seed 0 is run as the check, the rest are read from
# the default sweep. Budget (one thread per run): logp ~3-7 min per run, 70 runs in all,
# ~6 h on 2 cores.
set -uo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export SCALES_DATA_DIR=${SCALES_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT:-results/bo}
PRESET=${1:?usage: run_pipeline_sweep.sh PRESET TASK [forward|reverse] [SEEDS...]}
TASK=${2:?usage: run_pipeline_sweep.sh PRESET TASK [forward|reverse] [SEEDS...]}
ORDER=${3:-forward}
shift 3 2>/dev/null || shift $#
SEEDS=("$@")
EXTRA=()
TASKS=("$TASK")
case "$TASK" in
logp) METHODS=(scales_0.8 ga scales_0.5 scales_2)
      [ ${#SEEDS[@]} -eq 0 ] && SEEDS=(0 1 2 3 4 5 6 7 8 9) ;;
expressions) METHODS=(scales_0.8 ga scales_0.5 scales_2 scales_0.2)
      [ ${#SEEDS[@]} -eq 0 ] && SEEDS=(0 1 2 3 4 5 6 7 8 9)
      [ "$PRESET" = paper_2024 ] && EXTRA+=(--checkpoint paper_2024_expressions) ;;
guacamol) METHODS=(scales_0.8 ga scales_0.5)
      TASKS=(ranolazine_mpo perindopril_mpo zaleplon_mpo); EXTRA+=(--steps 12)
      [ ${#SEEDS[@]} -eq 0 ] && SEEDS=(0 1 2) ;;
*) echo "no pipeline list for task $TASK (logp, expressions, guacamol)" >&2; exit 2 ;;
esac
JOBS=()
for seed in "${SEEDS[@]}"; do
    for task in "${TASKS[@]}"; do
        for method in "${METHODS[@]}"; do
            if [ "$PRESET" = paper_2024 ] && [ "$method" = ga ] && [ "$seed" != 0 ] \
                && [ "$TASK" != expressions ]; then continue; fi
            JOBS+=("$task:$seed:$method")
        done
    done
done
if [ "$ORDER" = reverse ]; then
    for ((i = ${#JOBS[@]} - 1; i >= 0; i--)); do ORDERED+=("${JOBS[i]}"); done
else
    ORDERED=("${JOBS[@]}")
fi
for job in "${ORDERED[@]}"; do
    IFS=: read -r task seed method <<< "$job"
    "$PY" -m scales_core.sweep --task "$task" --methods "$method" --seeds "$seed" \
        --out "$OUT/${TASK}_${PRESET}" --workers 1 --threads 1 --preset "$PRESET" "${EXTRA[@]}"
done
