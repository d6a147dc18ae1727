"""Chaos: two tabs of the page follow one run through a proxy that cuts, freezes and slows their
connections at random, while a third tab steers the run with live changes. Every tab ends with
every event exactly once, in order, identical to the simulator's replay of the same settings and
live changes, and with the same final summary."""

from __future__ import annotations

import socket
import time

import pytest
from chaos_proxy import ChaosProxy
from conftest import run_server
from live_client import LabClient
from playwright import sync_api

from simulator import Config, Simulation

pytestmark = [pytest.mark.browser, pytest.mark.live]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
RUN = {"messages": 300, "interval": 100}  # 30 s of simulated time: 10 s at 3x
CHANGES = [{"semantics": "exactly-once"}, {"ordering": "sequence"}, {"loss": 0.4},
           {"semantics": "at-most-once"}, {"ordering": "none", "semantics": "at-least-once"}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(page, expr: str, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => {expr}"):
        assert time.monotonic() < deadline, f"timed out waiting for {what}: " + str(
            page.evaluate("() => window.__lab && [window.__lab.epoch, window.__lab.lastSeq, "
                          "window.__lab.done, window.__lab.connection()]"))
        time.sleep(0.1)


def _replay(events: list[dict]) -> tuple[Simulation, list[dict]]:
    """The run the server made, rebuilt from its settings and the live changes in its stream
    (what the command line computes for the same settings and changes)."""
    log = [{"at_seq": ev["seq"] - 1, "t": ev["t"], "op": "configure",
            "payload": {k: new for k, (_old, new) in ev["changes"].items()}}
           for ev in events if ev["type"] == "config_change"]
    made: list[dict] = []
    sim = Simulation.replay(Config.from_dict(RUN), log, sink=made.extend)
    made += sim.run()
    return sim, made


@pytest.mark.parametrize("async_mode", ["eventlet", "gevent"])
def test_tabs_behind_a_chaotic_network_end_with_the_whole_run_exactly_once(async_mode):
    proxy_port = _free_port()
    env = {"ALLOWED_ORIGINS": f"http://127.0.0.1:{proxy_port}", "PING_INTERVAL_S": "2",
           "PING_TIMEOUT_S": "2", "HEARTBEAT_S": "1"}
    with run_server(async_mode, extra_env=env) as url:
        proxy = ChaosProxy(int(url.rsplit(":", 1)[1]), port=proxy_port, seed=7)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            pages = []
            try:
                first = browser.new_page()
                first.goto(proxy.url + "/")
                _wait(first, "window.__lab && window.__lab.epoch !== null", "first snapshot")
                token = first.evaluate("() => sessionStorage.getItem('delivery-lab-token')")
                second = browser.new_context().new_page()
                second.add_init_script(
                    f"sessionStorage.setItem('delivery-lab-token', {token!r})")
                second.goto(proxy.url + "/")
                _wait(second, "window.__lab && window.__lab.epoch !== null", "second snapshot")
                pages = [first, second]
                steer = LabClient(url, token=token)  # straight to the server
                assert steer.session()["resumed"] is True
                steer.call("set_speed", {"speed": 3})
                epoch = steer.call("start", {"config": RUN})["epoch"]
                proxy.chaos_on.set()
                for change in CHANGES:
                    time.sleep(1.2)
                    answer = steer.call("configure", change)
                    assert answer["ok"] is True
                last = steer.wait_event("frame", timeout=60,
                                        where=lambda f: f["epoch"] == epoch and f["done"])
                assert last["seq"] > answer["seq"], "every change came before the end"
                proxy.chaos_on.clear()
                assert proxy.counts["cut"] + proxy.counts["freeze"] + proxy.counts["slow"] >= 5
                for page in pages:
                    _wait(page, f"window.__lab.epoch === {epoch} && window.__lab.done && "
                                f"window.__lab.lastSeq === {last['seq']}",
                          "the whole run")
                for page in pages:
                    events = page.evaluate("() => window.__lab.events()")
                    assert [e["seq"] for e in events] == list(range(1, last["seq"] + 1))
                    assert len([e for e in events if e["type"] == "config_change"]) == \
                        len(CHANGES)
                    sim, made = _replay(events)
                    assert events == made, "exactly the run's events, none changed"
                    assert sim.summary() == last["summary"]
                    assert page.evaluate("() => window.__lab.summary()") == last["summary"]
                    assert page.evaluate("() => window.__lab.gaps") == 0
                    assert page.evaluate("() => window.__lab.repeats") == 0
                steer.close()
            finally:
                proxy.close()
                browser.close()
