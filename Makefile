# Two entry points: `make run` starts the gateway, `make test` runs every check.
# Both build only what changed since the last run.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= fast
export PYO3_PYTHON := $(abspath $(BIN)/python)

RUST_SOURCES := Cargo.toml Cargo.lock $(shell find rust_core -type f -not -path '*/target/*')
DEPS_STAMP := $(VENV)/.deps-installed
BUILD_STAMP := $(VENV)/.built-$(PROFILE)

.PHONY: run test build lint format rust-test py-test bench clean

run: build
	$(BIN)/assistiv-gateway serve

test: build lint rust-test py-test

build: $(BUILD_STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "Python 3.11 or newer is required (set PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(DEPS_STAMP): $(BIN)/python requirements-dev.txt pyproject.toml sdk/python/pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -e sdk/python
	touch $@

$(BUILD_STAMP): $(DEPS_STAMP) $(RUST_SOURCES)
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/maturin develop --quiet --profile $(PROFILE) >/dev/null
	rm -f $(VENV)/.built-*
	touch $@

lint: $(DEPS_STAMP)
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --profile $(PROFILE) -- -D warnings
	cargo clippy --workspace --lib --features python --profile $(PROFILE) -- -D warnings
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ruff check sdk/python
	$(BIN)/ruff format --check sdk/python
	$(BIN)/mypy --config-file sdk/python/pyproject.toml sdk/python/src

format: $(DEPS_STAMP)
	cargo fmt --all
	$(BIN)/ruff format . sdk/python
	$(BIN)/ruff check --fix . sdk/python

rust-test:
	cargo test --workspace --profile $(PROFILE)

# The SDK's tests run as a session of their own: they import the gateway's
# session fixtures, which would otherwise be defined twice in one session.
py-test: build
	$(BIN)/pytest
	$(BIN)/pytest sdk/python/tests

clean:
	rm -rf $(VENV) target .pytest_cache
