# microcred: `make help` lists the targets.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INTEROP := tests/interop
NODE_STAMP := $(INTEROP)/node_modules/.installed
# The platform tests run a second time against this PostgreSQL (trust auth on loopback).
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

.DEFAULT_GOAL := help
.PHONY: help install run tour test test-postgres lint typecheck unit bench bench-all bench-memory clean messages

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt src/microcred/vc/_speedups.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): $(INTEROP)/package.json $(INTEROP)/package-lock.json
	cd $(INTEROP) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) ## Create .venv and install microcred with its dev tools

run: $(STAMP) ## Start microcred at http://127.0.0.1:8000 on SQLite with demo data
	$(BIN)/microcred serve --demo --host 127.0.0.1 --port 8000

tour: $(STAMP) ## The five-minute command-line tour: key, signed credential, verify, tampered copy
	$(BIN)/microcred tour

lint: $(STAMP) ## ruff, import contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

messages: $(STAMP) ## Extract the marked strings into locale/messages.pot and merge them into each language
	$(BIN)/pybabel extract -F babel.cfg --no-location --omit-header --sort-output \
		-o src/microcred/locale/messages.pot .
	for lang in fr de es it; do \
		$(BIN)/pybabel update --no-wrap --omit-header --no-fuzzy-matching -l $$lang -D messages \
			-i src/microcred/locale/messages.pot -d src/microcred/locale || exit 1; \
	done

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

test: $(STAMP) $(NODE_STAMP) lint typecheck ## Everything: lint, types, all tests on SQLite, platform tests on PostgreSQL
	$(BIN)/python -m pytest
	MICROCRED_TEST_POSTGRES=$(POSTGRES_URL) $(BIN)/python -m pytest tests/platform

test-postgres: $(STAMP) $(NODE_STAMP) ## Only the platform tests, against PostgreSQL
	MICROCRED_TEST_POSTGRES=$(POSTGRES_URL) $(BIN)/python -m pytest tests/platform

unit: $(STAMP) ## Quick: tests without the database, the browser or Node.js
	$(BIN)/python -m pytest -m "not interop and not platform"

bench: $(STAMP) $(NODE_STAMP) ## Sign and verify per core against plain pyld, the Ed25519 floor and Digital Bazaar
	$(BIN)/python bench/sign_verify.py

bench-all: bench ## Also: wallet pages, a 250-credential record, bulk issuance, the verify endpoint under load (PostgreSQL)
	$(BIN)/python bench/wallet.py
	$(BIN)/python bench/records.py
	$(BIN)/python bench/bulk.py --rows 10000 --workers 2 --database $(POSTGRES_URL)
	$(BIN)/python bench/verify_load.py --workers 2 --credentials 1000 --connections 16 --database $(POSTGRES_URL)

bench-memory: $(STAMP) ## Server memory while 8 clients send 50 MB bodies for 30 s (limit: +50 MiB)
	$(BIN)/python bench/body_memory.py --seconds 30 --clients 8 --mb 50

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) $(INTEROP)/node_modules .pytest_cache .mypy_cache .ruff_cache
