# The front door: `make dev` runs stowage locally, `make test` checks everything.
# Every tool comes from the project's own lock files; nothing is assumed installed
# except a Python 3.13 interpreter (pyenv's on these machines, or python3.13 on PATH).

SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
PY313 := $(or $(lastword $(sort $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.13*/bin/python3.13))),$(shell command -v python3.13 2>/dev/null && python3.13 -c '' 2>/dev/null && command -v python3.13))
TOOLS := .tools
UV := $(TOOLS)/uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SAM := $(TOOLS)/sam/bin/sam
CHECKOV := $(TOOLS)/checkov/bin/checkov
CHROMIUM := /usr/bin/chromium
# sam build (BuildMethod python3.13) needs python3.13 itself on PATH.
SAM_PATH := $(dir $(PY313)):$(PATH)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help install admin dev cleanup test lint typecheck validate unit integration e2e devstack-tests bench build deploy clean
.PHONY: scan scan-template scan-checkov scan-bandit scan-audit
.PHONY: openapi fuzz mutate web browser alarms

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY313):
	@echo "Python 3.13 not found: install it (pyenv install 3.13) or put python3.13 on PATH" >&2; exit 1

$(UV): | $(PY313)
	$(PY313) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/pip install -q uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PY313)
	touch $@

$(SAM): tools/sam.lock.txt | $(UV)
	$(UV) venv -q --allow-existing --python $(PY313) $(TOOLS)/sam
	$(UV) pip install -q --python $(TOOLS)/sam/bin/python --require-hashes -r tools/sam.lock.txt
	touch $@

# checkov, like SAM, pins libraries the project also uses: it gets its own locked env.
$(CHECKOV): tools/checkov.lock.txt | $(UV)
	$(UV) venv -q --allow-existing --python $(PY313) $(TOOLS)/checkov
	$(UV) pip install -q --python $(TOOLS)/checkov/bin/python --require-hashes -r tools/checkov.lock.txt
	touch $@

# tus-js-client for tests/e2e/test_tus.py, from its lock file; once installed it works offline.
TUS_JS := tests/tus/node_modules/.installed
$(TUS_JS): tests/tus/package.json tests/tus/package-lock.json
	npm ci --prefix tests/tus --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.synced $(SAM) $(CHECKOV) $(TUS_JS)  ## install every dependency from the lock files

dev: $(VENV)/.synced  ## run the local stack (S3 + DynamoDB + API) until Ctrl-C
	$(BIN)/python -m devstack

cleanup: $(VENV)/.synced  ## run the Cleanup function once against the running make dev stack
	$(BIN)/python -m devstack invoke Cleanup

test: lint typecheck validate scan $(TUS_JS) | $(CHROMIUM)  ## lint, type-check, validate and scan, run every test (but the slow ones)
	$(BIN)/pytest -q -m "not slow"

lint: $(VENV)/.synced  ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.synced  ## mypy (strict on the layer)
	$(BIN)/mypy layers/common/python/stowage functions devstack stowage_cli client/stowage_client

validate: $(VENV)/.synced $(SAM)  ## sam validate --lint and cfn-lint
	$(SAM) validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml

# The security scanners run side by side, each one's output kept together. A checkov
# finding is fixed or suppressed on its resource in template.yaml with the reason; a bandit
# one gets `# nosec BNNN  # reason` on its line; pip-audit says so when it could not run.
BANDIT_PATHS := layers/common/python/stowage functions devstack stowage_cli client/stowage_client tools
scan: $(VENV)/.synced $(CHECKOV)  ## cfn-lint (with informational checks), checkov, bandit, pip-audit
	@$(MAKE) --no-print-directory -j4 --output-sync=target scan-template scan-checkov scan-bandit scan-audit

scan-template:
	$(BIN)/cfn-lint template.yaml --include-checks I

scan-checkov:
	$(CHECKOV) --file template.yaml --framework cloudformation --skip-download --quiet --compact

scan-bandit:
	$(BIN)/bandit -q -r $(BANDIT_PATHS)

scan-audit:
	$(BIN)/python tools/audit_deps.py

unit: $(VENV)/.synced  ## unit tests only
	$(BIN)/pytest -q tests/unit

integration: $(VENV)/.synced  ## handlers under moto
	$(BIN)/pytest -q tests/integration

browser: $(VENV)/.synced | $(CHROMIUM)  ## the browser tests in Chromium, the slow ones too
	$(BIN)/pytest -q tests/browser

e2e: $(VENV)/.synced $(TUS_JS)  ## over HTTP against the local stack (STOWAGE_URL/STOWAGE_API_KEY for a deployed one)
	$(BIN)/pytest -q tests/e2e

# The browser tests drive Debian's Chromium (Playwright's own download is unreachable);
# installed once where it is missing (CI runs as root), a no-op where it is there.
$(CHROMIUM):
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q chromium

# The page's bundle, from web/package-lock.json (exact pins) with esbuild. Its output is
# committed (functions/web/static/), so `make dev` needs no Node; a unit test fails when
# it is stale (the hash of web/'s sources and lock it recorded).
web:  ## rebuild the upload page and the API reference (web/ -> functions/web/static/)
	cd web && npm ci --no-audit --no-fund && node build.mjs

openapi: $(VENV)/.synced  ## regenerate docs/openapi.json from template.yaml and the handlers
	PYTHONPATH=layers/common/python $(BIN)/python -m stowage_cli openapi

alarms: $(VENV)/.synced  ## regenerate the alarms and the dashboard at the end of template.yaml (tools/alarms.py)
	$(BIN)/python -m tools.alarms

fuzz: $(VENV)/.synced  ## schemathesis against the local stack, long: at least 5,000 requests
	STOWAGE_FUZZ_EXAMPLES=120 STOWAGE_FUZZ_SCENARIOS=350 STOWAGE_FUZZ_STEPS=10 \
	STOWAGE_FUZZ_MIN_REQUESTS=5000 $(BIN)/pytest -q -p no:logging tests/fuzz

# Not part of `make test`: about 35 minutes on 2 cores. GROUPS="identity keys" runs some.
mutate: $(VENV)/.synced  ## mutation testing of the core (mutmut), prints each group's score
	$(BIN)/python tools/mutate.py $(GROUPS)

admin: $(VENV)/.synced  ## API clients: make admin ARGS="create-client NAME" (or list-clients, rotate-key NAME, disable-client NAME; add --stack NAME before them for a deployment)
	PYTHONPATH=layers/common/python $(BIN)/python -m stowage_cli admin $(ARGS)

bench: $(VENV)/.synced  ## print performance figures (bench/)
	PYTHONPATH=layers/common/python $(BIN)/python -m bench

build: $(SAM)  ## sam build (arm64, no Docker needed)
	PATH="$(SAM_PATH)" $(SAM) build --template template.yaml

deploy: build  ## sam deploy --guided
	PATH="$(SAM_PATH)" $(SAM) deploy --guided

clean:  ## remove build output and local tool environments
	rm -rf .aws-sam $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
