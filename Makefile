# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run admin test lint typecheck pytest migrate clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

run: $(VENV)/.installed  ## serve on the embedded default at http://$(HOST):$(PORT)
	$(BIN)/pixelpress serve --host $(HOST) --port $(PORT)

migrate: $(VENV)/.installed
	$(BIN)/pixelpress migrate

# Prompts for what ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD (environment) do not give.
admin: $(VENV)/.installed  ## create an admin user in the server's database (`make run`'s ./var by default)
	@$(BIN)/pixelpress users create-admin \
	  $${ADMIN_USERNAME:+--username "$$ADMIN_USERNAME"} \
	  $${ADMIN_EMAIL:+--email "$$ADMIN_EMAIL"} \
	  $${ADMIN_PASSWORD:+--password "$$ADMIN_PASSWORD"}

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --no-cache src tests
	$(BIN)/ruff format --no-cache --check src tests

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest  ## ruff, mypy and the whole test suite

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

bench: $(VENV)/.installed-dev  ## the benchmarks of bench/README.md (wrk recommended: apt-get install wrk)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/encode_cost.py
