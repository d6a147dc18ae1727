"""Rooms in the session registry on a hand-driven clock: lifetimes, reaping, forks that continue
the room's stream, history rebuilt once for a whole class."""

from __future__ import annotations

import pytest
from runtime_support import Clock, play

from server.errors import ProtocolError
from server.registry import SessionRegistry
from server.settings import Settings

NAT = "10.0.0.1"  # a whole classroom behind one address


def classroom(**settings):
    clock = Clock()
    registry = SessionRegistry(Settings(session_ttl_s=300.0, room_ttl_s=600.0, **settings),
                               clock=clock)
    runtime, _ = registry.attach("presenter", None, NAT)
    room = registry.rooms.open(runtime)
    return registry, room, clock


def test_a_room_keeps_its_run_and_forks_while_it_lives_and_goes_when_empty_for_its_ttl():
    registry, room, clock = classroom()
    runtime = room.runtime
    registry.follow("s1", room.code, None, False, NAT)
    registry.rooms.release(room)
    _, member = registry.followers["s1"]
    fork, made = registry.rooms.fork_for(room, member, registry.fork_maker(room))
    assert made and fork.token in registry.sessions
    registry.move("s1", fork)
    registry.detach("s1")
    registry.detach("presenter")
    clock.t += 599.0
    registry.reap()  # past the sessions' ttl, within the room's: all kept
    assert {runtime.token, fork.token} <= set(registry.sessions)
    assert registry.rooms.by_code[room.code] is room
    clock.t += 2.0
    registry.reap()
    assert room.code not in registry.rooms.by_code
    assert fork.token not in registry.sessions  # a fork goes with its room
    clock.t += 300.0
    registry.reap()
    assert runtime.token not in registry.sessions  # then the presenter's session, as any other


def test_a_room_someone_is_in_never_expires():
    registry, room, clock = classroom()
    registry.follow("s1", room.code, None, False, NAT)
    registry.detach("presenter")  # the presenter's network is gone; a student still follows
    clock.t += 10_000
    registry.reap()
    assert room.code in registry.rooms.by_code and room.runtime.token in registry.sessions


def test_a_fork_continues_the_rooms_stream_from_the_release():
    registry, room, clock = classroom()
    rt = room.runtime
    rt.start({"messages": 30, "seed": 3})
    rt.set_speed(20)
    frames = play(rt, clock, 0.3)
    registry.rooms.release(room)
    held = rt.take_outbox()[-1]  # the frame that says the run paused
    registry.follow("s1", room.code, None, False, NAT)
    _, member = registry.followers["s1"]
    fork, _ = registry.rooms.fork_for(room, member, registry.fork_maker(room))
    assert (fork.epoch, fork.emitted_seq, fork.sim.seq) == (rt.epoch, held["stream_seq"],
                                                            rt.sim.seq)
    assert fork.frames_since(rt.epoch, frames[-1]["stream_seq"]) == [held]
    fork.resume()
    more = play(fork, clock, 5.0)
    assert more[0]["stream_seq"] == held["stream_seq"] + 1 and more[0]["epoch"] == rt.epoch
    assert rt.sim.seq == held["seq"]  # the room's run waits
    # the fork is the same run going on: the events it makes are the run's own next events
    from simulator import Config, Simulation

    whole = Simulation(Config(messages=30, seed=3)).run()
    events = [e for f in frames + [held] + more for e in f["events"]]
    assert events == whole[:len(events)]


def test_the_class_asking_for_history_replays_it_once(monkeypatch):
    registry, room, clock = classroom(events_kept=50)
    rt = room.runtime
    rt.start({"messages": 60, "seed": 5})
    rt.set_speed(50)
    play(rt, clock, 20.0)
    calls = []
    real = rt._replaying

    def counting(fn, *args, **kw):
        calls.append(fn.__name__)
        return real(fn, *args, **kw)

    monkeypatch.setattr(rt, "_replaying", counting)
    answers = [rt.catch_up(0) for _ in range(30)]
    assert calls == ["events_between"]
    assert all(a["events"] == answers[0]["events"] for a in answers)
    assert [e["seq"] for e in answers[0]["events"]] == list(range(1, rt.sim.seq + 1))


def test_members_beyond_the_room_limit_take_the_place_of_idle_ones_or_are_refused():
    registry, room, _ = classroom(max_room_students=2)
    registry.follow("a", room.code, None, False, NAT)
    registry.follow("b", room.code, None, False, NAT)
    with pytest.raises(ProtocolError) as refused:
        registry.follow("c", room.code, None, False, NAT)
    assert refused.value.code == "room_full"
    registry.detach("a")  # gone: its place may be taken
    registry.follow("c", room.code, None, False, NAT)
    assert len(room.members) == 2


def test_a_student_joining_takes_no_time_from_those_already_watching():
    from runtime_support import runtime

    rt, clock = runtime()
    rt.set_speed(10)
    rt.resume()
    clock.t += 0.1
    rt.attach("a student")  # between two ticks
    rt.advance()
    assert rt.sim.now == pytest.approx(1000, rel=1e-6)
