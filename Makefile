# The course in two commands:  `make course` (set up, then open JupyterLab)  and  `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup course test test-fast test-portable notebooks doctor

setup: $(STAMP)

# torch is pinned to the CPU build's version: an unpinned torch pulls GBs of CUDA wheels.
# GPU users install the CUDA build of the same torch version first (see README), and pip keeps it.
$(STAMP): pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/lock.txt "torch==2.13.0" -e ".[test]"
	touch $(STAMP)

course: setup
	$(BIN)/bertcourse doctor || true
	$(BIN)/jupyter lab notebooks/

test: setup
	BERTCOURSE_PROFILE=laptop $(BIN)/python -m pytest

# Unit tests only (no notebooks, no browser), with pytest's cache on: `make test-fast ARGS=--lf`.
test-fast: setup
	BERTCOURSE_PROFILE=laptop $(BIN)/python -m pytest tests --ignore=tests/browser -p no:nbval \
		-o addopts="" $(ARGS)

# The notebooks under nbval with lower CPU kernels and one thread, standing in for other CPUs.
PORTABLE_VARIANTS := ATEN_CPU_CAPABILITY=avx2 ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1
test-portable: setup
	@for variant in $(PORTABLE_VARIANTS); do \
		echo "== nbval of every notebook with $$variant"; \
		env $$variant BERTCOURSE_PROFILE=laptop $(BIN)/python -m pytest notebooks -q || exit 1; \
	done

notebooks: setup
	$(BIN)/bertcourse notebooks

doctor: setup
	$(BIN)/bertcourse doctor
