# Two commands: `make run` and `make test`. Both create .venv and install when needed.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-soak test-fast lint proto proto-check smoke bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found %s)" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start NATS, the MongoDB-protocol server and all four services with demo data (Ctrl-C stops).
run: install
	$(VENV)/bin/omni run

## The whole suite against real servers, the soak tests included (CI runs it, within 15 minutes on 2 cores).
test: install
	$(PY) -m pytest

## Only the soak tests: processes killed and dependencies stopped under traffic: fail-over, outages, chaos (~3 min).
test-soak: install
	$(PY) -m pytest -m soak

## Everything but the slow end-to-end tests.
test-fast: install
	$(PY) -m pytest -m "not slow"

lint: install
	$(VENV)/bin/ruff check services tests scripts bench operator
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy bench/*.py
	$(VENV)/bin/lint-imports --no-cache

## Regenerate services/omnichannel/ from protos/.
proto: install
	$(PY) scripts/gen_protos.py

proto-check: install
	$(PY) scripts/gen_protos.py --check

## Bring the stack up, check every service is SERVING and is started again when killed, stop it.
smoke: install
	$(PY) -m pytest tests/devstack/test_run.py

clean:
	rm -rf $(VENV) .omni .mypy_cache .ruff_cache
