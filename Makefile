# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the suite).
# Both create .venv when missing and (re)install only when pyproject.toml changed.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
DEMO_ARGS ?=

.PHONY: install demo test test-bench lint lab bench clean-data

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (found %s); set PYTHON=/path/to/python3.11" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -c 'from workbench.notebooks import ensure_kernel; ensure_kernel()'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(BIN)/wb demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/ruff check workbench live tests
	$(BIN)/python -m pytest -q -m "not benchmark"

# the benchmark commands run end to end on tiny settings (slow; numbers are printed, never asserted)
test-bench: $(STAMP)
	$(BIN)/python -m pytest -q -m benchmark

lint: $(STAMP)
	$(BIN)/ruff check workbench live tests

# JupyterLab on the project's notebooks, with the quant-workbench kernel (registered in .venv by install)
lab: $(STAMP)
	cd notebooks && ../$(BIN)/jupyter lab

bench: $(STAMP)
	$(BIN)/wb bench synth --tickers 5000 --days 1

clean-data:
	rm -rf datasets/*/ papermill_runs/*/
