# floe ingestion: the two commands are `make demo` and `make test`; both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := $(shell sed -n 's/^uv==//p' requirements.lock)
STAMP := $(VENV)/.floe-installed
PYTEST_ARGS ?=

.PHONY: help venv demo test lint typecheck docs services services-stop lock clean

help:
	@echo "make demo   - run the quickstart into the embedded Iceberg catalog"
	@echo "make test   - lint, type-check and run every test (starts the test services)"
	@echo "make docs   - serve the documentation site (mkdocs) on localhost"
	@echo "make lock   - regenerate requirements.lock from requirements.in"

venv: $(STAMP)

$(STAMP): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "floe needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync -q --python $(BIN)/python requirements.lock
	@touch $(STAMP)

lock:
	$(BIN)/uv pip compile -q requirements.in --python-version 3.11 -o requirements.lock

services:
	@bash scripts/services.sh start >/dev/null

services-stop:
	@bash scripts/services.sh stop

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy
	cd plugins/floe-ingestion-dlt && ../../$(BIN)/mypy src
	cd plugins/floe-ingestion-airbyte && ../../$(BIN)/mypy src

test: venv services lint typecheck
	$(BIN)/python -X importtime -c "import floe_core" 2>&1 | tail -n 1
	$(BIN)/pytest $(PYTEST_ARGS)

docs: venv
	$(BIN)/mkdocs serve

demo: venv
	$(BIN)/python examples/quickstart/demo.py

clean:
	rm -rf $(VENV) .floe examples/*/.floe
