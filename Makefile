# Two entry points: `make test` and `make book`. Both create .venv when missing.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# quick (default) or full: which papermill parameter set `make book` runs
PARAMS ?= quick
# data and published checkpoints: $SCALES_DATA_DIR, else ../shared/data when present
SCALES_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export SCALES_DATA_DIR

.PHONY: install lint test book notebooks html book-pages book-structure benchmark gpu-check lab clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[book,test]'
	# guacamol's declared dependencies pull a TensorFlow-era stack: skip them
	$(PY) -m pip install --quiet --no-deps guacamol fcd
	touch $(STAMP)

install: $(STAMP)

# the style the package declares in pyproject.toml (ruff format and ruff check)
lint: install
	$(VENV)/bin/ruff format --check scales_core tests scripts
	$(VENV)/bin/ruff check scales_core tests scripts

test: lint
	$(PY) -m pytest -q

notebooks: install
	$(PY) scripts/run_notebooks.py --params $(PARAMS)

# --all: an incremental build would not repeat the warnings of unchanged pages
html: install
	$(VENV)/bin/jupyter-book build . --all -n -W --keep-going

book: notebooks html

# after a fresh build: no errors, warnings, machine paths, "nan" cells, captionless figures or
# (with Chromium) outputs wider than the column at 1280 px; a PNG of every page
# in _build/screenshots/ (headless Chromium, no network; skipped where Chromium is absent)
book-pages: html
	$(PY) scripts/book_check.py

# after `make book`: book/ keeps the figures, tables (and no errors) of the committed copies
book-structure: install
	$(PY) scripts/check_book_structure.py

benchmark: install
	$(PY) scripts/benchmark_score.py

# on a machine with a CUDA GPU: CUDA tests, GPU benchmark, 20-step BO; results/gpu/<date>.json
gpu-check: install
	PYTHON=$(abspath $(PY)) bash scripts/gpu_check.sh

# JupyterLab on the chapters' sources, with the data folder set
lab: install
	cd notebooks && ../$(VENV)/bin/jupyter lab

clean:
	rm -rf _build
