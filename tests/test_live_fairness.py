"""One client's heavy request does not stall another client's stream.

A step back over a long run replays it from the seed: real CPU work. It runs outside the event
loop, so a second client watching its own run keeps getting frames meanwhile.
"""

from __future__ import annotations

import threading
import time

import pytest
from conftest import run_server
from live_client import LabClient

pytestmark = pytest.mark.live
ENV = {"MAX_RUN_EVENTS": "150000", "MAX_EVENTS_PER_FRAME": "5000", "CONTROL_RATE": "1000",
       "CONTROL_BURST": "1000"}
DENSE = {"messages": 0, "interval": 1, "latency_min": 1, "latency_max": 2, "timeout": 5}


@pytest.mark.parametrize("async_mode", ["eventlet", "gevent"])
def test_a_long_step_back_does_not_stall_another_clients_frames(async_mode):
    with run_server(async_mode, extra_env=ENV) as url:
        heavy, watcher = LabClient(url), LabClient(url)
        heavy.session()
        watcher.session()
        heavy.call("set_speed", {"speed": 50})
        epoch = heavy.call("start", {"config": DENSE})["epoch"]
        last = heavy.wait_event("frame", timeout=60,
                                where=lambda f: f["epoch"] == epoch and f["done"])
        assert 150000 <= last["seq"] < 150100  # stopped by the events limit: a long run

        arrivals: list[float] = []
        watcher.sio.on("frame", lambda f: arrivals.append(time.monotonic()))
        watcher.call("set_speed", {"speed": 50})
        watcher.call("start", {"config": {"messages": 0}})  # at 50x: news every few ms
        time.sleep(0.5)

        answer, took = {}, []

        def step_back():
            started = time.monotonic()
            answer.update(heavy.call("step_back", {"to_seq": 140000}, timeout=60))
            took.append((started, time.monotonic()))

        worker = threading.Thread(target=step_back)
        worker.start()
        worker.join(60)
        assert answer.get("ok") is True and answer["seq"] == 140000, answer
        started, ended = took[0]
        time.sleep(0.3)
        times = sorted(arrivals)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)
                if b >= started and a <= ended]  # each stretch that overlaps the step back
        assert times[0] < started and times[-1] > ended and gaps
        assert max(gaps) < 0.5, f"the watcher's frames stopped for {max(gaps):.2f} s " \
            f"during a {ended - started:.2f} s step back"
        heavy.close()
        watcher.close()
