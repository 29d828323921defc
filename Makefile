# gatewaylens — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export GATEWAYLENS_DB ?= data/gatewaylens.duckdb
export GATEWAYLENS_LANDING ?= data/landing
export DAGSTER_HOME ?= $(CURDIR)/.dagster

DEMO_DAYS ?= 365
DEMO_REQUESTS_PER_DAY ?= 2000
DEMO_SEED ?= 7
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: setup setup-run demo test test-fast dashboard dagster browser-deps java-deps bench clean help docs

help:
	@echo "make demo   - set up, generate a year of sample logs, materialize via Dagster, serve the dashboard"
	@echo "make test   - set up and run the whole test suite"
	@echo "make dagster - Dagster UI + daemon on http://127.0.0.1:3000"
	@echo "make docs   - regenerate the generated blocks of docs/ (data dictionary, configuration)"

# Two installs into one venv: what running gatewaylens needs (`make demo`, `make dashboard`,
# `make dagster`: the package alone) and, for `make test` / `make setup`, the Spark engine (the
# 'spark' extra: PySpark is ~500 MB) and the test tools ('dev'). uv (from PyPI, into the venv)
# downloads and installs in parallel; pip when uv is unavailable. Times: docs/operations.md.
RUN_STAMP := $(VENV)/.installed-run
define install
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install -q uv 2>&1 | grep -v "^WARNING: Location" || true
	@if [ -x $(BIN)/uv ] && $(BIN)/uv pip install --python $(BIN)/python -q -e '$(1)'; then :; else \
	  echo "uv unavailable or failed: installing with pip"; \
	  $(BIN)/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true; \
	  $(BIN)/python -m pip install -q -e '$(1)' 2>&1 | grep -v "^WARNING: Location" || true; fi
endef

$(RUN_STAMP): pyproject.toml
	$(call install,.)
	$(BIN)/python -c "import gatewaylens, pipelines, dagster, streamlit"
	@touch $(RUN_STAMP)

FULL := .[dev,spark]
$(STAMP): pyproject.toml
	$(call install,$(FULL))
	$(BIN)/python -c "import gatewaylens, pipelines, dagster, streamlit, playwright, pyspark, dagster_pyspark"
	@touch $(STAMP) $(RUN_STAMP)

setup: $(STAMP)
setup-run: $(RUN_STAMP)

# Debian's Chromium for the real-browser tests (Playwright's own download does not work offline).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian chromium for browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "warning: no apt-get; install chromium to run browser tests"; fi; }

# A Java runtime for the Spark engine's tests (pyspark 4 needs Java 17+): Debian's default-jre-headless.
java-deps:
	@command -v java >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian default-jre-headless for the Spark tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null) \
	      || echo "warning: could not install a Java runtime; Spark tests will be skipped"; \
	  else echo "warning: no apt-get; install Java 17+ to run the Spark tests"; fi; }

test: setup browser-deps java-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --durations=20

test-fast: setup
	$(BIN)/python -m pytest -n 2 -q -m "not browser and not slow"

demo: setup-run
	@mkdir -p $(GATEWAYLENS_LANDING) $(DAGSTER_HOME)
	@if [ -z "$$(find $(GATEWAYLENS_LANDING) -name '*.jsonl*' -print -quit)" ]; then \
	  echo "generating $(DEMO_DAYS) days x $(DEMO_REQUESTS_PER_DAY) requests/day into $(GATEWAYLENS_LANDING)"; \
	  $(BIN)/gatewaylens generate --days $(DEMO_DAYS) --requests-per-day $(DEMO_REQUESTS_PER_DAY) \
	    --seed $(DEMO_SEED) --bad-rate 0.002 --out $(GATEWAYLENS_LANDING); \
	else echo "landing folder $(GATEWAYLENS_LANDING) already has logs; not generating"; fi
	# One "planned" event per asset for the year's single run instead of one per asset and day
	# (Dagster's SQLite event log otherwise writes ~12k rows before the first step starts).
	DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=true $(BIN)/python -m pipelines.materialize --all-landing
	@echo ""
	@echo "Dashboard:  http://$(HOST):$(PORT)"
	@echo "Dagster UI: make dagster   (then http://127.0.0.1:3000)"
	@echo "SQL:        $(BIN)/gatewaylens sql \"SELECT * FROM v_adoption_monthly\""
	@echo ""
	$(BIN)/streamlit run dashboards/app.py --server.address $(HOST) --server.port $(PORT) --server.headless true

dashboard: setup-run
	$(BIN)/streamlit run dashboards/app.py --server.address $(HOST) --server.port $(PORT) --server.headless true

dagster: setup-run
	@$(BIN)/python -m pipelines.instance  # writes $(DAGSTER_HOME)/dagster.yaml if missing (one writer run at a time)
	@echo "Dagster UI + daemon (schedules, sensors) on http://127.0.0.1:3000 - instance state in $(DAGSTER_HOME)"
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg dev --host 127.0.0.1 --port 3000

docs: setup
	$(BIN)/python -m gatewaylens.docgen

bench: setup
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf data .dagster
