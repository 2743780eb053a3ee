#!/usr/bin/env bash
# The runs behind chapter 4 (App. B.3 in the VAE's own geometry, issue 9 items 4-5).
#
# Every run takes the expressions record's defaults (scales_core.datasets): 500 encoded
# training expressions, 100 steps of q = 5, lr 0.5 (raw units = 5 latent scales) and
# the GP box +-3 latent scales (+-0.3). Runs are written to
# results/bo/expressions/<method>/seed<k>.jsonl and gzipped when finished
# (seed<k>.jsonl.gz). Resumable and safe to run twice at once: finished runs are
# skipped, partial ones resumed, and a run another process is writing is left to it.
#
#   bash scripts/run_expressions_bo.sh [forward|reverse] [workers]
#
# Seed-major: seeds 0-2 of every method first (so a stopped sweep leaves all methods
# with the same seeds), then seeds 3-9 of the 11 methods the issue wants 10 seeds of.
# For two cores, start it twice with "forward": the second process finds the run the
# first is writing locked (reported as failed, harmless) and takes the next one.
# "reverse" walks the list from the end instead.
# Budget (2 cores, one thread per run): ~6 min per GA-type run, ~9 per L-BFGS run;
# 3 x 20 + 7 x 11 = 137 runs, about 7 hours.
set -uo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export SCALES_DATA_DIR=${SCALES_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT:-results/bo}
ORDER=${1:-forward}
WORKERS=${2:-1}
TEN=(ga scales_0.5 scales_pub_0.5 scales_0.2 scales_0.8 scales_pub_0.2 scales_pub_0.8
     prior_0.5 prior_0.2 prior_0.8 scales_2)
THREE=(scales_es_50 uc_es_95 scales_es_25 scales_es_75 uc_es_75 uc_es_100 lbfgs_1 lbfgs_5 lbfgs_25)
JOBS=()
for seed in 0 1 2; do JOBS+=("$seed:${TEN[*]} ${THREE[*]}"); done
for seed in 3 4 5 6 7 8 9; do JOBS+=("$seed:${TEN[*]}"); done
if [ "$ORDER" = reverse ]; then
    for ((i = ${#JOBS[@]} - 1; i >= 0; i--)); do ORDERED+=("${JOBS[i]}"); done
else
    ORDERED=("${JOBS[@]}")
fi
for job in "${ORDERED[@]}"; do
    seed=${job%%:*}
    read -r -a methods <<< "${job#*:}"
    [ "$ORDER" = reverse ] && methods=($(printf '%s\n' "${methods[@]}" | tac))
    "$PY" -m scales_core.sweep --task expressions --methods "${methods[@]}" --seeds "$seed" \
        --out "$OUT" --workers "$WORKERS" --threads 1
done
