# socialcare — every task a newcomer needs. `make run` starts the suite; `make test` tests it.
SHELL := /bin/bash
# uv from PATH, else the module that `make install` puts in the system Python.
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PY := $(UV) run --frozen python
export UV_LINK_MODE ?= copy
# Newer Vale releases pull a dependency the module proxy refuses; this one builds here.
BENCHES := bench/bus.py bench/ingest.py bench/guidelines.py bench/intents.py bench/event_loop.py \
	bench/routing.py bench/webhooks.py bench/kpi.py bench/replies.py
VALE_MODULE := github.com/vale-cli/vale/v3/cmd/vale@v3.21.0

.PHONY: install run down test test-unit lint format bench bench-routing bench-replies vale migrate kpi-rebuild eval-nlp retrain-intents train-sentiment clean help
.PHONY: image test-image

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install: ## Python deps (uv, locked) and the Kafka jars
	@command -v uv >/dev/null || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet uv
	$(UV) sync --frozen
	$(PY) scripts/infra.py kafka-fetch

run: install ## Kafka + the five services + the gateway on 127.0.0.1:8080 (SQLite); Ctrl-C stops all
	$(PY) -m scripts.run up

down: ## stop what `make run` started (from another terminal)
	@$(PY) -m scripts.run down

test: install ## every test, against a throwaway Kafka broker and PostgreSQL
	$(PY) scripts/infra.py postgres-install
	$(PY) scripts/infra.py chromium-install
	$(PY) scripts/infra.py with-infra --name test --kafka --postgres -- \
		$(UV) run --frozen pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-unit: ## fast tests that need no broker or database
	$(UV) run --frozen pytest -q -m "not integration" $(PYTEST_ARGS)

lint: ## ruff format check, ruff check, mypy --strict
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy shared services scripts bench tests

format: ## apply ruff format and fixes
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

migrate: ## upgrade every service's schema (SOCIALCARE_DATABASE_URL, SQLite files by default)
	$(PY) -m shared.migrations upgrade --all

kpi-rebuild: ## recompute kpi's rollups from its facts (SOCIALCARE_DATABASE_URL; BRAND=id for one brand)
	$(PY) -m services.kpi.rebuild $(if $(BRAND),--brand $(BRAND))

vale: ## Vale (Go module proxy) into .cache/bin, for bench/guidelines.py's comparison
	@test -x .cache/bin/vale || GOBIN=$(CURDIR)/.cache/bin go install $(VALE_MODULE)

bench: install vale ## every benchmark, against a throwaway Kafka broker and PostgreSQL
	$(PY) scripts/infra.py postgres-install
	$(PY) scripts/infra.py with-infra --name bench --kafka --postgres -- \
		bash -c 'for b in $(BENCHES); do echo "== $$b"; $(PY) $$b || exit 1; done'

bench-routing: install ## routing's benchmark alone (bench/routing.py), with a throwaway Kafka and PostgreSQL
	$(PY) scripts/infra.py postgres-install
	$(PY) scripts/infra.py with-infra --name bench-routing --kafka --postgres -- $(PY) bench/routing.py

bench-replies: install ## the replies benchmark alone (bench/replies.py), with a throwaway Kafka and PostgreSQL
	$(PY) scripts/infra.py postgres-install
	$(PY) scripts/infra.py with-infra --name bench-replies --kafka --postgres -- $(PY) bench/replies.py

eval-nlp: ## macro-F1, per-class F1 and CPU time of sentiment (and language accuracy) on the clean val splits
	$(PY) scripts/eval_nlp.py
	$(PY) scripts/eval_intents.py

retrain-intents: ## retrain the intent model (shipped set + EXAMPLES=exported.jsonl|csv, to MODEL=path); before/after figures
	$(PY) scripts/train_intents.py $(if $(EXAMPLES),--examples $(EXAMPLES)) $(if $(MODEL),--output $(MODEL))

train-sentiment: ## refit the sentiment model's weights on the project's own labelled posts (fixed seed)
	$(PY) scripts/train_sentiment.py

clean: ## remove local state (SQLite files, logs); keeps the Kafka jar cache
	rm -rf .run

# The container image (Containerfile). podman, runc and mmdebstrap come from Debian's packages
# when absent; the Debian base is cached in podman's storage and under .cache/image.
# `BASE_IMAGE=python:3.11-slim make image` builds on a registry's base instead.
image: install ## build the image socialcare:<version> with podman (prints its size)
	$(PY) -m scripts.image build

test-image: install ## each service's container against a real Kafka and PostgreSQL on this host
	$(PY) -m scripts.image test
