# crossmargin: `make demo` and `make test` set everything up on first use (idempotent, fast when present).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# Local node binaries (anvil, hardhat) and the venv first; ape-vyper finds the pip vyper through VVM_BINARY_PATH.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export VVM_BINARY_PATH := $(CURDIR)/$(VENV)/vvm
export MPLBACKEND := Agg

PYTEST_ARGS ?=
# Test workers (pytest-xdist): one per core, at most 4; whole files go to one worker so module fixtures
# (an anvil, a deployment, a Hardhat node) are built once. JOBS=0 runs in-process.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
XDIST := $(if $(filter 0 1,$(JOBS)),,-n $(JOBS) --dist loadfile)

.PHONY: all install demo test test-fast test-integration bench fuzz clean

all: test

install: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.lock pyproject.toml
	@echo "==> python venv ($(PYTHON)) from requirements.lock"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -qq -r requirements.lock
	@$(PY) -m pip install -qq --no-deps --no-build-isolation -e .
	@mkdir -p $(VENV)/vvm && ln -sf ../bin/vyper $(VENV)/vvm/vyper-0.4.3
	@touch $@

$(NODE_STAMP): package-lock.json
	@echo "==> node_modules (anvil, cast, hardhat) from package-lock.json"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: install
	@$(VENV)/bin/crossmargin demo

test: install
	@$(PY) -m pytest -q $(XDIST) $(PYTEST_ARGS)

test-fast: install
	@$(PY) -m pytest -q $(XDIST) -m "not integration" $(PYTEST_ARGS)

test-integration: install
	@$(PY) -m pytest -q $(XDIST) -m integration $(PYTEST_ARGS)

bench: install
	@$(PY) -m benchmarks

fuzz: install
	@$(VENV)/bin/crossmargin fuzz --steps 100000

clean:
	rm -rf $(VENV) node_modules .build .pytest_cache .hypothesis
