"""SessionRuntime on a hand-driven clock: pacing, limits, the kept window, step back by replay."""

from __future__ import annotations

import pytest
from runtime_support import Clock, play, runtime

from server.errors import ProtocolError
from server.regenerate import events_between
from server.settings import Settings
from simulator import Config, Simulation


def test_simulated_time_follows_the_wall_clock_times_the_speed():
    rt, clock = runtime()
    rt.set_speed(4)
    rt.resume()
    play(rt, clock, 1.0)
    assert rt.sim.now == pytest.approx(4000, rel=1e-6)


def test_frames_never_show_an_event_later_than_their_own_now():
    rt, clock = runtime()
    rt.set_speed(10)
    rt.resume()
    frames = play(rt, clock, 2.0)
    events = [e for f in frames for e in f["events"]]
    assert events and all(e["t"] <= f["now"] for f in frames for e in f["events"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [f["stream_seq"] for f in frames] == list(range(1, len(frames) + 1))


def test_the_stream_is_the_runs_own_event_sequence():
    rt, clock = runtime()
    rt.set_speed(50)
    rt.resume()
    frames = play(rt, clock, 30.0)
    assert frames[-1]["done"] is True and frames[-1]["playing"] is False
    assert [e for f in frames for e in f["events"]] == Simulation(Config()).run()


def test_a_wall_clock_stall_is_not_caught_up_in_one_burst():
    rt, clock = runtime()
    rt.resume()
    clock.t += 30.0  # the process was stopped for half a minute
    rt.advance()
    assert rt.sim.now <= 250.0


def test_a_run_stops_at_the_simulated_time_limit():
    rt, clock = runtime(max_run_time_ms=1500.0)
    rt.start({"messages": 0})
    rt.set_speed(50)
    frames = play(rt, clock, 1.0)
    assert rt.sim.now == 1500.0 and rt.playing is False
    assert frames[-1]["done"] is True and "1500" in frames[-1]["limit"]
    with pytest.raises(ProtocolError) as refused:
        rt.resume()
    assert refused.value.code == "invalid_state"


def test_the_kept_frames_are_bounded():
    rt, clock = runtime(frames_kept=10)
    rt.set_speed(20)
    rt.resume()
    frames = play(rt, clock, 3.0)
    assert len(frames) > 10 and len(rt.window.frames) == 10
    assert rt.frames_since(1, frames[-11]["stream_seq"]) == frames[-10:]
    assert rt.frames_since(1, frames[-12]["stream_seq"]) is None  # only a snapshot helps now


def test_step_back_beyond_the_kept_events_regenerates_them_by_replay():
    rt, clock = runtime(events_kept=8)
    for _ in range(20):
        rt.step()
    rt.configure({"semantics": "exactly-once", "loss": 0.4})
    rt.inject({"action": "crash", "node": "consumer"})
    for _ in range(30):
        rt.step()
    rt.advance()
    # the live changes are older than the kept events, so the replay must apply them itself
    kept = rt.snapshot()["events"]
    assert all(e["type"] not in ("config_change", "fault_injected") for e in kept)
    reference = _events_with_changes()
    target = reference[-1]["seq"] - 15
    rt.step_back(target)
    snap = rt.snapshot()
    assert snap["seq"] == target and snap["epoch"] == 2
    assert snap["events"] == [e for e in reference if target - 8 < e["seq"] <= target]


def test_step_back_and_catch_up_from_checkpoints_give_the_same_run():
    from simulator.checkpoints import Checkpoints

    rt, clock = runtime(events_kept=8)
    rt.checkpoints = Checkpoints(every=10, spacing=0)  # copies every 10 events, as a long run
    rt.set_speed(50)
    rt.resume()
    play(rt, clock, 0.5)
    rt.configure({"semantics": "exactly-once", "loss": 0.4})
    play(rt, clock, 0.5)
    rt.inject({"action": "crash", "node": "consumer"})
    play(rt, clock, 1.0)
    assert len(rt.checkpoints) >= 3
    sim = rt.sim
    reference = Simulation.replay_events(rt.base_config, sim.log, 0, sim.seq)  # from t = 0
    assert [e["seq"] for e in reference] == list(range(1, sim.seq + 1))
    catch_up = rt.catch_up(5)
    assert catch_up["events"] == reference[5:]
    for target in (sim.seq - 3, sim.seq // 2, 12):
        rt.step_back(target)
        snap = rt.snapshot()
        assert snap["seq"] == target
        assert snap["events"] == [e for e in reference if target - 8 < e["seq"] <= target]
        assert all(seq <= target for seq in rt.checkpoints._seqs)


def test_a_session_that_spent_its_replay_budget_is_refused_a_step_back_until_it_refills():
    rt, clock = runtime(replay_rate=0.01, replay_burst_s=1e-9)  # any replay overspends it
    for _ in range(40):
        rt.step()
    rt.step_back(20)  # allowed: the budget was not in debt yet; its time is charged now
    epoch, seq = rt.epoch, rt.sim.seq
    with pytest.raises(ProtocolError) as refused:
        rt.step_back(10)
    assert refused.value.code == "rate_limited" and "try again in" in refused.value.message
    assert (rt.epoch, rt.sim.seq) == (epoch, seq), "a refused step back changes nothing"
    clock.t += 60  # a minute later the debt is paid
    rt.step_back(10)
    assert rt.sim.seq == 10


def _events_with_changes() -> list[dict]:
    sim = Simulation(Config())
    events = []
    for _ in range(20):
        events += sim.step()
    events += sim.configure({"semantics": "exactly-once", "loss": 0.4})
    events += sim.inject({"action": "crash", "node": "consumer"})
    for _ in range(30):
        events += sim.step()
    return events


def test_events_between_matches_the_original_run_across_live_changes():
    sim = Simulation(Config(seed=5))
    events = []
    for round_ in range(6):
        for _ in range(7):
            events += sim.step()
        events += sim.configure({"loss": 0.1 * round_})
    for after, until in ((0, 10), (5, 40), (12, len(events)), (30, 31)):
        assert events_between(Config(seed=5), sim.log, after, until) == \
            [e for e in events if after < e["seq"] <= until]


def test_a_run_longer_than_the_message_limit_is_refused():
    rt, _ = runtime(max_run_messages=100)
    with pytest.raises(ProtocolError) as refused:
        rt.start({"messages": 101})
    assert refused.value.code == "run_limit" and refused.value.field == "messages"
    assert rt.epoch == 1


def test_one_tick_processes_a_bounded_number_of_events():
    rt, clock = runtime(max_events_per_frame=50)
    rt.start({"messages": 0, "interval": 1, "latency_min": 1, "latency_max": 2})
    rt.set_speed(50)
    clock.t += 0.2
    (frame,) = rt.advance()
    assert 50 <= len(frame["events"]) < 80  # stops after the instant that crossed the budget
    assert rt.sim.now < 0.2 * 1000 * 50


def test_a_session_without_connections_is_reaped_after_its_ttl_and_not_before():
    from server.registry import SessionRegistry

    clock = Clock()
    registry = SessionRegistry(Settings(session_ttl_s=300.0), clock=clock)
    watched, _ = registry.attach("a", None, "10.0.0.1")
    left, _ = registry.attach("b", None, "10.0.0.1")
    registry.detach("b")
    clock.t += 299.0
    assert registry.reap() == 0
    assert registry.attach("c", left.token, "10.0.0.1") == (left, True)  # resumed in time
    registry.detach("c")
    clock.t += 301.0
    assert registry.reap() == 1
    assert set(registry.sessions) == {watched.token}  # a watched session is never reaped
    again, resumed = registry.attach("d", left.token, "10.0.0.1")
    assert resumed is False and again.token != left.token


def test_live_changes_per_run_are_bounded_so_the_replay_log_is_too():
    rt, _ = runtime(max_live_changes=3)
    rt.step()
    rt.configure({"loss": 0.1})
    rt.configure({"loss": 0.2})
    rt.inject({"action": "crash", "node": "consumer"})
    before = (rt.sim.seq, list(rt.sim.log))
    for refused in (lambda: rt.configure({"loss": 0.3}),
                    lambda: rt.inject({"action": "restart", "node": "consumer"})):
        with pytest.raises(ProtocolError) as error:
            refused()
        assert error.value.code == "run_limit" and "3 live changes" in error.value.message
    assert (rt.sim.seq, rt.sim.log) == before
    rt.reset()  # a new run starts with an empty log
    rt.configure({"loss": 0.3})


def test_the_snapshot_names_the_run_exactly():
    from simulator.runspec import RunSpec

    rt, clock = runtime()
    rt.set_speed(20)
    rt.resume()
    frames = play(rt, clock, 0.5)
    rt.configure({"semantics": "at-most-once"})
    frames += play(rt, clock, 30.0)
    made = [e for f in frames for e in f["events"]]
    spec = RunSpec.from_text(rt.snapshot()["run"])
    rebuilt: list[dict] = []
    sim = Simulation.replay(spec.config, list(spec.log), sink=rebuilt.extend)
    assert rebuilt + sim.run() == made


def test_a_run_taken_over_from_a_lagging_record_goes_on_with_nothing_missing_or_twice():
    # process A plays a run with a live change and writes its record; A sends more frames after
    # that, then dies; process B adopts the record, holds the run until the tab's resync says
    # how far it got, replays on to there, and its next frame follows the tab's last exactly
    a, clock = runtime()
    a.start({"messages": 60, "seed": 3})
    a.set_speed(10)
    a.resume()
    seen = play(a, clock, 0.5)
    a.configure({"semantics": "exactly-once"})
    seen += play(a, clock, 0.5)
    record = a.record()
    seen += play(a, clock, 1.0)  # sent after the record was written
    held = [e for f in seen for e in f["events"]]
    assert held and held[-1]["seq"] > record["run"]["position"]

    b, clock_b = runtime()
    b.adopt(record)
    clock_b.t += 2.0
    assert b.advance() == []  # nothing streams before the tab says where it stands
    answer = b.resync(a.epoch, seen[-1]["stream_seq"], held[-1]["seq"])
    snap = answer["snapshot"]
    assert snap["epoch"] == a.epoch and snap["stream_seq"] == seen[-1]["stream_seq"]
    assert snap["events"][-1]["seq"] == held[-1]["seq"]
    assert snap["events"] == [e for e in held if e["seq"] >= snap["events"][0]["seq"]]
    after = play(b, clock_b, 30.0)
    assert after[0]["stream_seq"] == seen[-1]["stream_seq"] + 1
    events = held + [e for f in after for e in f["events"]]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    spec = a.run_spec()  # the whole run, its live change included
    assert events == Simulation.replay_events(spec.config, list(spec.log), 0, 10**6)


@pytest.mark.parametrize("protocol", ["classic", "mqtt"])
def test_a_frame_goes_on_the_wire_as_the_json_of_what_it_holds(protocol):
    """A frame is encoded once, when it is kept, and sent as that text: what a client decodes
    is the frame, live changes, a stop of play_until and text beyond ASCII (the narration's
    dashes and arrows) included, and so is a resync's copy."""
    import json

    from socketio import packet

    from server.wire import TolerantPacket

    rt, clock = runtime()
    rt.start({"messages": 12, "interval": 100, "loss": 0.3}, protocol)
    rt.set_speed(5)
    rt.play_until({"type": "process", "msg": 3})
    frames = play(rt, clock, 1.0)
    rt.configure({"loss": 0.1})
    rt.resume()
    frames += play(rt, clock, 4.0)
    assert any("config" in f for f in frames) and any("stopped" in f for f in frames)
    if protocol == "mqtt":  # its panels name identifiers with arrows ("7 → message 3")
        assert any(ord(c) > 127 for f in frames for c in json.dumps(f, ensure_ascii=False))
    for frame in frames:
        wire = TolerantPacket(packet.EVENT, data=["frame", frame], namespace="/").encode()
        assert wire.startswith('2["frame",')
        assert json.loads(wire[1:]) == ["frame", dict(frame)]
    kept = rt.frames_since(rt.epoch, 0)
    assert kept == [json.loads(json.dumps(f)) for f in frames]
