"""The real server, a client away for longer than the session keeps frames and events: a resync
that says the last event held brings back every missed event, none twice (eventlet and gevent)."""

from __future__ import annotations

import json
import time

import pytest
from conftest import run_server
from live_client import LabClient, events_of, merge

from simulator import Config, Simulation

pytestmark = pytest.mark.live
KEPT = {"FRAMES_KEPT": "5", "EVENTS_KEPT": "20"}


@pytest.fixture(scope="module", params=["eventlet", "gevent"])
def server(request):
    with run_server(request.param, extra_env=KEPT) as url:
        yield url


def test_a_tab_that_missed_more_than_the_kept_window_catches_up_with_nothing_missing(server):
    a = LabClient(server)  # keeps the run playing at 50x all along
    token = a.session()["token"]
    b = LabClient(server, token=token)  # another tab of the same run
    assert b.session()["resumed"] is True
    a.call("set_speed", {"speed": 50})
    epoch = a.call("start", {"config": {"messages": 200}})["epoch"]

    b.wait_event("snapshot", where=lambda s: s["epoch"] == epoch)
    b.wait_for(lambda: len(merge(b.of("frame"), epoch)) >= 3, what="a few frames")
    seen = merge(b.of("frame"), epoch)  # what b applied before it stopped listening
    assert [f["stream_seq"] for f in seen] == list(range(1, len(seen) + 1))
    since, held = seen[-1]["stream_seq"], seen[-1]["seq"]
    a.wait_for(lambda: any(f["epoch"] == epoch and f["stream_seq"] > since + 10
                           and f["seq"] > held + 40 for f in a.of("frame")),
               what="the run going on well past the kept window")

    answer = b.call("resync", {"epoch": epoch, "since": since, "seq": held})
    assert answer["ok"] is True and "snapshot" not in answer
    catch_up = answer["catch_up"]
    assert catch_up["epoch"] == epoch and catch_up["stream_seq"] > since + 10
    b.wait_event("frame", timeout=20, where=lambda f: f["epoch"] == epoch and f["done"])
    time.sleep(0.1)
    later = [f for f in merge(b.of("frame"), epoch) if f["stream_seq"] > catch_up["stream_seq"]]
    assert [f["stream_seq"] for f in later] == \
        list(range(catch_up["stream_seq"] + 1, catch_up["stream_seq"] + 1 + len(later)))

    events = events_of(seen) + catch_up["events"] + events_of(later)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), "no gap, no repeat"
    assert events == Simulation(Config(messages=200)).run()
    a.close()
    b.close()


def test_a_long_catch_up_comes_in_parts_of_bounded_size_that_add_up_to_every_event(live_server):
    client = LabClient(live_server)
    client.session()
    client.call("set_speed", {"speed": 50})
    # a long run (about 9,000 events), sent densely so that it plays in a few seconds
    epoch = client.call("start", {"config": {"messages": 1500, "interval": 100}})["epoch"]
    last = client.wait_event("frame", timeout=60, where=lambda f: f["epoch"] == epoch and f["done"])
    answer = client.call("resync", {"epoch": epoch, "since": 0, "seq": 0}, timeout=30)
    assert answer["ok"] is True
    more = answer["more"]
    assert more["parts"] >= 2 and more["field"] in ("frames", "catch_up.events")
    parts = client.wait_for(lambda: [p for p in client.of("answer_part") if p["id"] == more["id"]]
                            if len([p for p in client.of("answer_part")
                                    if p["id"] == more["id"]]) == more["parts"] - 1 else None,
                            timeout=30, what="every part")
    parts.sort(key=lambda p: p["part"])  # this test client may hand events over out of order
    assert [p["part"] for p in parts] == list(range(2, more["parts"] + 1))
    limit = 262_144
    first = answer["frames"] if more["field"] == "frames" else answer["catch_up"]["events"]
    def wire(obj) -> int:  # as the server encodes it
        return len(json.dumps(obj, separators=(",", ":")))

    assert wire(first) <= limit + 4096 and all(wire(p) <= limit + 4096 for p in parts)
    items = first + [item for p in parts for item in p["items"]]
    events = events_of(items) if more["field"] == "frames" else items
    assert [e["seq"] for e in events] == list(range(1, last["seq"] + 1))
    client.close()
