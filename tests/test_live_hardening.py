"""No session freezes, no client starves the server's memory, no refused client lingers, and no
lost last frame goes unnoticed: the real server under clients that misbehave."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest
import websocket
from conftest import run_server
from live_client import LabClient
from wire_client import rss_mb

pytestmark = pytest.mark.live
MODES = ["eventlet", "gevent"]


def _raw_client(url: str, token: str | None = None, rcvbuf: int | None = None):
    """A Socket.IO connection by hand: it reads only when told to, and never answers a ping."""
    options = [(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)] if rcvbuf else []
    ws = websocket.create_connection(
        url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", origin=url,
        timeout=10, sockopt=options)
    assert ws.recv().startswith("0{")
    ws.send("40" + json.dumps({"token": token} if token else {}))
    return ws


@pytest.mark.parametrize("async_mode", MODES)
def test_a_tab_that_stops_answering_pings_never_freezes_its_session(async_mode):
    # Two tabs on one token; tab B stops answering pings but keeps its socket open; tab A
    # resets every 0.3 s. Sending to B finds it timed out and closes it mid-emit: that must not
    # deadlock the session (every control answered, and a reconnect works).
    env = {"PING_INTERVAL_S": "1", "PING_TIMEOUT_S": "1"}
    with run_server(async_mode, extra_env=env) as url:
        a = LabClient(url)
        token = a.session()["token"]
        b = _raw_client(url, token)
        deadline = time.monotonic() + 7
        answered = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            answer = a.call("reset", {}, timeout=5)  # the watchdog: a hang fails here
            assert answer["ok"] is True, answer
            assert time.monotonic() - started < 3, "a control took too long"
            answered += 1
            time.sleep(0.3)
        assert answered >= 15
        again = LabClient(url, token=token)
        assert again.session()["resumed"] is True
        assert again.call("get_snapshot", timeout=5)["ok"] is True
        b.close()
        a.close()
        again.close()


@pytest.mark.parametrize("async_mode", MODES)
def test_a_client_too_slow_to_read_does_not_grow_the_servers_memory(async_mode):
    env = {"MAX_EVENTS_PER_FRAME": "2000", "PING_INTERVAL_S": "60", "PING_TIMEOUT_S": "60",
           "MAX_RUN_EVENTS": "50000000", "MAX_RUN_TIME_MS": "1000000000"}  # a run that goes on
    with run_server(async_mode, extra_env=env) as url:
        owner = LabClient(url)
        token = owner.session()["token"]
        owner.call("set_speed", {"speed": 50})
        # a dense run whose own state stays flat: every message processed at once, no loss
        dense = {"messages": 0, "interval": 1, "latency_min": 1, "latency_max": 2,
                 "loss": 0, "ack_loss": 0, "duplicate": 0, "process_time": 0}
        slow = _raw_client(url, token, rcvbuf=4096)  # joins the session, then never reads
        owner.close()  # the slow tab is left alone with a dense run
        watcher = LabClient(url)
        watcher.session()
        watcher.call("set_speed", {"speed": 50})
        watcher.call("start", {"config": {"messages": 0}})
        ctl = LabClient(url, token=token)
        ctl.call("start", {"config": dense})
        ctl.close()  # nothing reads this session's frames now but the slow tab
        time.sleep(6)  # warm-up: the kernel's buffers and the send queue fill
        before = rss_mb(url)
        time.sleep(4)
        grown = rss_mb(url) - before
        # queued without a bound, the frames grew the server by about 9 MB a second here (36 MB
        # in this window)
        assert grown < 10, f"server memory grew {grown:.0f} MB behind a client that never reads"
        frames_seen = len(watcher.of("frame"))
        time.sleep(1)
        assert len(watcher.of("frame")) > frames_seen, "another session still streams"
        slow.close()
        watcher.close()


@pytest.mark.parametrize("async_mode", MODES)
def test_a_refused_connection_is_closed_not_left_open(async_mode):
    with run_server(async_mode, extra_env={"MAX_SESSIONS": "2"}) as url:
        first, second = LabClient(url), LabClient(url)
        first.session()
        second.session()
        ws = _raw_client(url)
        got = []
        ws.settimeout(5)
        try:
            while True:
                msg = ws.recv()
                if not msg:
                    break
                got.append(msg)
        except websocket.WebSocketConnectionClosedException:
            pass
        assert any("too_many_sessions" in m for m in got), got
        with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
            health = json.load(r)
        assert health["sessions"] == 2 and health["connections"] == 2
        first.close()
        second.close()


@pytest.mark.parametrize("async_mode", MODES)
def test_a_heartbeat_names_the_last_frame_after_a_run_ends(async_mode):
    with run_server(async_mode, extra_env={"HEARTBEAT_S": "0.5"}) as url:
        client = LabClient(url)
        client.session()
        client.call("set_speed", {"speed": 50})
        epoch = client.call("start", {"config": {"messages": 3}})["epoch"]
        last = client.wait_event("frame", timeout=20,
                                 where=lambda f: f["epoch"] == epoch and f["done"])
        beat = client.wait_event("heartbeat", timeout=5,
                                 where=lambda h: h["epoch"] == epoch
                                 and h["stream_seq"] >= last["stream_seq"])
        final = max(f["stream_seq"] for f in client.of("frame") if f["epoch"] == epoch)
        assert beat["stream_seq"] == final
        client.close()


def test_concurrent_controls_and_disconnects_leave_no_session_hung():
    """Many tabs on one session closing while another steers it: every control answered."""
    with run_server("eventlet") as url:
        steer = LabClient(url)
        token = steer.session()["token"]
        stop = threading.Event()

        def churn():
            while not stop.is_set():
                tab = LabClient(url, token=token)
                tab.session()
                tab.close()

        worker = threading.Thread(target=churn)
        worker.start()
        try:
            for _ in range(20):
                assert steer.call("reset", {}, timeout=5)["ok"] is True
        finally:
            stop.set()
            worker.join(10)
        steer.close()
