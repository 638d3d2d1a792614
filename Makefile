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

$(DEPS_STAMP): $(BIN)/python requirements-dev.txt pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
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

format: $(DEPS_STAMP)
	cargo fmt --all
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

rust-test:
	cargo test --workspace --profile $(PROFILE)

py-test: build
	$(BIN)/pytest

clean:
	rm -rf $(VENV) target .pytest_cache
