# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo dev export test test-gpu lint format bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

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
test: install
	$(PY) -m pytest -q -p no:cacheprovider; code=$$?; if [ $$code -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$code

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
