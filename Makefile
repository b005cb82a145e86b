# The two commands: `make run` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/supportbot db upgrade
	$(BIN)/supportbot run

# Import contracts, lint and types first, then the suite on SQLite, then its database tests again on PostgreSQL (skipped
# when none answers).
test: $(VENV)/.installed-test
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q
	SUPPORTBOT_TEST_DB=postgres $(BIN)/python -m pytest -q -rs

# The in-process tests only: no subprocesses, second processes or crash restarts (marked `slow`).
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(VENV)/.installed-test
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed-run
	$(BIN)/supportbot bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

# `make` alone, or `make help`: what each target does.
.DEFAULT_GOAL := help
.PHONY: help
help:
	@echo "make run    create .venv, install, migrate the database and start the bot"
	@echo "            (a chat in the terminal when no Slack or Discord credentials are set)"
	@echo "make test   create .venv with the test extras and run the whole test suite"
	@echo "            (SQLite, then the database tests again on PostgreSQL when one answers)"
	@echo "make test-fast  the in-process tests only (no subprocesses or crash restarts)"
	@echo "make lint   import contracts, ruff and mypy (make test runs them first)"
	@echo "make bench  the benchmarks (supportbot bench; docs/performance.md)"
	@echo "make clean  remove .venv and build leftovers"
	@echo "Then: .venv/bin/supportbot --help (or: source .venv/bin/activate; supportbot --help)"
