#!/usr/bin/env bash
# Full runs behind chapter 4 (expressions BO). Resumable: rerun the same script and
# completed runs are skipped, partial runs continue from their records.
#   1. GA and ScaLES (lambda 0.5), seeds 0-9 (the chapter's headline comparison);
#   2. the other 15 methods of the paper, one seed at a time (seed-major, so that a
#      stopped script leaves every method with the same seeds; the slow L-BFGS runs first).
# Usage: bash scripts/run_expressions_bo.sh [last_seed_for_other_methods]   (default 2)
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export SCALES_DATA_DIR=${SCALES_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
PY=${PYTHON:-.venv/bin/python}
OUT=results/bo/expressions
COMMON=(--task expressions --steps 100 --out "$OUT" --workers 2 --threads 1)
"$PY" -m scales_core.sweep "${COMMON[@]}" --methods ga scales_0.5 --seeds 0 1 2 3 4 5 6 7 8 9
OTHERS=(lbfgs_1 lbfgs_5 lbfgs_25 scales_0.2 scales_0.8 scales_2 prior_0.2 prior_0.5 prior_0.8
        uc_es_75 uc_es_95 uc_es_100 scales_es_25 scales_es_50 scales_es_75)
for seed in $(seq 0 "${1:-2}"); do
    "$PY" -m scales_core.sweep "${COMMON[@]}" --methods "${OTHERS[@]}" --seeds "$seed"
done
