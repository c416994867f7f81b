# The few verbs a newcomer needs. Each bootstraps .venv from pyproject.toml on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-postgres lint format bench screenshots clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) on PATH (or PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: migrate the SQLite default, load the demo if empty, serve on http://$(HOST):$(PORT)
run: $(STAMP)
	$(BIN)/chargegroups db upgrade
	$(BIN)/chargegroups demo --if-empty
	$(BIN)/chargegroups serve --host $(HOST) --port $(PORT)

## test: the whole suite (SQLite; set CHARGEGROUPS_TEST_DATABASE_URL for PostgreSQL)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-postgres: the whole suite on the local PostgreSQL (a fresh database per run)
test-postgres: $(STAMP)
	CHARGEGROUPS_TEST_DATABASE_URL=$${CHARGEGROUPS_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/chargegroups_test} \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

## screenshots: refresh the README's pictures of the console (the browser tests take them)
screenshots: $(STAMP)
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

## bench: the decision benchmark at 1/100 scale beside the baselines (BENCH_ARGS="--div 1": full scale)
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python bench/decision_bench.py $(BENCH_ARGS)
