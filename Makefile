# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install lock demo dev export test test-slow test-gpu lint format bench clean

# Locked installs: .venv is synced to uv.lock (exact versions, PyPI files checked by hash, torch the
# CPU wheel on disk), so every machine gets the same packages. uv itself, pinned, comes from the
# package index into .venv-tools the first time. --locked stops with uv's message when pyproject.toml's
# dependencies changed without `make lock`, instead of a package going missing at import time.
UV_VERSION := 0.13.9
TOOLS := .venv-tools
UV := $(TOOLS)/bin/uv

$(TOOLS)/.uv-$(UV_VERSION):
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	touch $@

# The venv is seeded with pip so that `.venv/bin/pip` keeps working; a sync removes what the lock lacks.
# No --python on sync: given a path (a pyenv shim, say) other than the venv's own interpreter, uv
# deletes and recreates the venv, unseeded.
$(VENV)/.installed: pyproject.toml uv.lock | $(TOOLS)/.uv-$(UV_VERSION)
	test -x $(PY) || $(UV) venv --seed --quiet --python $(PYTHON) --no-python-downloads $(VENV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --extra test --quiet --no-python-downloads \
	  || { echo "make install: uv sync failed; if uv.lock needs updating, run 'make lock' and commit uv.lock" >&2; exit 1; }
	touch $@

install: $(VENV)/.installed

# After a change to the dependencies in pyproject.toml: re-resolve uv.lock (commit it with the change).
lock: | $(TOOLS)/.uv-$(UV_VERSION)
	$(UV) lock --python $(PYTHON) --no-python-downloads

demo: install
	$(PY) scripts/demo.py

# The config's own instance (<data_dir>/dagster; WORKBENCH_CONFIG selects the config), runs whose
# process died released first.
dev: install
	home=$$($(PY) scripts/clean_stale_runs.py) && DAGSTER_HOME="$$home" exec $(VENV)/bin/dagster dev -w workspace.yaml

# A self-contained copy of the warehouse to share (tables, no views; with its images):
# <data_dir>/share/warehouse.duckdb, or TO=<folder>.
export: install
	$(PY) scripts/export_warehouse.py $(TO)

# pytest exits 5 when it collects no test; that is not a failure of the suite.
# The suite runs on one pytest-xdist worker per core (at most 4; TEST_WORKERS=1 runs it in one process).
# --dist loadfile keeps a file's tests on one worker, so a module's whole-graph fixture is built once.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
PYTEST = $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile
NO_TESTS_IS_FINE = code=$$?; if [ $$code -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$code

# The suite a developer runs: everything but the whole-graph runs marked `slow`.
test: install
	$(PYTEST) -m "not slow"; $(NO_TESTS_IS_FINE)

# The whole-graph runs (`@pytest.mark.slow`): the landing daemon, PostgreSQL + S3, a second scenario.
# CI (.ci/run) runs them after `make test`.
test-slow: install
	$(PYTEST) -m slow; $(NO_TESTS_IS_FINE)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-gpu: install
	$(PY) -m pytest -q -m gpu

clean:
	rm -rf data .dagster_home/storage .dagster_home/history .dagster_home/schedules .dagster_home/logs
