# The two commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_WHEELS := $(VENV)/wheels/.downloaded
DEMO_HOME ?= $(CURDIR)/.demo-home
JOBS ?= auto

.PHONY: demo test lint bench install demo-home clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask]'
	touch $(STAMP)

# Wheels of the installed pyarrow and pyzmq: tests build parser venvs from them offline.
$(TEST_WHEELS): $(STAMP)
	$(BIN)/python -m pip download --quiet --only-binary=:all: --no-deps --dest $(VENV)/wheels \
		$$($(BIN)/python -c 'from importlib.metadata import version as v; \
		print(*(f"{n}=={v(n)}" for n in ("pyarrow", "pyzmq")))')
	touch $@

install: $(STAMP) $(TEST_WHEELS)

# The example parsers' environments are built offline from the wheels `install` downloaded.
demo-home: install
	CASPARIAN_HOME=$(DEMO_HOME) CASPARIAN_WHEELS_DIR=$(CURDIR)/$(VENV)/wheels $(BIN)/python -m casparian_core.demo --examples examples --parsers parsers

demo: demo-home
	CASPARIAN_HOME=$(DEMO_HOME) $(BIN)/casparian tui

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -n $(JOBS) -q

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench: install $(BENCH_STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) $(DEMO_HOME)
