# awoooi: `make dev` runs the whole product on embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: dev test worker api bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[test]'
	# Bytecode even where PYTHONDONTWRITEBYTECODE is set: the worker's sandbox imports the workflow
	# modules for every new workflow, and compiling them from source each time showed in its profile.
	$(BIN)/python -m compileall -q core activities workflows worker starter
	touch $@

dev: $(VENV)/.installed
	$(BIN)/awoooi dev

test: $(VENV)/.installed
	# Five processes, each with its own servers: most tests wait on servers and timers, not on the CPU.
	$(BIN)/pytest -q -n 5 --dist worksteal

# The production parts on their own (set AWOOOI_TEMPORAL_ADDRESS and AWOOOI_REDIS_URL).
worker: $(VENV)/.installed
	$(BIN)/awoooi worker

api: $(VENV)/.installed
	$(BIN)/awoooi api

bench: $(VENV)/.installed
	$(BIN)/python bench/storm.py

clean:
	rm -rf $(VENV) *.egg-info
