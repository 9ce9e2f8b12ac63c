# The two commands a newcomer needs: `make serve` and `make test`.
# Each first makes sure .venv exists and holds the package with its dev extras
# (re-installed whenever pyproject.toml changes), then runs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: serve test lint typecheck pytest bench clean rabbitmq

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/revkv serve

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) rabbitmq
	$(BIN)/pytest $(PYTEST_ARGS)

# The dripline tests start their own RabbitMQ node (tests/rabbitmq.py); Debian's package
# is installed when missing (as root; otherwise those tests skip, saying how to install).
RABBITMQ_SERVER := /usr/lib/rabbitmq/bin/rabbitmq-server
rabbitmq:
	@test -x $(RABBITMQ_SERVER) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server; \
	  else echo "rabbitmq-server missing: sudo apt-get install -y rabbitmq-server"; fi; }

# Benchmarks print ratios against their peers (coopy, sqlite3, etcd); bench/http.py
# needs wrk and etcd-server from Debian and says how to install them. About 25 minutes.
bench: $(STAMP)
	$(BIN)/python bench/prevalence.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/odata.py
	$(BIN)/python bench/http.py
	$(BIN)/python bench/amqp.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
