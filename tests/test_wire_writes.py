"""Large messages reach a slow reader whole and in order, under both production async modes.

The reader is a raw websocket with a small receive window that stops reading while the server
sends several megabytes (frames of a dense run, catch-up answers), so the server's socket buffer
fills and every write is partial. Under gevent, simple-websocket 1.1.0 used to drop the rest of a
partial write: the client read the next message's bytes inside this one (server/gevent_ws.py).
"""

from __future__ import annotations

import functools
import time

import pytest
from conftest import run_server
from live_client import events_of, merge
from wire_client import Closed, RawClient, server_log

from simulator import Config, Simulation

pytestmark = pytest.mark.live
ENV = {"CONTROL_RATE": "5000", "CONTROL_BURST": "5000", "MAX_EVENTS_PER_FRAME": "100000"}
# A dense run: about 36,000 events, 11.5 MB of JSON, over in a tenth of a second at speed 50.
DENSE = {"messages": 1000, "interval": 1, "latency_min": 1, "latency_max": 5, "timeout": 20,
         "process_time": 1}
SLOW_WINDOW = 8192  # the reader's receive buffer, bytes


@functools.cache
def dense_run() -> list[dict]:
    return Simulation(Config(**DENSE)).run()


@pytest.fixture(scope="module", params=["eventlet", "gevent"])
def server(request):
    with run_server(request.param, extra_env=ENV) as url:
        yield url, request.param


def start_dense_run_unread(c: RawClient) -> None:
    """Ask for the dense run without reading a byte of what comes back."""
    c.emit("set_speed", {"speed": 50}, id=1)
    c.emit("start", {"config": DENSE}, id=2)


def acks(c: RawClient) -> dict[int, object]:
    return {p.id: p.data[0] for p in c.packets if p.kind == 3}


def resent_events(answer: dict) -> list[dict]:
    """The events a ``resync`` answer carries, whether as frames or as one catch-up frame."""
    assert answer["ok"], answer
    return events_of(answer["frames"]) if "frames" in answer else answer["catch_up"]["events"]


def test_a_slow_reader_receives_every_large_message_whole_and_in_order(server):
    url, mode = server
    c = RawClient(url, rcvbuf=SLOW_WINDOW)
    c.wait_event("snapshot")
    start_dense_run_unread(c)
    time.sleep(2)  # the run is over; its frames wait in the server's buffers
    c.emit("resync", {"epoch": 2, "since": 0, "seq": 0}, id=3)  # the whole run again, ~11.5 MB
    c.emit("get_snapshot", {}, id=4)
    time.sleep(2)  # still not reading: the server's writes stall on a full socket buffer
    c.wait_for(lambda p: p.kind == 3 and p.id == 4, timeout=30, what="the last answer")

    # every Engine.IO packet parsed (RawClient.read fails on anything else), and the answers came
    # back in the order asked
    assert [p.id for p in c.packets if p.kind == 3] == [1, 2, 3, 4]
    answers = acks(c)
    assert answers[2] == {"ok": True, "epoch": 2}
    frames = [f for f in c.of("frame") if f["epoch"] == 2]
    assert [f["stream_seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert frames[-1]["done"] and events_of(frames) == dense_run()
    assert resent_events(c.whole(answers[3])) == dense_run()  # in parts, all whole
    assert sum(len(raw) for raw in c.raw) > 20_000_000  # megabytes were really in flight
    assert answers[4]["ok"] and answers[4]["snapshot"]["seq"] == len(dense_run())
    c.close()
    assert "Traceback" not in server_log(url, mode)


def test_pongs_written_by_the_reader_never_land_inside_a_large_message(server):
    """Two writers on one connection: Engine.IO's writer sends megabyte answers while the
    websocket's reader answers the client's pings. Each frame must leave whole, one at a time."""
    url, _ = server
    c = RawClient(url, rcvbuf=SLOW_WINDOW)
    c.wait_event("snapshot")
    start_dense_run_unread(c)
    time.sleep(1)
    pings = [f"ping-{i}".encode() for i in range(40)]
    for id_ in (3, 4, 5):  # the whole run, three times over
        c.emit("resync", {"epoch": 2, "since": 0, "seq": 0}, id=id_)
    for payload in pings:  # answered while the writer is stalled mid-message
        c.ping(payload)
        time.sleep(0.02)
    c.emit("get_snapshot", {}, id=6)
    c.wait_for(lambda p: p.kind == 3 and p.id == 6, timeout=30, what="the last answer")
    answers = acks(c)
    assert sorted(answers) == [1, 2, 3, 4, 5, 6]
    for i in (3, 4, 5):
        assert resent_events(c.whole(answers[i], timeout=30)) == dense_run()
    c.read(timeout=0.5)  # a pong sent after the last message
    assert c.pongs == pings
    frames = merge([f for f in c.of("frame") if f["epoch"] == 2], 2)
    assert events_of(frames) == dense_run()
    c.close()


def test_large_messages_to_several_readers_of_one_session_all_arrive_whole(server):
    """Two connections on one session ask for the whole run at once while its frames stream."""
    url, _ = server
    first = RawClient(url, rcvbuf=SLOW_WINDOW)
    token = first.session["token"]
    first.wait_event("snapshot")
    second = RawClient(url, auth={"token": token}, rcvbuf=SLOW_WINDOW)
    start_dense_run_unread(first)
    time.sleep(1)
    for c in (first, second):
        c.emit("resync", {"epoch": 2, "since": 0, "seq": 0}, id=7)
        c.emit("get_snapshot", {}, id=8)
    time.sleep(1)
    for c in (second, first):
        c.wait_for(lambda p: p.kind == 3 and p.id == 8, timeout=30, what="the last answer")
        assert resent_events(c.whole(acks(c)[7])) == dense_run()
        frames = merge([f for f in c.of("frame") if f["epoch"] == 2], 2)
        assert frames[-1]["done"] and events_of(frames) == dense_run()
        c.close()


@pytest.fixture(scope="module", params=["eventlet", "gevent"])
def quick_pings(request):
    """Engine.IO pings every second, a second to answer: a write stalls out after 2 s."""
    env = {**ENV, "PING_INTERVAL_S": "1", "PING_TIMEOUT_S": "1"}
    with run_server(request.param, extra_env=env) as url:
        yield url, request.param


def test_a_reader_that_takes_nothing_for_the_ping_timeout_is_cut_off(quick_pings):
    """A client that stops reading for good must not hold the server's writer and the megabytes
    queued behind it: a write that makes no progress for ping interval + timeout ends the
    connection (under eventlet, Engine.IO's socket timeout; under gevent, the shim's)."""
    url, mode = quick_pings
    c = RawClient(url, rcvbuf=SLOW_WINDOW)
    c.wait_event("snapshot")
    start_dense_run_unread(c)
    time.sleep(6)  # three times the stall timeout, reading nothing
    with pytest.raises(Closed):
        while True:
            c.read(timeout=5)
    assert sum(len(raw) for raw in c.raw) < 1_000_000  # not the 10 MB the writer had queued
    assert "Traceback" not in server_log(url, mode)
