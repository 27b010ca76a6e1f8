# The README's commands. Everything installs into ./.venv from nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test bench format install clean

run: $(STAMP)
	$(BIN)/auditlog-server

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

# Benchmarks are not part of `make test` or CI: they measure, they do not pass or fail.
# About 35 minutes; writes bench/results/*.json and docs/benchmarks.md with its plot.
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null || { echo "make bench loads the server with wrk: sudo apt-get install wrk"; exit 1; }
	$(BIN)/python -m bench.interceptor_overhead
	$(BIN)/python -m bench.export_throughput
	$(BIN)/python -m bench.sealing_overhead
	$(BIN)/python -m bench.http_bench
	$(BIN)/python -m bench.profiles
	$(BIN)/python -m bench.sqlite_store
	$(BIN)/python -m bench.proofs
	$(BIN)/python -m bench.streams
	$(BIN)/python -m bench.report

install: $(STAMP)

# The client package (clients/python, what platform services install) goes in the same venv,
# so the server and its tests import the one interceptor.
$(STAMP): pyproject.toml constraints.txt clients/python/pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]' -e ./clients/python
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]' -e ./clients/python
	touch $(BENCH_STAMP)

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info clients/python/src/*.egg-info
