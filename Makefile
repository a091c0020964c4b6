# carebot: every target sets itself up; nothing is done by hand.
# `make run` and `make test` are the two commands a new machine needs.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Set-up re-runs only when these change.
DEPS := pyproject.toml constraints.txt

.PHONY: run test train bench check clean help

help:
	@echo "make run    chat in the terminal (or serve Slack / Teams when their settings are set)"
	@echo "make test   the whole test suite, including conversation replays"
	@echo "make train  train the NLU model (no-op when nothing changed)"
	@echo "make bench  benchmarks; writes benchmarks/results.json"

$(STAMP): $(DEPS)
	@scripts/make-venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/carebot run

train: $(STAMP)
	@$(BIN)/carebot train

# The Redis tests run against a real redis-server (Debian's package), which the tests start on a
# free loopback port and stop after; this installs the package when it is missing.
test: $(STAMP)
	@scripts/ensure-redis-server
	@$(BIN)/carebot train --quiet
	@$(BIN)/python -m pytest -q

bench: $(STAMP)
	@scripts/ensure-redis-server
	@$(BIN)/carebot bench

check: $(STAMP)
	@$(BIN)/carebot kb check

clean:
	rm -rf $(VENV) models var .pytest_cache
