# `make run`: the whole platform with demo tenants.  `make test`: everything CI checks.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test stop lint clean-var

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devstack run

test: $(STAMP)
	$(BIN)/python -m devstack test

# Stops the embedded PostgreSQL and Redis under var/ (Ctrl-C of `make run` stops the ones it started).
stop:
	$(BIN)/python -m devstack stop

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports

clean-var:
	rm -rf var
