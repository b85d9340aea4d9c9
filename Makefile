PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench clean venv browser fuzz

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/truefans --workspace demo.duckdb demo --seed 7 --size small

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian's Chromium for the browser tests (Playwright never downloads a browser)
browser:
	@test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }

test: lint typecheck browser
	$(BIN)/python -m pytest -q

# large-budget fuzzing of every parser and the generic import (minutes; not in `make test`);
# FUZZ_EXAMPLES inputs per test, a failing input is kept in tests/data/fuzz_corpus/new/
FUZZ_EXAMPLES ?= 1500
fuzz: $(STAMP)
	TRUEFANS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -m fuzz tests/test_fuzz_parsers.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) demo.duckdb* truefans-report.html .pytest_cache .mypy_cache .ruff_cache
