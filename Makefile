# One command each: `make run` serves the app, `make test` runs every test.
# Both set up what is missing (virtual environment, Python and npm packages).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 7071
DEPS   := $(VENV)/.deps-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
NODE_DEPS := node_modules/.deps-$(shell cat package.json package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
CHROMIUM := /usr/bin/chromium

.PHONY: deps run test migrate token bench load check-infra clean

deps: $(DEPS) $(NODE_DEPS)

$(DEPS): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.deps-* && touch $@

$(NODE_DEPS): package.json
	npm install --no-audit --no-fund --loglevel=error
	rm -f node_modules/.deps-* && touch $@

# Serve on http://127.0.0.1:$(PORT): Core Tools when installed, else the local host.
run: deps
	@if command -v func >/dev/null 2>&1; then \
		. $(BIN)/activate && func start --port $(PORT); \
	else \
		$(BIN)/python -m devhost --port $(PORT); \
	fi

test: deps $(CHROMIUM)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Headless Chromium for the API page's browser test (tests/frontend): Debian's
# package, installed once when missing (needs root, as on CI).
$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then echo "chromium is missing: run 'sudo apt-get install -y chromium'" >&2; exit 1; fi
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

migrate: deps
	$(BIN)/python -m shared.db.migrate

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

clean:
	rm -rf .local node_modules $(VENV)
