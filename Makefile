# One command sets everything up and runs the demo; another runs the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .uv/bin/uv)
# Installs compile every package to bytecode once. Where Python may not write it (PYTHONDONTWRITEBYTECODE,
# as on CI and in containers), each process otherwise compiled pandas, scipy, dbt and Dagster from
# source: 3-4 s in every dbt run and every Dagster step (DECISIONS.md, "Bytecode at install").
export UV_COMPILE_BYTECODE := 1

export RETENTION_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(RETENTION_DATA_DIR)/dagster_home

WEBHOOK_HOST ?= 127.0.0.1
WEBHOOK_PORT ?= 8787

CUSTOMERS ?= 5000
MONTHS ?= 18
SEED ?= 42
PROFILE ?= S

.PHONY: help install dbt-manifest demo test test-fast lint dev webhooks bench docs clean spark-check FORCE

help:
	@echo "make demo   set up, simulate a store and run the daily pipeline for every simulated day"
	@echo "make test   run the test suite"
	@echo "make lint   ruff and sqlfluff, as CI runs them"
	@echo "make test-fast  the unit tests and the dbt unit tests, no slow test (under 2 minutes)"
	@echo "make dev    start the Dagster UI and daemon (schedules and sensors run)"
	@echo "make webhooks  start the SendGrid and Twilio webhook receivers ($(WEBHOOK_HOST):$(WEBHOOK_PORT))"
	@echo "make docs   build the dbt docs site from the warehouse into $(RETENTION_DATA_DIR)/docs/index.html"
	@echo "make bench  benchmark the pipeline's stages on a simulated store (PROFILE=S|M|L, default S)"
	@echo "make dbt-manifest  parse the dbt project into $(MANIFEST) (demo, test, dev and docs do it first)"
	@echo "make spark-check  build a small simulated store with dbt on DuckDB and on Spark and compare every table"
	@echo "make clean  remove the data directory ($(RETENTION_DATA_DIR))"

.uv/bin/uv:
	python3 -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet
	@touch $@

install: $(VENV)/.installed

# The dbt manifest the Dagster definitions are built from, parsed again whenever the project changed.
# Importing the definitions never parses; without this file it fails and names this target.
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o -path dbt_project/logs -prune \
	-o -path dbt_project/dbt_packages -prune -o -type f \( -name '*.yml' -o -name '*.sql' -o -name '*.csv' -o -name '*.py' \) -print)

$(MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	cd dbt_project && DBT_SEND_ANONYMOUS_USAGE_STATS=false ../$(VENV)/bin/dbt parse --quiet --project-dir . --profiles-dir .
	@touch $@

dbt-manifest: $(MANIFEST)

# RETENTION_DAGSTER_PG_HOST set (with _PORT, _USER, _PASSWORD, _DB): the instance's storage on Postgres;
# unset: SQLite files in $(DAGSTER_HOME). Written on every run, so a change of setting counts.
DAGSTER_YAML_PARTS = orchestration/dagster.yaml \
	$(if $(RETENTION_DAGSTER_PG_HOST),orchestration/dagster.postgres.yaml,orchestration/dagster.sqlite.yaml)

$(DAGSTER_HOME)/dagster.yaml: $(DAGSTER_YAML_PARTS) FORCE
	@mkdir -p $(DAGSTER_HOME)
	cat $(DAGSTER_YAML_PARTS) | sed 's|@DAGSTER_HOME@|$(abspath $(DAGSTER_HOME))|g' > $@

FORCE:

demo: install dbt-manifest $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m orchestration.demo --customers $(CUSTOMERS) --months $(MONTHS) --seed $(SEED)

test: install dbt-manifest
	$(PY) -m pytest -q -n 2 --dist loadfile --durations=15 -rfE

# the same checks as .pre-commit-config.yaml
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests

# tests/conftest.py marks the slow modules; tests/test_dbt_unit_tests.py runs the dbt unit tests
test-fast: install
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not slow"

# the virtualenv's bin first on PATH: under `dagster dev` the dbt project re-parses with that dbt
dev: install dbt-manifest $(DAGSTER_HOME)/dagster.yaml
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dagster dev -w workspace.yaml

webhooks: install
	$(PY) -m retention.live.webhooks --host $(WEBHOOK_HOST) --port $(WEBHOOK_PORT) --data-dir "$(RETENTION_DATA_DIR)"

bench: install
	UV=$(UV) $(PY) -m bench --profile $(PROFILE)

# dbt docs generate --static against the data directory's warehouse, copied to $(RETENTION_DATA_DIR)/docs/index.html
docs: install dbt-manifest
	$(PY) -m retention.reports.docs

# The Spark half lives in its own virtualenv ($(SPARK_VENV), the `spark` dependency group), so
# `make install` stays small and the two never undo each other's sync. Needs java (Java 17).
SPARK_VENV := .venv-spark

$(SPARK_VENV)/.installed: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(SPARK_VENV) $(UV) sync --locked --quiet --group spark
	@touch $@

spark-check: $(SPARK_VENV)/.installed
	$(SPARK_VENV)/bin/python -m retention.engines.spark_check

clean:
	rm -rf "$(RETENTION_DATA_DIR)"
