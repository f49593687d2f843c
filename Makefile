# Set-up is idempotent: the first target that needs the environment builds it.
# torch is pinned first so pip takes the CPU wheel present on these machines instead of
# pulling several GB of CUDA packages; pyproject.toml itself accepts a range.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= atlas-report

.PHONY: setup atlas test lint bench-setup clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

atlas: setup
	$(BIN)/levinthal atlas --out $(OUT)

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: setup
	$(BIN)/ruff check src tests benchmarks

# Peers (pele, PyHessian, ASE ...) live only in the benchmark environment.
bench-setup:
	bash benchmarks/setup.sh

clean:
	rm -rf $(VENV) .bench-venv $(OUT)
