# creditcommit — the two commands of the README quick start:
#   make demo   set up .venv and run the end-to-end demo
#   make test   set up .venv with the dev tools and run every check
# and for CI and maintainers: make test-slow (the soak and benchmark-like tests), make docs.
# Only Python >= 3.11 and make are needed.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3 python; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
DOCS_STAMP := $(VENV)/.installed-docs
BENCH_STAMP := $(VENV)/.installed-bench
# Tests run on every core (pytest-xdist); override with `make test JOBS=1`.
JOBS ?= auto
# The adapter distributions (adapters/*/) are installed and tested with the core.
ADAPTERS := $(sort $(dir $(wildcard adapters/*/pyproject.toml)))
ADAPTER_INSTALL := $(foreach a,$(ADAPTERS),-e $(a:/=))

.PHONY: demo test test-slow docs bench lint typecheck unit clean help

help:
	@echo "make demo   - set up and run the end-to-end demo"
	@echo "make test   - set up and run lint, type check and all tests but the slow ones"
	@echo "make test-slow - the slow tests (soak, benchmark-like); CI runs them too"
	@echo "make docs   - build the documentation site into build/docs (warnings are errors)"
	@echo "make bench  - run every benchmark against its peers; writes docs/benchmarks.md"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.11 not found on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): $(BIN)/python pyproject.toml $(wildcard adapters/*/pyproject.toml)
	$(BIN)/python -m pip install --quiet -e . $(ADAPTER_INSTALL)
	@touch $@

# The bench extra too: the tests check each rule engine's translation of the rules against
# creditcommit's routes, and run every benchmark section at small sizes.
$(DEV_STAMP): $(BIN)/python pyproject.toml $(wildcard adapters/*/pyproject.toml)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]' $(ADAPTER_INSTALL)
	@touch $@ $(RUN_STAMP) $(BENCH_STAMP)

$(DOCS_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	@touch $@

demo: $(RUN_STAMP)
	$(BIN)/creditcommit demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP)
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(BIN)/python -m pytest -W error \
		-n $(JOBS) -m "not slow"

# Exit code 5 means no test carries the marker: nothing to run is not a failure.
test-slow: $(DEV_STAMP)
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(BIN)/python -m pytest -W error \
		-n $(JOBS) -m slow || test $$? -eq 5

$(BENCH_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@touch $@

# Not part of make test: timings need a quiet machine. Ratios are against peers run alongside.
bench: $(BENCH_STAMP) $(RUN_STAMP)
	$(BIN)/python benchmarks/run.py

docs: $(DOCS_STAMP) $(DEV_STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs build/docs
	@echo "documentation: build/docs/index.html"

test: lint typecheck unit

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build dist \
		docs/reference/_generated
