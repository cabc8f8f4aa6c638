# The one command surface: people and CI run these targets.
#   make run     install what is needed, migrate, serve on 127.0.0.1:8000 (SQLite under ./data/)
#   make test    install what the tests need, run them
#   make check   format + lint + types + import contracts + migrations check + tests
#   make coverage the tests with statement coverage of src/
#   make fmt     format and fix what ruff can
#   make bench   run the benchmarks in bench/ (figures: docs/benchmarks.md)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TMP_DIR := $(shell mktemp -d -u /tmp/upwatch-check.XXXXXX)
# Two workers: the tests mostly wait on sockets and databases, and this machine has 2 cores.
# The 15 slowest tests are listed, to keep the suite's time in view.
PYTEST_ARGS ?= -n 2 --durations=15
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test coverage check lint fmt migrations-check browser bench install install-dev clean

run: $(VENV)/.runtime
	$(BIN)/upwatch db upgrade
	exec $(BIN)/upwatch serve --no-migrate

test: $(VENV)/.dev browser
	$(BIN)/pytest $(PYTEST_ARGS)

# The suite with statement coverage of src/ (its total is the figure to keep from falling).
coverage: $(VENV)/.dev browser
	$(BIN)/pytest $(PYTEST_ARGS) --cov --cov-report=term:skip-covered

check: lint migrations-check test

lint: $(VENV)/.dev
	$(BIN)/ruff format --check src tests tools bench
	$(BIN)/ruff check src tests tools bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/lint_sql.py

fmt: $(VENV)/.dev
	$(BIN)/ruff format src tests tools bench
	$(BIN)/ruff check --fix src tests tools bench

# `alembic upgrade head` then `alembic check` (models and migrations agree), on a scratch SQLite
# file and, when UPWATCH_TEST_DATABASE_URL is set, on a scratch PostgreSQL database.
migrations-check: $(VENV)/.dev
	UPWATCH_DATABASE_URL=sqlite:///$(TMP_DIR)/check.db $(BIN)/alembic upgrade head
	UPWATCH_DATABASE_URL=sqlite:///$(TMP_DIR)/check.db $(BIN)/alembic check
	rm -rf $(TMP_DIR)
	@if [ -n "$$UPWATCH_TEST_DATABASE_URL" ]; then \
		set -e; url=$$($(BIN)/python tools/pg_scratch.py create upwatch_migrations_check); \
		UPWATCH_DATABASE_URL=$$url $(BIN)/alembic upgrade head; \
		UPWATCH_DATABASE_URL=$$url $(BIN)/alembic check; \
		$(BIN)/python tools/pg_scratch.py drop upwatch_migrations_check; \
	else echo "UPWATCH_TEST_DATABASE_URL is not set: migrations checked on SQLite only"; fi

# Each benchmark prints a summary and, last, one JSON line. BENCH_DATABASE_URL=postgresql://...
# runs them on a scratch PostgreSQL database too.
bench: $(VENV)/.dev
	$(BIN)/python bench/idle.py
	$(BIN)/python bench/deadlines.py
	$(BIN)/python bench/pings.py
	$(BIN)/python bench/checks.py --monitors 10000 --interval 60 --duration 120
	$(BIN)/python bench/checks.py --monitors 100000 --interval 60 --duration 120
	$(BIN)/python bench/api.py --monitors 100000 --history-monitors 2000 --days 30
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/streams.py
	@if [ -n "$$BENCH_DATABASE_URL" ]; then \
		$(BIN)/python bench/idle.py --database-url "$$BENCH_DATABASE_URL" && \
		$(BIN)/python bench/deadlines.py --database-url "$$BENCH_DATABASE_URL" && \
		$(BIN)/python bench/pings.py --database-url "$$BENCH_DATABASE_URL" && \
		$(BIN)/python bench/pings.py --processes 2 --database-url "$$BENCH_DATABASE_URL" && \
		$(BIN)/python bench/checks.py --monitors 10000 --interval 60 --duration 120 \
			--database-url "$$BENCH_DATABASE_URL" && \
		$(BIN)/python bench/checks.py --monitors 30000 --interval 60 --duration 120 \
			--workers 2 --database-url "$$BENCH_DATABASE_URL" && \
		$(BIN)/python bench/checks.py --monitors 100000 --interval 60 --duration 120 \
			--workers 2 --database-url "$$BENCH_DATABASE_URL" && \
		$(BIN)/python bench/api.py --monitors 100000 --history-monitors 2000 --days 30 \
			--database-url "$$BENCH_DATABASE_URL" && \
		$(BIN)/python bench/storage.py --database-url "$$BENCH_DATABASE_URL"; fi

# Browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@sh tools/ensure-chromium.sh

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Upwatch needs Python 3.11 or newer: run make with PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Versions are pinned in constraints.txt so every machine installs the same set.
$(VENV)/.runtime: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet --constraint constraints.txt --editable .
	@touch $@

$(VENV)/.dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet --constraint constraints.txt --editable ".[dev]"
	@touch $@ $(VENV)/.runtime

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
