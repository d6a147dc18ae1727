"""The real server (eventlet, a subprocess) streaming a run to a real Socket.IO client."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from live_client import LabClient, events_of, merge

from simulator import Config, Simulation

pytestmark = pytest.mark.live


@pytest.fixture
def client(live_server):
    c = LabClient(live_server)
    c.session()
    c.wait_event("snapshot")
    yield c
    c.close()


def run_to_end(c: LabClient, config: dict, speed: float = 50, timeout: float = 20) -> list[dict]:
    assert c.call("set_speed", {"speed": speed})["ok"]
    epoch = c.call("start", {"config": config})["epoch"]
    c.wait_event("frame", timeout=timeout, where=lambda f: f["epoch"] == epoch and f["done"])
    return merge(c.of("frame"), epoch)


def test_a_run_streams_sends_drops_timeouts_and_retries_in_order_and_paced(client):
    started = time.monotonic()
    frames = run_to_end(client, {"messages": 12})
    elapsed = time.monotonic() - started
    events = events_of(frames)
    assert [f["stream_seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert events == Simulation(Config(messages=12)).run()  # one seed, one stream
    kinds = Counter(e["type"] for e in events)
    assert all(kinds[k] > 0 for k in ("send", "drop", "timeout", "retry", "ack_deliver"))
    # never the future: each event is sent once simulated time has reached it
    assert all(e["t"] <= f["now"] for f in frames for e in f["events"])
    # paced: at 50x, the run takes at least its simulated length / 50 of wall time
    assert elapsed >= 0.8 * frames[-1]["now"] / 50 / 1000
    assert len(frames) <= 40 * elapsed + 2  # batched: about 30 frames a second at most


def test_switching_to_at_most_once_mid_run_stops_retries_from_that_instant(client):
    client.call("set_speed", {"speed": 50})
    epoch = client.call("start", {"config": {"messages": 0, "seed": 3, "loss": 0.3,
                                             "ack_loss": 0.3}})["epoch"]

    def seen(kind, after=0):
        return [e for e in events_of(merge(client.of("frame"), epoch))
                if e["type"] == kind and e["seq"] > after]

    client.wait_for(lambda: len(seen("retry")) >= 2, what="two retries")
    at = client.call("configure", {"semantics": "at-most-once"})["seq"]
    client.wait_for(lambda: len(seen("send", after=at)) >= 12, what="sends after the switch")
    change = next(e for e in seen("config_change") if "semantics" in e["changes"])
    assert change["seq"] == at
    assert seen("retry", after=at) == []  # nothing is resent once at-most-once is on
    assert all(e["attempt"] == 1 for e in seen("send", after=at))

    at = client.call("configure", {"ordering": "sequence"})["seq"]
    assert seen("release") == []  # no reorder buffer before the switch
    client.wait_for(lambda: len(seen("release", after=at)) >= 8, what="releases")
    released = [e["seqno"] for e in seen("release", after=at)]
    assert released == sorted(released) and len(set(released)) == len(released)
    client.call("pause")


def test_step_back_starts_a_new_epoch_that_streams_from_the_chosen_point(client):
    original = events_of(run_to_end(client, {"messages": 8}))
    middle = len(original) // 2
    answer = client.call("step_back", {"to_seq": middle})
    assert answer["ok"] and answer["seq"] == middle
    epoch = answer["epoch"]
    snap = client.wait_event("snapshot", where=lambda s: s["epoch"] == epoch)
    assert snap["stream_seq"] == 0 and snap["playing"] is False and snap["seq"] == middle
    assert snap["events"] == original[middle - len(snap["events"]):middle]
    assert client.call("resume")["ok"]
    client.wait_event("frame", where=lambda f: f["epoch"] == epoch and f["done"])
    frames = merge(client.of("frame"), epoch)
    assert [f["stream_seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert events_of(frames) == original[middle:]


def test_inject_drops_a_packet_in_flight_now(client):
    client.call("set_speed", {"speed": 1})
    epoch = client.call("start", {"config": {"loss": 0, "ack_loss": 0, "duplicate": 0}})["epoch"]
    send = client.wait_event("frame", where=lambda f: f["epoch"] == epoch and any(
        e["type"] == "send" for e in f["events"]))
    client.call("pause")
    packet = next(e["packet"] for e in send["events"] if e["type"] == "send")
    answer = client.call("inject", {"action": "drop", "packet": packet})
    assert answer["ok"], answer
    frame = client.wait_event("frame", where=lambda f: f["epoch"] == epoch and any(
        e["type"] == "drop" for e in f["events"]))
    kinds = [e["type"] for e in frame["events"]]
    assert kinds.index("fault_injected") < kinds.index("drop")
    assert any(e["type"] == "drop" and e["packet"] == packet for e in frame["events"])
