"""Sweeps run by the real server (docs/protocol.md, "Sweeps"): a session's sweep streams its
progress, every row (exactly what ``simulator.sweep`` computes) and its end; cancel, a second
sweep and refusals; followers of a room may not sweep; the same under gevent."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest
from conftest import SERVER_PIDS, run_server
from live_client import LabClient

from simulator import sweep as S
from simulator.config import SEMANTICS

pytestmark = pytest.mark.live
SMALL = {"setting": "loss", "values": "0:0.4:3", "seeds": 2, "messages": 2000,
         "base": {"duplicate": 0}}
BIG = {"setting": "loss", "values": "0:0.45:10", "seeds": 3, "messages": 5000,
       "base": {"duplicate": 0}}  # 90 runs: seconds of work, cancelled long before its end


def of_sweep(client: LabClient, sweep: int) -> list[tuple[str, dict]]:
    """Every sweep message ``client`` received about ``sweep``, in order."""
    with client._cond:
        return [(e, d) for e, d in client.received
                if e.startswith("sweep_") and isinstance(d, dict) and d.get("sweep") == sweep]


def done_of(client: LabClient, sweep: int, timeout: float = 30) -> dict:
    return client.wait_event("sweep_done", timeout, where=lambda d: d["sweep"] == sweep)


def reference(spec: dict) -> list[dict]:
    """The rows ``simulator.sweep`` computes in this process for the same arguments."""
    base = {**spec["base"], "messages": spec["messages"]}
    rows = S.sweep(base, spec["setting"], S.values_of(spec["values"], spec["setting"]),
                   spec.get("semantics", list(SEMANTICS)), spec["seeds"])
    return [dataclasses.asdict(row) for row in rows]


def in_table_order(rows: list[dict], spec: dict) -> list[dict]:
    values = S.values_of(spec["values"], spec["setting"])
    semantics = spec.get("semantics", list(SEMANTICS))
    return sorted(rows, key=lambda r: (values.index(r["value"]),
                                       semantics.index(r["semantics"])))


def check_streamed(client: LabClient, answer: dict, spec: dict) -> None:
    """Progress first, every row once, the last progress at the total, then done, nothing
    after; the rows exactly the simulator's."""
    sweep = answer["sweep"]
    done = done_of(client, sweep)
    assert done == {"sweep": sweep, "cancelled": False, "rows": len(reference(spec))}
    got = of_sweep(client, sweep)
    names = [e for e, _ in got]
    assert names[0] == "sweep_progress" and names[-1] == "sweep_done"
    assert names.count("sweep_done") == 1
    progress = [d for e, d in got if e == "sweep_progress"]
    assert progress[-1] == {"sweep": sweep, "done": answer["total"], "total": answer["total"]}
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
    rows = [d["row"] for e, d in got if e == "sweep_row"]
    assert in_table_order(rows, spec) == reference(spec)  # the same floats, to the last bit


def test_a_sweep_streams_progress_then_every_row_then_done_exactly_as_the_simulator(
        live_server):
    client = LabClient(live_server)
    limits = client.session()["limits"]
    assert limits["max_sweep_runs"] == 300 and limits["max_sweep_messages_per_run"] == 20_000
    started = time.monotonic()
    answer = client.call("sweep_start", SMALL)
    assert answer == {"ok": True, "sweep": answer["sweep"], "setting": "loss",
                      "values": [0.0, 0.2, 0.4], "semantics": list(SEMANTICS), "seeds": 2,
                      "messages": 2000, "total": 18}
    check_streamed(client, answer, SMALL)
    took = time.monotonic() - started
    progress = [d for e, d in of_sweep(client, answer["sweep"]) if e == "sweep_progress"]
    assert len(progress) <= 10 * took + 2  # at most 10 a second (and the last)
    assert client.call("sweep_cancel") == {"ok": True, "cancelled": False}  # none running
    client.close()


def test_cancel_stops_the_sweep_and_nothing_of_it_follows(live_server):
    client = LabClient(live_server)
    client.session()
    answer = client.call("sweep_start", BIG)
    sweep = answer["sweep"]
    client.wait_event("sweep_row", 30, where=lambda d: d["sweep"] == sweep)
    refused = client.call("sweep_start", {**BIG, "seeds": 0})  # changes nothing
    assert refused["ok"] is False and refused["error"]["field"] == "seeds"
    assert client.call("sweep_cancel") == {"ok": True, "cancelled": True}
    done = done_of(client, sweep, 5)
    assert done["cancelled"] is True and 1 <= done["rows"] < 30
    seen = len(of_sweep(client, sweep))
    time.sleep(1.5)  # longer than any point already running takes
    got = of_sweep(client, sweep)
    assert len(got) == seen and got[-1] == ("sweep_done", done)
    last = got[-2][1]
    assert got[-2][0] == "sweep_progress" and last["done"] < last["total"] == 90
    assert sum(1 for e, _ in got if e == "sweep_row") == done["rows"]
    assert client.call("sweep_cancel") == {"ok": True, "cancelled": False}
    client.close()


