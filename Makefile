# make run  - create .venv, install, serve http://127.0.0.1:5000
# make test - create .venv, install test tools and Debian packages the tests need, run every test
# make soak - 50 sessions at full speed for 10 minutes: the server's memory must stay flat
# make fuzz - 10,000 fuzzed Engine.IO/Socket.IO frames per async mode against the real server
# make conformance - the AMQP preset held against a real RabbitMQ (installs rabbitmq-server)
# make cluster - Redis, PROCESSES app processes and nginx on 127.0.0.1:CLUSTER_PORT (installs
#                redis-server and nginx); Ctrl-C stops them all
PYTHON ?= python3
PROCESSES ?= 2
CLUSTER_PORT ?= 8080
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench soak fuzz conformance cluster clean

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

# FUZZ_PAYLOADS frames per async mode (make test runs a slice of 300)
fuzz: $(VENV)/.testtools
	FUZZ_PAYLOADS=$${FUZZ_PAYLOADS:-10000} $(BIN)/python -m pytest tests/test_wire_fuzz.py -q -s --timeout=1800

conformance: $(VENV)/.testtools
	./scripts/system-deps.sh rabbitmq
	$(BIN)/python -m pytest tests/test_conformance_amqp.py -q --run-rabbitmq --timeout=1800

cluster: $(VENV)/.runtime
	./scripts/system-deps.sh cluster
	$(BIN)/python -m deploy.cluster --processes $(PROCESSES) --port $(CLUSTER_PORT)

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
