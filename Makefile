# The two commands a newcomer needs: `make run` and `make test`.
# Both create the virtualenv on first use (and again when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Start the app with demo data on the embedded defaults (SQLite + embedded Redis).
run: $(STAMP)
	SUPPORT_ENV=development PORT=$(PORT) $(BIN)/flask --app app devserver

## Lint and run the whole test suite (unit, web, jobs, browser), one pytest process per core.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n logical --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	bash bench/run_all.sh

clean:
	rm -rf $(VENV) instance/ .pytest_cache .ruff_cache
