# qtinfra: set-up, run, test.
#
#   make run    create .venv if missing, install qtinfra and quickfix, run the gateway
#   make test   the same set-up, start the test PostgreSQL, then ruff, mypy and pytest
#
# Set-up is tracked by stamp files inside .venv (so removing .venv resets them):
#   .venv/.stamps/deps      `pip install -e '.[dev]'`; redone when pyproject.toml changes
#   .venv/.stamps/quickfix  quickfix built from source with SSL and the PostgreSQL store,
#                           verified by scripts/check_quickfix.py
# `make reinstall` forgets both stamps; `make distclean` removes .venv.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
# `make test` runs its steps in the order listed, also under -j.
.NOTPARALLEL:

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMPS := $(VENV)/.stamps

QUICKFIX_VERSION  := 1.16.0
QUICKFIX_CPPFLAGS := -DHAVE_SSL=1 -DHAVE_POSTGRESQL=1 -I/usr/include/postgresql
QUICKFIX_LDFLAGS  := -Wl,--no-as-needed -lssl -lcrypto -lpq
QUICKFIX_PIP      := CPPFLAGS="$(QUICKFIX_CPPFLAGS)" LDFLAGS="$(QUICKFIX_LDFLAGS)" \
                     $(PY) -m pip install
QUICKFIX_PATCH    := patches/quickfix-$(QUICKFIX_VERSION)-logon-refusal.patch
QUICKFIX_SRC_DIR  := $(VENV)/quickfix-src

# The server scripts/test-postgres.sh prepares; set it yourself to use another server.
QTINFRA_TEST_PG_URL ?= postgresql+psycopg://qtinfra_test:qtinfra_test@127.0.0.1:5432/postgres
PYTEST_ARGS ?=

.PHONY: help install run test lint ruff-check ruff-format typecheck pytest test-postgres reinstall clean distclean

help:
	@echo "make run        set up (first time: ~6 min to build quickfix) and run the gateway"
	@echo "make test       set up, start the test PostgreSQL, ruff + mypy + pytest"
	@echo "make lint | typecheck | pytest | test-postgres   one step of make test"
	@echo "make reinstall  redo pip install and the quickfix check/build on next run"
	@echo "make clean      remove caches and var/;  make distclean  also removes .venv"

install: $(STAMPS)/deps $(STAMPS)/quickfix

run: install
	$(VENV)/bin/qtinfra run

# Every step runs even when an earlier one fails (CI shows all problems at once); make test
# fails if any did.
test: install
	$(MAKE) --no-print-directory -k test-postgres lint typecheck pytest

test-postgres:
	scripts/test-postgres.sh

lint: ruff-check ruff-format

ruff-check: $(STAMPS)/deps
	$(VENV)/bin/ruff check src tests

ruff-format: $(STAMPS)/deps
	$(VENV)/bin/ruff format --check src tests

typecheck: $(STAMPS)/deps
	$(VENV)/bin/mypy

pytest: install $(VENV)/bin/promtool
	QTINFRA_TEST_PG_URL='$(QTINFRA_TEST_PG_URL)' PROMTOOL='$(VENV)/bin/promtool' $(VENV)/bin/pytest $(PYTEST_ARGS)

# The alert rule tests' promtool (only the binary, from Debian's prometheus package).
$(VENV)/bin/promtool: | $(PY)
	scripts/install-promtool.sh $@

# --- set-up -------------------------------------------------------------------------

$(PY):
	scripts/check-build-deps.sh $(PYTHON)
	$(PYTHON) -m venv $(VENV)

$(STAMPS)/deps: pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[dev]'
	@mkdir -p $(@D) && touch $@

# quickfix is built from its sdist with our patch applied (patches/, see the header of
# the patch file): pip downloads the sdist, we patch it and build it with the flags. A
# build from a local directory is never served from pip's wheel cache, so a wheel built
# without the flags or without the patch cannot come back. The check imports the module,
# constructs the SSL acceptor and the PostgreSQL store factory (stubs throw "HAVE_... not
# enabled") and checks that a Logon for an unknown session gets a Logout (the patch).
$(STAMPS)/quickfix: scripts/check_quickfix.py $(QUICKFIX_PATCH) | $(PY)
	@if $(PY) scripts/check_quickfix.py; then exit 0; fi; \
	scripts/check-build-deps.sh $(PY); \
	rm -rf $(QUICKFIX_SRC_DIR) && mkdir -p $(QUICKFIX_SRC_DIR); \
	$(PY) -m pip download --no-deps --no-binary :all: -d $(QUICKFIX_SRC_DIR) quickfix==$(QUICKFIX_VERSION); \
	tar -xzf $(QUICKFIX_SRC_DIR)/quickfix-$(QUICKFIX_VERSION).tar.gz -C $(QUICKFIX_SRC_DIR); \
	patch -p1 -d $(QUICKFIX_SRC_DIR)/quickfix-$(QUICKFIX_VERSION) < $(QUICKFIX_PATCH); \
	echo "make: building quickfix $(QUICKFIX_VERSION) (patched) with SSL and PostgreSQL (about 6 minutes)"; \
	$(QUICKFIX_PIP) --force-reinstall --no-deps $(QUICKFIX_SRC_DIR)/quickfix-$(QUICKFIX_VERSION); \
	sha256sum $(QUICKFIX_PATCH) | cut -d' ' -f1 > $(VENV)/quickfix-patch.sha256; \
	$(PY) scripts/check_quickfix.py
	@mkdir -p $(@D) && touch $@

reinstall:
	rm -rf $(STAMPS)

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) src/*.egg-info
