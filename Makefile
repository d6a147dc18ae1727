# make run  - create .venv, install, serve http://127.0.0.1:5000
# make test - create .venv, install test tools and Debian packages the tests need, run every test
# make soak - 50 sessions at full speed for 10 minutes: the server's memory must stay flat
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV) && ./scripts/system-deps.sh venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.testtools: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/python app.py

lint: $(VENV)/.testtools
	$(BIN)/ruff check .

test: $(VENV)/.testtools
	./scripts/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(VENV)/.runtime
	$(BIN)/python -m bench

soak: $(VENV)/.runtime
	$(BIN)/python -m bench.soak --sessions 50 --minutes 10 --starvation

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
