# The two commands a newcomer needs: `make serve` and `make test`.
# Each first makes sure .venv exists and holds the package with its dev extras
# (re-installed whenever pyproject.toml changes), then runs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: serve test browser lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/revkv serve

test: $(STAMP) browser lint typecheck pytest

# The web page's tests drive Debian's chromium with Playwright (Playwright's own browser
# download is not reachable everywhere); without it they skip, saying how to install it.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } || \
	  echo "chromium could not be installed (apt-get install chromium): the browser tests will skip"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# Benchmarks print ratios against their peers (coopy, sqlite3, etcd); bench/http.py
# needs wrk and etcd-server from Debian and says how to install them. About 25 minutes.
bench: $(STAMP)
	$(BIN)/python bench/prevalence.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/odata.py
	$(BIN)/python bench/http.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
