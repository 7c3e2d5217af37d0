# qrtrace — every set-up step lives here, so a fresh machine needs only python3, pip and make.
#   make demo   bootstrap (first time) and run the end-to-end demo on the embedded default
#   make test   bootstrap (first time) and run lint, type checks and the test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced-stamp
RUN := $(UV) run --frozen --no-sync

export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup demo test lint typecheck pytest bench perf-smoke native-client clean distclean protos protos-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# uv is installed into a private folder with pip --target: that works without python3-venv
# and on Debian's "externally managed" system Python alike.
$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(TOOLS) "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-groups
	@touch $@

setup: $(STAMP) ## create .venv with the locked dependencies

demo: $(STAMP) ## run the end-to-end demo (synthetic city, embedded default)
	$(RUN) qrtrace demo

lint: $(STAMP) ## ruff lint + format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: $(STAMP) ## mypy, strict on our packages
	$(RUN) mypy

pytest: $(STAMP) ## the test suite only
	$(RUN) pytest -q

protos: $(STAMP) ## regenerate api/protos/**/*_pb2*.py from the .proto files
	scripts/gen_protos.sh

protos-check: $(STAMP) ## fail when the committed generated code differs from a fresh run
	scripts/gen_protos.sh --check

test: protos-check lint typecheck pytest ## lint, type checks and tests (what CI runs)

# The ingest bench's unary load client is C++ (bench/native/unary_load.cc): a Python client
# costs the shared cores as much CPU per call as the server. Debian's gRPC C++ builds it.
NATIVE_PACKAGES := g++ pkg-config libgrpc++-dev
native-client: $(STAMP) ## build the C++ unary load client of the ingest bench (apt-installs its packages)
	@if ! command -v g++ >/dev/null || ! pkg-config --exists grpc++ 2>/dev/null; then \
		(apt-get update -q && apt-get install -y -q --no-install-recommends $(NATIVE_PACKAGES)) \
		|| echo "native-client: could not apt-get install $(NATIVE_PACKAGES)"; \
	fi
	@$(RUN) python -c "from bench.native_unary import available as a; w = a(); \
		print('native unary client:', w and f'unavailable ({w}); the bench uses Python clients' or 'ready')"

BENCH_SIZE ?= medium
bench: $(STAMP) native-client ## every bench group with its baseline (BENCH_SIZE=small|medium|large)
	$(RUN) qrtrace bench --size $(BENCH_SIZE)

perf-smoke: $(STAMP) native-client ## CI: small bench with its ratio gates, then a 30 s locust load smoke
	$(RUN) qrtrace bench --size small --check
	$(RUN) qrtrace loadtest --seconds 30

clean: ## remove caches and outputs (keeps .venv)
	rm -rf .numba_cache .mypy_cache .ruff_cache .pytest_cache .benchmarks qrtrace-data \
		bench-results load-test-results

distclean: clean ## also remove the environment and bootstrap tools
	rm -rf $(VENV) $(TOOLS)