def test_a_second_sweep_cancels_the_first(live_server):
    client = LabClient(live_server)
    client.session()
    first = client.call("sweep_start", BIG)
    client.wait_event("sweep_progress", 30, where=lambda d: d["sweep"] == first["sweep"])
    spec = {**SMALL, "values": "0.1,0.3", "semantics": ["at-least-once"], "messages": 500}
    second = client.call("sweep_start", spec)
    assert second["ok"] is True and second["sweep"] != first["sweep"]
    check_streamed(client, second, spec)
    old = of_sweep(client, first["sweep"])
    assert old[-1][0] == "sweep_done" and old[-1][1]["cancelled"] is True
    with client._cond:  # the first sweep ended before the second said anything
        order = [(e, d["sweep"]) for e, d in client.received
                 if e.startswith("sweep_") and isinstance(d, dict)]
    assert order.index(("sweep_done", first["sweep"])) < min(
        i for i, (_, s) in enumerate(order) if s == second["sweep"])
    assert all(s == second["sweep"] for _, s in order[order.index(("sweep_done",
                                                                     first["sweep"])) + 1:])
    client.close()


def test_sweeps_of_several_sessions_take_turns(live_server):
    """Round robin between sweeps: a small sweep started behind a big one is done long
    before it, not after it."""
    big, small = LabClient(live_server), LabClient(live_server)
    big.session()
    small.session()
    first = big.call("sweep_start", BIG)
    big.wait_event("sweep_progress", 30, where=lambda d: d["sweep"] == first["sweep"])
    spec = {**SMALL, "values": "0.1,0.3", "semantics": ["exactly-once"], "messages": 1000}
    second = small.call("sweep_start", spec)
    check_streamed(small, second, spec)
    progress = [d for e, d in of_sweep(big, first["sweep"]) if e == "sweep_progress"]
    assert not big.of("sweep_done") and progress[-1]["done"] < 60
    assert big.call("sweep_cancel")["cancelled"] is True
    big.close()
    small.close()


@pytest.mark.parametrize("change, code, field", [
    ({"setting": "seed"}, "invalid_value", "setting"),
    ({"values": "0:1"}, "invalid_value", "values"),
    ({"values": "0,2"}, "invalid_value", "values"),
    ({"values": "0:1:100", "seeds": 3}, "run_limit", "values"),
    ({"seeds": 21}, "invalid_value", "seeds"),
    ({"messages": 99}, "invalid_value", "messages"),
    ({"messages": 20_001}, "run_limit", "messages"),
    ({"base": {"loss": 1.5}}, "invalid_value", "base.loss"),
    ({"base": {"colour": 1}}, "unknown_field", "base.colour"),
    ({"base": {"max_retries": -1}}, "invalid_value", "base.max_retries"),
    ({"semantics": ["exactly-twice"]}, "invalid_value", "semantics"),
    ({"semantics": []}, "invalid_value", "semantics"),
    ({"speed": 2}, "unknown_field", "speed"),
])
def test_a_bad_sweep_is_refused_naming_the_field(live_server, change, code, field):
    client = LabClient(live_server)
    client.session()
    answer = client.call("sweep_start", {**SMALL, **change})
    assert answer["ok"] is False and answer["error"]["code"] == code, answer
    assert answer["error"]["field"] == field
    assert client.wait_event("error")["field"] == field
    assert not client.of("sweep_progress")
    client.close()


def test_followers_of_a_room_may_not_sweep_even_on_their_fork(live_server):
    presenter = LabClient(live_server)
    presenter.session()
    code = presenter.call("room_open")["room"]["code"]
    kid = LabClient(live_server, auth={"room": code})
    screen = LabClient(live_server, auth={"room": code, "view": "screen"})
    for follower in (kid, screen):
        follower.session()
        for control, payload in (("sweep_start", SMALL), ("sweep_cancel", None)):
            assert follower.call(control, payload)["error"]["code"] == "read_only"
    presenter.call("room_release")
    assert kid.call("room_explore")["ok"] is True  # a fork of its own: still not for sweeps
    assert kid.call("sweep_start", SMALL)["error"]["code"] == "read_only"
    presenter.call("room_close")
    presenter.close()


def test_a_sweep_runs_the_same_under_gevent():
    with run_server("gevent") as url:
        client = LabClient(url)
        client.session()
        answer = client.call("sweep_start", SMALL)
        check_streamed(client, answer, SMALL)
        first = client.call("sweep_start", BIG)
        client.wait_event("sweep_row", 30, where=lambda d: d["sweep"] == first["sweep"])
        assert client.call("sweep_cancel") == {"ok": True, "cancelled": True}
        assert done_of(client, first["sweep"], 5)["cancelled"] is True
        client.close()


def workers_cpu_s(server_pid: int) -> float:
    """CPU seconds of the server's child processes (its sweep worker), from /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server_pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def busy_s(server_pid: int, over_s: float = 0.6) -> float:
    before = workers_cpu_s(server_pid)
    time.sleep(over_s)
    return workers_cpu_s(server_pid) - before


def test_a_sweep_goes_on_without_connections_only_while_its_session_lives():
    with run_server("eventlet", {"SESSION_TTL_S": "1", "SWEEP_WORKERS": "1"}) as url:
        pid = SERVER_PIDS[url]
        client = LabClient(url)
        client.session()
        sweep = client.call("sweep_start", {**BIG, "messages": 20_000})["sweep"]  # ~40 s
        client.wait_event("sweep_progress", 30, where=lambda d: d["sweep"] == sweep)
        client.close()  # every connection gone: the session waits to be resumed, and sweeps
        busy = busy_s(pid, 1.0)
        assert busy > 0.2, f"the sweep's worker worked {busy:.2f} s of the last second"
        deadline = time.monotonic() + 15  # reaped within a reaping period (5 s) of its ttl
        while busy_s(pid) > 0.1:
            assert time.monotonic() < deadline, "the reaped session's sweep goes on"
