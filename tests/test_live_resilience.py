"""The real server under the things that go wrong: reconnects, junk, floods, foreign pages."""

from __future__ import annotations

import time

import pytest
import socketio
from live_client import LabClient, events_of, merge

from simulator import Config, Simulation

pytestmark = pytest.mark.live


def test_a_reconnect_with_the_token_resumes_the_run_with_no_gap_and_no_repeat(live_server):
    first = LabClient(live_server)
    token = first.session()["token"]
    first.call("set_speed", {"speed": 20})
    epoch = first.call("start", {"config": {"messages": 15}})["epoch"]
    first.wait_for(lambda: len(merge(first.of("frame"), epoch)) >= 5, what="five frames")
    first.sio.eio.disconnect(abort=True)  # a network blip: no goodbye
    before = merge(first.of("frame"), epoch)

    again = LabClient(live_server, token=token)
    session = again.session()
    assert session["resumed"] is True and session["token"] == token
    answer = again.call("resync", {"epoch": epoch, "since": before[-1]["stream_seq"]})
    assert answer["ok"] and "snapshot" not in answer
    again.wait_event("frame", where=lambda f: f["epoch"] == epoch and f["done"])
    later = answer["frames"] + again.of("frame")
    for frame in later:  # a frame sent twice (answer and stream) is the same frame: a repeat
        assert frame["stream_seq"] > before[-1]["stream_seq"]
    frames = merge(before + later, epoch)
    assert [f["stream_seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert events_of(frames) == Simulation(Config(messages=15)).run()
    again.close()


def test_a_flood_of_controls_is_rate_limited_then_served_again(live_server):
    c = LabClient(live_server)
    limits = c.session()["limits"]
    answers = [c.call("pause") for _ in range(int(limits["control_burst"]) + 40)]
    codes = [a["error"]["code"] for a in answers if not a["ok"]]
    assert codes and set(codes) == {"rate_limited"}
    time.sleep(2 / limits["control_rate"])
    assert c.call("pause")["ok"] is True
    c.close()


def test_a_page_from_another_origin_cannot_open_a_websocket(live_server):
    with pytest.raises(socketio.exceptions.ConnectionError):
        LabClient(live_server, origin="http://evil.example")
    same = LabClient(live_server, origin=live_server)
    assert same.session()["resumed"] is False
    same.close()
