"""The same server under each production async mode (eventlet, gevent), with a fast control rate:
a run streams, hundreds of malformed payloads change nothing, the extra allowed origin works."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter

import pytest
import socketio
from conftest import run_server
from live_client import LabClient, events_of, merge

from simulator import Config, Simulation

pytestmark = pytest.mark.live
ENV = {"CONTROL_RATE": "5000", "CONTROL_BURST": "5000", "ALLOWED_ORIGINS": "http://lab.example",
       "MAX_SESSIONS_PER_CLIENT": "2", "MAX_EVENTS_PER_FRAME": "100000"}


@pytest.fixture(scope="module", params=["eventlet", "gevent"])
def server(request):
    with run_server(request.param, extra_env=ENV) as url:
        yield url


def health(url: str) -> dict:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
        return json.load(r)


def test_a_run_streams_every_kind_of_happening(server):
    c = LabClient(server)
    c.session()
    c.call("set_speed", {"speed": 50})
    epoch = c.call("start", {"config": {"messages": 10}})["epoch"]
    c.wait_event("frame", where=lambda f: f["epoch"] == epoch and f["done"])
    frames = merge(c.of("frame"), epoch)
    assert [f["stream_seq"] for f in frames] == list(range(1, len(frames) + 1))
    events = events_of(frames)
    assert events == Simulation(Config(messages=10)).run()
    kinds = Counter(e["type"] for e in events)
    assert all(kinds[k] for k in ("send", "drop", "timeout", "retry"))
    c.close()


def bad_payloads() -> list[tuple[str, tuple]]:
    """Hundreds of wrong messages: every control with junk, and names the server does not know."""
    junk = [1, -1, 2.5, "x", "", [], [1, 2], True, {"zzz": 1}, {"": None}, {"a" * 200: 1},
            {"nested": {"deep": [[[]]]}}]
    specific = {
        "set_speed": [{"speed": 0}, {"speed": 51}, {"speed": "1"}, {"speed": [1]},
                      {"speed": 1e308 * 10}, {"speed": float("nan")}, {"speed": 10**400}],
        "configure": [{"loss": 1.5}, {"loss": -0.1}, {"semantics": 1}, {"ordering": "random"},
                      {"messages": 5}, {"faults": ["x"]}, {"interval": 0}, {"timeout": "soon"},
                      {"max_retries": 2.5}, {"latency_min": 10**9},
                      {"timeout": 10**200}, {"loss": -(10**101)}, {"semantics": "x" * 20_000}],
        "start": [{"config": {"loss": 2}}, {"config": []}, {"config": {"messages": 10**5}},
                  {"config": {"faults": ["drop:data:0"]}}],
        "inject": [{"action": "drop"}, {"action": "drop", "packet": 10**6},
                   {"action": "delay", "packet": 1, "by": -5}, {"action": "crash"},
                   {"action": "restart", "node": "network"}, {"spec": "crash:consumer"},
                   {"spec": 7}],
        "step_back": [{"to_seq": 10**9}, {"to_seq": "1"}],
        "reset": [{"seed": "one"}, {"seed": 2**60}, {"seed": 10**150}],
        "resync": [{"epoch": "1", "since": 0}, {"since": 0}, {"epoch": 1, "since": -1}],
    }
    controls = ["start", "pause", "resume", "step", "step_back", "reset", "set_speed",
                "configure", "inject", "resync", "get_snapshot"]
    out = []
    for control in controls:
        for value in junk + specific.get(control, []):
            if control in ("pause", "resume", "step", "get_snapshot") and value == {}:
                continue
            out.append((control, (value,)))
        out.append((control, ({}, {})))  # two arguments
    for name in ("play", "delete", "admin", "frame", "error", "session", "snapshot"):
        out.append((name, ({},)))
    return out * 2


def test_hundreds_of_malformed_payloads_only_get_errors_and_the_run_goes_on(server):
    c = LabClient(server)
    c.session()
    c.call("set_speed", {"speed": 8})
    epoch = c.call("start", {"config": {"messages": 15}})["epoch"]
    payloads = bad_payloads()
    assert len(payloads) >= 300
    answers = []
    for event, args in payloads:
        answers.append(c.call(event, args))
    assert all(a["ok"] is False for a in answers)
    unasked = [("set_speed", {"speed": "x"}), ("configure", {"timeout": 10**300}), ("warp", {})]
    for event, payload in unasked:  # no acknowledgement asked for: the error event still comes
        c.sio.emit(event, payload)
    c.wait_for(lambda: len(c.of("error")) == len(answers) + len(unasked), what="every error")
    errors = [a["error"] for a in answers]
    assert all(set(e) == {"code", "message", "field"} and e["message"] for e in errors)
    assert "rate_limited" not in {e["code"] for e in errors}
    assert {e["code"] for e in errors} >= {"bad_payload", "unknown_field", "invalid_value",
                                           "unknown_event", "run_limit"}
    c.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
    others = {event for event, _ in c.received} - {"session", "snapshot", "frame", "error"}
    assert others == set()
    assert len(c.of("error")) == len(answers) + len(unasked)
    assert [s["epoch"] for s in c.of("snapshot")] == [epoch - 1, epoch]
    frames = merge(c.of("frame"), epoch)
    assert [f["stream_seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert events_of(frames) == Simulation(Config(messages=15)).run()  # unchanged by the junk
    assert health(server)["status"] == "ok"
    c.close()


def test_an_allowed_extra_origin_may_connect_and_others_may_not(server):
    c = LabClient(server, origin="http://lab.example")
    assert c.session()["resumed"] is False
    c.close()
    with pytest.raises(socketio.exceptions.ConnectionError):
        LabClient(server, origin="http://lab.example.evil")


def test_a_client_over_its_session_limit_is_told_why_and_disconnected(server):
    held = [LabClient(server) for _ in range(2)]
    extra = LabClient(server)
    error = extra.wait_event("error")
    assert error["code"] == "too_many_sessions" and error["message"]
    extra.wait_event("disconnect")  # the server ends the connection
    assert extra.of("session") == []
    for c in (*held, extra):
        c.close()


def test_stepping_far_back_rebuilds_the_run_and_its_older_events_by_replay(server):
    c = LabClient(server)
    kept = c.session()["limits"]["events_kept"]
    c.call("set_speed", {"speed": 50})
    config = {"messages": 300, "interval": 5, "seed": 4}
    epoch = c.call("start", {"config": config})["epoch"]
    c.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
    reference = Simulation(Config(**config)).run()
    target = len(reference) - 3 * kept  # far older than anything the session keeps
    assert target > kept
    answer = c.call("step_back", {"to_seq": target})  # replayed off the event loop
    assert answer["ok"] and answer["seq"] == target
    snap = c.wait_event("snapshot", where=lambda s: s["epoch"] == answer["epoch"])
    assert snap["events"] == reference[target - kept:target]
    c.close()
