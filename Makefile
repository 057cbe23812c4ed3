# One task runner: `make serve`, `make test`, `make lint`, `make bench`, `make web`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-test serve test lint web bench

$(BIN)/accord: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

setup: $(BIN)/accord

setup-test: setup
	$(BIN)/pip install --quiet -e '.[test]'
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@command -v chromium >/dev/null || { echo "Chromium is needed for the browser tests: sudo apt-get install chromium"; exit 1; }

serve: setup
	$(BIN)/accord serve

test: setup-test
	$(BIN)/python -m pytest

lint:
	$(BIN)/ruff check server tests benchmarks
	$(BIN)/ruff format --check server tests benchmarks
	$(BIN)/mypy
	cd web && npm run check

web:
	cd web && npm run build

bench: setup-test
	$(BIN)/python -m benchmarks.run
