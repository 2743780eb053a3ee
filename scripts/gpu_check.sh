#!/usr/bin/env bash
# The GPU check of the project, in one command (about 3 minutes on one H100/H200):
# the CUDA tests, the score benchmark on CUDA (with and without CUDA graphs), the
# GPU score against float64, and a 20-step SELFIES BO run on CUDA. Writes
# results/gpu/<date>.json (or --out DIR) with provenance.
#
#   SCALES_DATA_DIR=/path/to/data bash scripts/gpu_check.sh [--out DIR]
#
# Needs: the project's dependencies importable by ${PYTHON:-python3}, and
# $SCALES_DATA_DIR holding checkpoints/paper/{expressions_gru_1,smiles_gru_1},
# checkpoints/paper/smiles_vocab.yaml, moses/train.csv.gz and rd_filters/.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
: "${SCALES_DATA_DIR:?set SCALES_DATA_DIR to the data folder}"
export SCALES_DATA_DIR PYTHONUNBUFFERED=1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
exec "$PYTHON" scripts/gpu_check.py "$@"
