# passerelle: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
DIESEL_CLI_VERSION := 2.3.14

export PASSERELLE_BOOTSTRAP_ADMIN_EMAIL ?= admin@passerelle.test
export PASSERELLE_BOOTSTRAP_ADMIN_PASSWORD ?= admin-passerelle-2026

.PHONY: help run test layers-check fmt-check clippy unit-and-integration schema-check openapi openapi-check fuzz clients bench diesel-cli deps

help:
	@echo "make run    build, start the embedded database with demo data, serve on http://127.0.0.1:8080"
	@echo "make test   every test: format, clippy, unit and integration tests, schema and spec drift, API fuzzing,"
	@echo "            generated clients (TypeScript, Python) checked and run"
	@echo "make openapi  regenerate openapi/openapi.json     make bench  the benchmark"

# Build and serve with the embedded database and the demo data (kept in .passerelle/).
run:
	@scripts/install-deps.sh postgres
	$(CARGO) build --release
	PASSERELLE_DEMO_DATA=true ./target/release/passerelle serve

test: layers-check fmt-check clippy unit-and-integration schema-check openapi-check fuzz clients
	@echo "make test: every check passed"

# Modules call downward only (no import cycle) and no api names diesel (src/lib.rs); the
# self-test shows the check fails on a copy of src/ with a cycle or a query in an api.
layers-check:
	python3 scripts/check-layers.py --self-test
	python3 scripts/check-layers.py

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets --locked -- -D warnings

unit-and-integration:
	@scripts/install-deps.sh postgres build
	$(CARGO) test --locked

# src/schema.rs must be what `diesel print-schema` prints for the migrated database.
schema-check: diesel-cli
	@scripts/check-schema.sh

diesel-cli:
	@scripts/install-deps.sh build
	@command -v diesel >/dev/null 2>&1 && diesel --version | grep -q "Version: $(DIESEL_CLI_VERSION)$$" || \
		$(CARGO) install diesel_cli --version $(DIESEL_CLI_VERSION) --no-default-features --features postgres --locked

openapi:
	$(CARGO) run --quiet --locked -- openapi > openapi/openapi.json

# The committed spec is what the code serves.
openapi-check:
	@$(CARGO) run --quiet --locked -- openapi | diff -u openapi/openapi.json - \
		|| { echo "openapi/openapi.json is stale: run make openapi"; exit 1; }

fuzz:
	@scripts/install-deps.sh postgres build
	$(CARGO) build --locked
	scripts/fuzz.sh target/debug/passerelle

# The spec as partners' tools see it: validators, generated TypeScript and Python clients
# type-checked, a partner scenario run with the Python client.
clients:
	@scripts/install-deps.sh postgres build clients
	$(CARGO) build --locked
	scripts/clients.sh target/debug/passerelle

bench:
	@scripts/install-deps.sh postgres bench
	$(CARGO) build --release --locked
	scripts/bench.sh target/release/passerelle
