#!/usr/bin/env bash
# The runs behind chapters 4 (App. B.3, expressions), 5 (App. B.4, penalized logP)
# and 6 (App. B.5-B.7, the three GuacaMol MPO tasks).
#
# Every run takes its dataset record's BO defaults (scales_core.datasets):
#   expressions: 500 encoded training expressions, 100 steps of q = 5, lr 0.5 (raw
#                units = 5 latent scales), GP box +-3 latent scales (+-0.3);
#   logp:        500 encoded ZINC molecules on smiles_gru_1, 100 steps of q = 5,
#                lr 0.01 (10 latent scales), box +-25 latent scales (+-0.025),
#                ScaLES on the first 30 positions;
#   guacamol:    ranolazine, perindopril and zaleplon MPO on the project's SELFIES
#                VAE: 1,000 encoded MOSES molecules that pass the quality filters,
#                q = 5, lr 1, box +-3, the published deep kernel GP, ScaLES on the
#                first 60 positions. "guacamol" runs the reduced protocol (12 steps,
#                seeds 0-2: ~5.5 h on 2 cores); "guacamol-full" the paper's (250
#                steps, seeds 0-9: ~650 core-hours; for GPUs or a Dask cluster).
# Runs go to $OUT/<task>/<method>/seed<k>.jsonl (guacamol: $OUT/guacamol/<task>/...),
# gzipped when finished; initial latents and cached ES scores go to $OUT/_init.
# Resumable and safe to run twice at once: finished runs are skipped, partial
# ones resumed, and a run another process is writing is left to it.
#
#   bash scripts/run_bo_sweep.sh TASK [forward|reverse|core] [workers]
#
# Seed-major: seeds 0-2 of every method first (a stopped sweep leaves all methods
# with the same seeds), then seeds 3-9 of the methods the issues want 10 seeds of.
# "reverse" walks the same list from the end, for a second process on another core.
# "core" first runs every seed of the methods the issues' paired comparisons need
# (expressions: GA against ScaLES 0.8/0.5 and the published variant at 0.5; logp: GA against
# ScaLES 0.8/2/0.5; guacamol: GA against ScaLES 0.8), then the
# forward list; finished runs are skipped, so it can follow or precede the others.
# Budget (2 cores, one thread per run):
#   expressions ~5 min per GA-type run; 3 x 20 + 7 x 11 = 137 runs, ~6 h;
#   logp ~4-8 min per run (ScaLES runs the longest); 3 x 17 + 7 x 9 = 114 runs, ~6 h;
#   guacamol 3 tasks x 3 seeds x 13 methods = 117 runs of 12 steps: ~15 s per
#   GA-type step, ~45 s per ScaLES step (one core), ~5.5 h.
# On one GPU, one process per GPU: 14 processes sharing an H100 took 440-530 s per
# run (results/gpu/2026-11-26-logp-sweep.json).
set -uo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export SCALES_DATA_DIR=${SCALES_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT:-results/bo}
TASK=${1:?usage: run_bo_sweep.sh TASK [forward|reverse] [workers]}
ORDER=${2:-forward}
WORKERS=${3:-1}
case "$TASK" in
expressions)
    TEN=(ga scales_0.5 scales_pub_0.5 scales_0.2 scales_0.8 scales_pub_0.2 scales_pub_0.8
         prior_0.5 prior_0.2 prior_0.8 scales_2)
    CORE=(ga scales_0.8 scales_pub_0.5 scales_0.5)
    THREE=(scales_es_50 uc_es_95 scales_es_25 scales_es_75 uc_es_75 uc_es_100
           lbfgs_1 lbfgs_5 lbfgs_25) ;;
logp)
    TEN=(ga scales_0.8 scales_0.5 scales_2 scales_0.2 scales_es_75 scales_es_50
         scales_es_25 uc_es_95)
    THREE=(prior_0.2 prior_0.5 prior_0.8 uc_es_75 uc_es_100 lbfgs_1 lbfgs_5 lbfgs_25)
    CORE=(ga scales_0.8 scales_2 scales_0.5) ;;
guacamol|guacamol-full)
    # UC is not run: the SELFIES VAE has no dropout, so its UC score is 0 everywhere
    TEN=()
    THREE=(ga scales_0.8 prior_0.8 scales_0.5 prior_0.5 scales_0.2 prior_0.2
           scales_es_50 scales_es_25 scales_es_75 lbfgs_1 lbfgs_5 lbfgs_10)
    CORE=(ga scales_0.8) ;;
*) echo "no sweep list for task $TASK (expressions, logp, guacamol, guacamol-full)" >&2
   exit 2 ;;
esac
JOBS=()
TASKS=("$TASK")
EXTRA=()
SEEDS=(0 1 2)
MORE=(3 4 5 6 7 8 9)
case "$TASK" in
guacamol) TASKS=(ranolazine_mpo perindopril_mpo zaleplon_mpo); OUT=$OUT/guacamol
          EXTRA=(--steps 12); MORE=() ;;
guacamol-full) TASKS=(ranolazine_mpo perindopril_mpo zaleplon_mpo); OUT=$OUT/guacamol_full
               MORE=(); SEEDS=(0 1 2 3 4 5 6 7 8 9) ;;
esac
if [ "$ORDER" = core ]; then
    for seed in "${SEEDS[@]}" "${MORE[@]}"; do
        for task in "${TASKS[@]}"; do JOBS+=("$task:$seed:${CORE[*]}"); done
    done
fi
for seed in "${SEEDS[@]}"; do
    for task in "${TASKS[@]}"; do JOBS+=("$task:$seed:${TEN[*]} ${THREE[*]}"); done
done
for seed in "${MORE[@]}"; do JOBS+=("$TASK:$seed:${TEN[*]}"); done
ORDERED=()
if [ "$ORDER" = reverse ]; then
    for ((i = ${#JOBS[@]} - 1; i >= 0; i--)); do ORDERED+=("${JOBS[i]}"); done
else
    ORDERED=("${JOBS[@]}")
fi
for job in "${ORDERED[@]}"; do
    task=${job%%:*}
    rest=${job#*:}
    seed=${rest%%:*}
    read -r -a methods <<< "${rest#*:}"
    [ "$ORDER" = reverse ] && methods=($(printf '%s\n' "${methods[@]}" | tac))
    "$PY" -m scales_core.sweep --task "$task" --methods "${methods[@]}" --seeds "$seed" \
        --out "$OUT" --workers "$WORKERS" --threads 1 "${EXTRA[@]}"
done
