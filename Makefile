# The course in two commands:  `make course` (set up, then open JupyterLab)  and  `make test`.
# Python 3.11 or 3.12 (pyproject's requires-python; the lock is tested on 3.11). Choose one with
# `make PYTHON=/path/to/python3.11 setup`; otherwise the first of python3.11, python3.12, python3.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
PYTHON_VERSION = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup course test test-fast test-portable notebooks doctor

setup: $(STAMP)

# torch is pinned to the CPU build's version: an unpinned torch pulls GBs of CUDA wheels.
# GPU users install the CUDA build of the same torch version first (see README), and pip keeps it.
$(STAMP): pyproject.toml requirements/lock.txt
	@echo "Using $(or $(PYTHON),no Python) (Python $(or $(PYTHON_VERSION),unknown))"
	@case "$(PYTHON_VERSION)" in 3.11|3.12) ;; *) \
	  echo "error: the course needs Python 3.11 or 3.12. Install Python 3.11, or name one with" \
	       "make PYTHON=/path/to/python3.11 $(or $(MAKECMDGOALS),setup)" >&2; exit 1;; esac
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/lock.txt "torch==2.13.0" -e ".[test]"
	touch $(STAMP)

course: setup
	$(BIN)/bertcourse doctor || true
	$(BIN)/jupyter lab notebooks/

test: setup
	BERTCOURSE_PROFILE=laptop $(BIN)/python -m pytest

# Unit tests only (no notebooks, no browser, no install of the built wheel), with pytest's cache on: `make test-fast ARGS=--lf`.
test-fast: setup
	BERTCOURSE_PROFILE=laptop $(BIN)/python -m pytest tests --ignore=tests/browser --ignore=tests/install -p no:nbval \
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
