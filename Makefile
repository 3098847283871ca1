# The two commands of the README: `make up` (install, then run a node on embedded defaults)
# and `make test` (install, then lint, type-check and run the test suite).
VENV ?= .venv
BIN := $(VENV)/bin
BUF := .tools/node_modules/.bin/buf

.PHONY: install up test lint protos system-deps

$(BIN)/stenograph: pyproject.toml clients/python/pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch is pinned to 2.13.0 in pyproject.toml: its CPU build is the one served locally.
	$(BIN)/pip install -q -e clients/python -e '.[dev]'
	touch $@

install: $(BIN)/stenograph

up: install
	$(BIN)/stenograph up

# espeak-ng and sox synthesise and convert test speech.
system-deps:
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q espeak-ng sox)

$(BUF):
	npm install --silent --no-audit --no-fund --prefix .tools @bufbuild/buf

protos: install
	$(BIN)/python scripts/gen_protos.py

lint: install $(BUF)
	$(BUF) lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install system-deps lint
	$(BIN)/pytest
