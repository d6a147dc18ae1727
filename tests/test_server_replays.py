"""Replays in worker processes: the same answer as a replay here, and a dead worker costs nothing.

The workers are real processes (``python -m server.replays``) joined by real sockets.
"""

from __future__ import annotations

import os
import pickle
import signal
from pathlib import Path

import pytest
from conftest import SERVER_PIDS
from live_client import LabClient

from server.offload import timed
from server.regenerate import events_between, rebuild, replay_to
from server.replays import ReplayWorkers
from simulator import Config, Simulation
from simulator.checkpoints import Checkpoints

CFG = Config(messages=300, interval=20, seed=11)


@pytest.fixture
def workers():
    pool = ReplayWorkers(1)
    yield pool
    pool.close()


def a_run_with_checkpoints():
    sim = Simulation(CFG)
    marks = Checkpoints(every=200)
    sim.run_until(2000)
    sim.configure({"loss": 0.5})
    while sim.step():
        marks.offer(sim)
    return sim, marks


def test_a_worker_rebuilds_the_run_and_its_events_exactly_as_a_replay_here(workers):
    sim, marks = a_run_with_checkpoints()
    assert len(marks) >= 2
    log = list(sim.log)
    args = (CFG, log, 900, 100, marks.frozen_before(900), marks.frozen_before(800), None)
    (there, recent, load_s), seconds = workers(rebuild, *args)
    (here, recent_here), _ = timed(replay_to, *args)
    assert seconds > 0 and 0 < load_s < seconds and workers.started == 1
    assert recent == recent_here == events_between(CFG, log, 800, 900)
    rebuilt = pickle.loads(there)
    assert rebuilt.seq == here.seq == 900
    assert rebuilt.run() == here.run()
    again, _ = workers(events_between, CFG, log, 10, 40, None, None)
    assert again == events_between(CFG, log, 10, 40)
    assert workers.started == 1, "the worker serves job after job"


def test_only_replay_jobs_go_to_a_worker(workers):
    with pytest.raises(ValueError, match="not a replay job"):
        workers(print, "hello")


def test_a_dead_worker_is_replaced_and_its_job_replayed_here(workers):
    log: list[dict] = []
    first, _ = workers(events_between, CFG, log, 0, 20, None, None)
    worker = workers.free[0]
    worker.proc.kill()
    worker.proc.wait()
    second, _ = workers(events_between, CFG, log, 0, 20, None, None)
    assert second == first  # replayed in this process instead
    assert workers.replaced == 1 and not workers.free
    third, _ = workers(events_between, CFG, log, 0, 20, None, None)
    assert third == first and workers.started == 1  # a fresh worker took over


@pytest.mark.live
def test_the_live_server_steps_back_in_a_worker_process_and_survives_its_death(live_server):
    client = LabClient(live_server)
    client.session()
    client.call("set_speed", {"speed": 50})
    epoch = client.call("start", {"config": {"messages": 60, "interval": 50}})["epoch"]
    client.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
    whole = Simulation(Config(messages=60, interval=50)).run()
    answer = client.call("step_back", {"to_seq": 40})
    assert answer["ok"] is True, answer
    snap = client.call("get_snapshot")["snapshot"]
    assert snap["events"][-1] == whole[39]
    workers = _replay_workers(SERVER_PIDS[live_server])
    assert workers, "a replay worker process serves the step back"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    answer = client.call("step_back", {"to_seq": 20})
    assert answer["ok"] is True, answer
    assert client.call("get_snapshot")["snapshot"]["events"][-1] == whole[19]
    client.close()


def _replay_workers(server_pid: int) -> list[int]:
    """Pids of the replay worker processes the server ``server_pid`` started."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == server_pid and b"server.replays" in cmd:
                pids.append(int(proc.name))
    return pids


def test_reading_a_rebuilt_run_back_starts_no_garbage_collection():
    """A swamped consumer's run holds tens of thousands of objects: read back with the collector
    on, they would start collections that walk every object of the server, holding its event
    loop several times as long as the loading itself."""
    import gc

    from server.regenerate import thaw

    swamped = Config(messages=3000, interval=5)
    frozen = pickle.dumps(Simulation.replay(swamped, [], until_seq=30000))
    collections = []

    def note(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(note)
    try:
        assert gc.isenabled()
        gc.collect()
        collections.clear()
        sim = thaw(frozen)
        during = len(collections)  # (the collector may run right after, over young objects)
        assert gc.isenabled(), "the collector is on again afterwards"
    finally:
        gc.callbacks.remove(note)
    assert during == 0
    assert sim.seq == 30000 and len(sim.consumer.app.queue) > 1000
    # the same bytes read back with the collector on do start collections
    collections.clear()
    gc.callbacks.append(note)
    try:
        pickle.loads(frozen)
    finally:
        gc.callbacks.remove(note)
    assert collections, "without holding the collector off, loading starts collections"
