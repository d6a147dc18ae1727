"""Shared fixtures: the real server started as a subprocess on a free loopback port."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SERVER_PIDS: dict[str, int] = {}  # base URL -> process id of the server run_server started


def free_port() -> int:
    """A free loopback port, never one handed out before in this test run (deploy.cluster's,
    shared with the tests of several processes)."""
    from deploy.cluster import free_port as fresh

    return fresh()


@contextlib.contextmanager
def run_server(async_mode: str = "eventlet", extra_env: dict | None = None, args: tuple = ()):
    """Start ``python app.py`` on a free port; yield its base URL; stop it afterwards."""
    port = free_port()
    env = dict(os.environ)
    env.update({"ASYNC_MODE": async_mode, "PYTHONUNBUFFERED": "1"})
    env.update(extra_env or {})
    log = ARTIFACTS / f"server-{async_mode}-{port}.log"
    log.parent.mkdir(exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port),
             *args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        SERVER_PIDS[url] = proc.pid
        try:
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{log.read_text()}")
                try:
                    with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                        if json.load(r).get("status") == "ok":
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not answer /healthz:\n{log.read_text()}")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def live_server():
    """The real server under the default (eventlet) async mode, shared by a test session."""
    with run_server("eventlet") as url:
        yield url


@pytest.fixture(scope="session")
def relay_server():
    """The real server running the toy relay protocol (tests/toy_relay) for new sessions:
    a protocol added as a module of its own, loaded by the server's settings."""
    with run_server("eventlet", {"PROTOCOL_MODULES": "tests.toy_relay",
                                 "PROTOCOL": "relay"}) as url:
        yield url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_addoption(parser):
    parser.addoption("--run-rabbitmq", action="store_true", default=False,
                     help="collect the AMQP conformance tests, which start a real RabbitMQ "
                          "(make conformance)")


def pytest_ignore_collect(collection_path, config):
    """The RabbitMQ conformance tests are a target of their own (``make conformance``): not
    collected by ``make test`` at all, rather than collected and skipped."""
    if collection_path.name == "test_conformance_amqp.py":
        return not config.getoption("--run-rabbitmq")
    return None
