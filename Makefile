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

# `make bench` measures the gateway against the simulator and peer gateways
# (bench/README.md). It builds the extension with the `release` profile into a
# venv of its own, bench/.venv, so `make run` and `make test` stay as they are.
BENCH_VENV := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.built-release

$(BENCH_VENV)/bin/python:
	$(PYTHON) -m venv $(BENCH_VENV)

$(BENCH_STAMP): $(BENCH_VENV)/bin/python bench/requirements.txt requirements-dev.txt pyproject.toml $(RUST_SOURCES)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	rm -rf $(BENCH_VENV)/wheels
	PYO3_PYTHON=$(abspath $(BENCH_VENV)/bin/python) $(BENCH_VENV)/bin/maturin build --quiet \
		--profile release --interpreter $(BENCH_VENV)/bin/python --out $(BENCH_VENV)/wheels
	$(BENCH_VENV)/bin/pip uninstall --quiet --yes assistiv-gateway
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check \
		-c requirements-dev.txt $(BENCH_VENV)/wheels/*.whl
	touch $@

bench: $(BENCH_STAMP)
	sh bench/install.sh
	$(BENCH_VENV)/bin/python bench/overhead.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) target .pytest_cache
