# The two commands a newcomer needs: `make serve` and `make test`.
# Each first makes sure .venv exists and holds the package with its dev extras
# (re-installed whenever pyproject.toml changes), then runs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: serve test browser lint typecheck pytest crash postgresql rabbitmq systemd bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# With a terminal, the shell runs revkv serve as its own job (set -m), so Ctrl-C reaches the
# server, which stops cleanly with exit 0, and not make, which would report "Interrupt".
# SERVE_ARGS: more flags for revkv serve, e.g. make serve SERVE_ARGS='--memory --port 9000'
SERVE_ARGS ?=
serve: $(STAMP)
	@if [ -t 0 ]; then set -m; fi; $(BIN)/revkv serve $(SERVE_ARGS)

test: $(STAMP) postgresql rabbitmq systemd browser lint typecheck
	REVKV_REQUIRE_POSTGRES=$$(test "$$(id -u)" = 0 && echo 1 || echo 0) $(BIN)/pytest $(PYTEST_ARGS)

# The PostgreSQL tests start their own server (tests/postgres.py) from Debian's package,
# installed here when missing. As root (CI) they must run; otherwise they may skip.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y postgresql; \
	  else echo "PostgreSQL is missing (sudo apt-get install postgresql): its tests skip" >&2; fi; }

# contrib/revkv.service is checked with systemd-analyze (tests/integration/test_contrib.py),
# from Debian's systemd package, installed here when missing (as root; else the test skips).
systemd:
	@command -v systemd-analyze >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y systemd; \
	  else echo "systemd-analyze is missing (sudo apt-get install systemd): its test skips" >&2; fi; }

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

pytest: $(STAMP) rabbitmq
	$(BIN)/pytest $(PYTEST_ARGS)

# The crash tests at full strength: 100 SIGKILLs of a real server under HTTP writes
# (`make test` runs the same tests with fewer kills). A few minutes.
crash: $(STAMP)
	REVKV_HTTP_CRASH_KILLS=100 $(BIN)/pytest -m crash -q -s -p no:randomly

# The dripline tests start their own RabbitMQ node (tests/rabbitmq.py); Debian's package
# is installed when missing (as root; otherwise those tests skip, saying how to install).
RABBITMQ_SERVER := /usr/lib/rabbitmq/bin/rabbitmq-server
rabbitmq:
	@test -x $(RABBITMQ_SERVER) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server; \
	  else echo "rabbitmq-server missing: sudo apt-get install -y rabbitmq-server"; fi; }

# Benchmarks print ratios against their peers (coopy, sqlite3, etcd); bench/http.py
# needs wrk and etcd-server from Debian and says how to install them; bench/sql.py wrk and
# postgresql. About 30 minutes.
bench: $(STAMP)
	$(BIN)/python bench/prevalence.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/odata.py
	$(BIN)/python bench/protocol.py
	$(BIN)/python bench/http.py
	$(BIN)/python bench/sql.py
	$(BIN)/python bench/amqp.py
	$(BIN)/python bench/broker.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
