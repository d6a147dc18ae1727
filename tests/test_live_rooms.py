"""Rooms on the real server over websocket: a presenter drives, students follow read-only, vote
once each, explore forks when released and come back when called (docs/rooms.md)."""

from __future__ import annotations

import time

import pytest
from conftest import run_server
from live_client import LabClient, events_of, merge

from server.rooms import ALPHABET, CODE_LEN, normalise_code

pytestmark = pytest.mark.live
RUN = {"messages": 40, "loss": 0.2, "ack_loss": 0.2, "seed": 11}


def presenter_with_room(url: str) -> tuple[LabClient, str]:
    presenter = LabClient(url)
    presenter.session()
    answer = presenter.call("room_open")
    assert answer["ok"] is True, answer
    return presenter, answer["room"]["code"]


def student(url: str, code: str, member: str | None = None, view: str | None = None):
    auth = {"room": code}
    if member:
        auth["member"] = member
    if view:
        auth["view"] = view
    client = LabClient(url, auth=auth)
    return client, client.session()


def run_to_end(presenter: LabClient, config=RUN) -> int:
    """Start ``config`` at top speed and wait for its end; the epoch it played in."""
    epoch = presenter.call("start", {"config": config})["epoch"]
    presenter.call("set_speed", {"speed": 50})
    presenter.wait_event("frame", timeout=60, where=lambda f: f["epoch"] == epoch and f["done"])
    return epoch


def whole_run(client: LabClient, epoch: int) -> list[dict]:
    """Every event of ``epoch`` a client holds: its snapshot's, then its frames' (each once)."""
    snaps = [s for s in client.of("snapshot") if s["epoch"] == epoch]
    by_seq = {e["seq"]: e for s in snaps[:1] for e in s["events"]}
    for e in events_of(merge(client.of("frame"), epoch)):
        by_seq.setdefault(e["seq"], e)
    return [by_seq[k] for k in sorted(by_seq)]


def test_codes_are_easy_to_read_aloud_and_hard_to_guess():
    assert not set(ALPHABET) & set("0O1IL2Z5S8B6G")
    assert len(ALPHABET) ** CODE_LEN > 10**10
    assert normalise_code("acde-fhjk") == "ACDEFHJK"
    assert normalise_code(" ACDE FHJK ") == "ACDEFHJK"
    assert normalise_code("ACDE-FHJ0") is None and normalise_code("ACD") is None
    assert normalise_code(None) is None and normalise_code("A" * 40) is None


def test_students_follow_the_presenters_run_event_for_event(live_server):
    presenter, code = presenter_with_room(live_server)
    students = [student(live_server, code)[0] for _ in range(12)]
    assert presenter.wait_event("room", where=lambda r: r["students"] == 12)["students"] == 12
    epoch = run_to_end(presenter)
    theirs = whole_run(presenter, epoch)
    assert theirs and theirs[0]["seq"] == 1
    for s in students:
        s.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
        assert whole_run(s, epoch) == theirs
    for c in (presenter, *students):
        c.close()


def test_a_students_every_control_is_refused_and_the_run_is_untouched(live_server):
    presenter, code = presenter_with_room(live_server)
    presenter.call("start", {"config": RUN})
    presenter.call("pause")
    for _ in range(5):
        presenter.call("step")
    before = presenter.call("get_snapshot")["snapshot"]
    hostile, session = student(live_server, code)
    assert session["token"] is None  # a student gets no session to steer
    attempts = [
        ("start", {"config": {"messages": 3}}), ("pause", None), ("resume", None),
        ("step", None), ("step_back", {}), ("reset", {"seed": 1}), ("set_speed", {"speed": 50}),
        ("configure", {"semantics": "at-most-once"}), ("inject", {"spec": "crash:consumer@1"}),
        ("inject", {"action": "crash", "node": "consumer"}), ("play_until", {"until": {}}),
        ("open_run", {"run": before["run"]}), ("room_open", None), ("room_close", None),
        ("room_ask", {"text": "x", "choices": ["a", "b"]}), ("room_reveal", None),
        ("room_release", None), ("room_call_back", None), ("room_focus", {"message": 1}),
        ("room_lesson", {"lesson": None}),
    ]
    for name, payload in attempts:
        answer = hostile.call(name, payload)
        assert answer["ok"] is False and answer["error"]["code"] == "read_only", (name, answer)
    # exploring needs the presenter to release the class first
    assert hostile.call("room_explore")["error"]["code"] == "invalid_state"
    after = presenter.call("get_snapshot")["snapshot"]
    assert (after["seq"], after["config"], after["playing"]) == \
        (before["seq"], before["config"], before["playing"])
    assert hostile.call("get_snapshot")["snapshot"]["seq"] == before["seq"]  # it may read
    assert presenter.call("step")["ok"] is True  # the presenter still may steer
    hostile.close()
    presenter.close()


def test_a_late_joiner_gets_the_whole_history(live_server):
    presenter, code = presenter_with_room(live_server)
    epoch = run_to_end(presenter, {**RUN, "messages": 300})
    theirs = whole_run(presenter, epoch)
    assert len(theirs) > 600  # more than a snapshot keeps (events_kept)
    late = []
    for _ in range(4):  # several at once: the older events are rebuilt once for all of them
        client, _ = student(live_server, code)
        snap = client.wait_event("snapshot")
        assert snap["events"][0]["seq"] > 1  # the snapshot holds only the latest
        late.append(client)
    for client in late:
        answer = client.whole(client.call("resync", {"epoch": epoch, "since": 0, "seq": 0},
                                          timeout=30))
        events = answer["catch_up"]["events"] if "catch_up" in answer else \
            events_of(answer["frames"])
        assert events == theirs
        client.close()
    presenter.close()


def test_the_room_survives_the_presenter_reloading(live_server):
    presenter, code = presenter_with_room(live_server)
    token = presenter.session()["token"]
    follower, _ = student(live_server, code)
    presenter.call("start", {"config": {**RUN, "messages": 400}})
    presenter.close()  # a reload, or the network gone for a while
    epoch = follower.wait_event("snapshot", where=lambda s: s["epoch"] > 1)["epoch"]
    seen = len(follower.of("frame"))
    follower.wait_for(lambda: len(follower.of("frame")) > seen + 3, what="frames go on")
    back = LabClient(live_server, token)
    session = back.session()
    assert session["resumed"] is True
    assert session["room"]["code"] == code and session["room"]["role"] == "presenter"
    assert back.call("room_ask", {"text": "Next?", "choices": ["lost", "kept"]})["ok"] is True
    follower.wait_event("room", where=lambda r: r["question"] is not None)
    assert back.call("pause")["ok"] is True
    follower.wait_event("frame", where=lambda f: f["epoch"] == epoch and not f["playing"])
    back.close()
    follower.close()


def test_votes_are_counted_once_per_student_even_across_reconnects(live_server):
    presenter, code = presenter_with_room(live_server)
    q = presenter.call("room_ask", {"text": "What happens next to message 7?",
                                    "choices": ["arrives once", "lost", "arrives twice"],
                                    "correct": 0})["question"]
    a, a_session = student(live_server, code)
    b, _ = student(live_server, code)
    member = a_session["room"]["you"]["member"]
    assert a.call("room_vote", {"question": q["id"], "choice": 1})["ok"] is True
    assert b.call("room_vote", {"question": q["id"], "choice": 0})["ok"] is True
    a.close()
    again, again_session = student(live_server, code, member=member)
    assert again_session["resumed"] is True
    assert again_session["room"]["you"]["vote"] == 1  # it remembers its vote
    assert again.call("room_vote", {"question": q["id"], "choice": 2})["ok"] is True
    tally = presenter.wait_event("room_tally", where=lambda t: t["counts"] == [1, 0, 1])
    assert tally["total"] == 2
    assert b.of("room_tally") == []  # the tally is the presenter's until the reveal
    assert all(r["results"] is None for r in b.of("room"))
    bad = again.call("room_vote", {"question": q["id"], "choice": 3})
    assert bad["error"]["field"] == "choice"
    results = presenter.call("room_reveal")["results"]
    assert results == {"question": q["id"], "counts": [1, 0, 1], "total": 2, "correct": 0}
    shown = b.wait_event("room", where=lambda r: r["revealed"])
    assert shown["results"] == results
    late = again.call("room_vote", {"question": q["id"], "choice": 0})
    assert late["ok"] is False and late["error"]["code"] == "invalid_state"
    for c in (presenter, again, b):
        c.close()


def test_release_explore_and_call_back(live_server):
    presenter, code = presenter_with_room(live_server)
    presenter.call("start", {"config": {**RUN, "messages": 200}})
    presenter.call("set_speed", {"speed": 20})
    kid, _ = student(live_server, code)
    kid.wait_for(lambda: len(kid.of("frame")) > 5, what="frames")
    assert kid.call("room_explore")["error"]["code"] == "invalid_state"  # not released yet
    release = presenter.call("room_release")
    assert release == {"ok": True, "release": 1}
    kid.wait_event("room", where=lambda r: r["mode"] == "released")
    held = presenter.call("get_snapshot")["snapshot"]
    assert held["playing"] is False  # the room's run waits while the class explores
    answer = kid.call("room_explore")
    assert answer["ok"] is True and answer["you"]["watching"] == "fork:1"
    watch = answer["watch"]
    assert watch["then"] == "continue" and watch["epoch"] == held["epoch"]
    assert watch["stream_seq"] == held["stream_seq"]
    assert watch["run"] == held["run"]  # the fork is the room's run, to carry on elsewhere
    # the fork is the student's own: it plays, and the room's run does not move
    assert kid.call("configure", {"semantics": "exactly-once"})["ok"] is True
    assert kid.call("set_speed", {"speed": 50})["ok"] is True
    assert kid.call("resume")["ok"] is True
    kid.wait_for(lambda: any(f["seq"] > held["seq"] + 50 for f in kid.of("frame")),
                 what="the fork plays on")
    frames = merge(kid.of("frame"), held["epoch"])
    streams = [f["stream_seq"] for f in frames]
    assert streams == list(range(streams[0], streams[-1] + 1))  # one stream, no gap
    assert presenter.call("get_snapshot")["snapshot"]["seq"] == held["seq"]
    mine = kid.call("get_snapshot")["snapshot"]
    assert mine["config"]["semantics"] == "exactly-once"
    kid.call("pause")
    fork_seq = kid.call("get_snapshot")["snapshot"]["seq"]
    # call back: everybody follows the room's run again, from a snapshot of it
    started = time.monotonic()
    assert presenter.call("room_call_back") == {"ok": True, "moved": 1}
    kid.wait_event("watch", where=lambda w: w["watching"] == "room")
    snap = kid.wait_event("snapshot", where=lambda s: s["seq"] == held["seq"]
                          and s["config"]["semantics"] == held["config"]["semantics"])
    assert snap and time.monotonic() - started < 2
    assert kid.call("resume")["error"]["code"] == "read_only"
    # released again: the earlier fork was kept, just as the student left it
    presenter.call("room_release")
    kid.wait_event("room", where=lambda r: r["mode"] == "released" and r["release"] == 2)
    fresh = kid.call("room_explore")
    assert fresh["you"]["forks"] == [1, 2]
    earlier = kid.call("room_explore", {"release": 1})
    assert earlier["watch"]["then"] == "snapshot" and earlier["you"]["watching"] == "fork:1"
    kept = kid.call("get_snapshot")["snapshot"]
    assert kept["seq"] == fork_seq and kept["config"]["semantics"] == "exactly-once"
    assert kid.call("room_follow")["you"]["watching"] == "room"
    kid.close()
    presenter.close()


def test_a_student_who_reconnects_misses_nothing_and_sees_nothing_twice(live_server):
    presenter, code = presenter_with_room(live_server)
    kid, session = student(live_server, code)
    member = session["room"]["you"]["member"]
    epoch = presenter.call("start", {"config": {**RUN, "messages": 150}})["epoch"]
    presenter.call("set_speed", {"speed": 20})
    kid.wait_for(lambda: len(merge(kid.of("frame"), epoch)) > 5, what="frames")
    held = merge(kid.of("frame"), epoch)
    kid.close()
    time.sleep(0.5)  # frames go on without it
    back, again = student(live_server, code, member=member)
    assert again["resumed"] is True and back.of("snapshot") == []
    answer = back.call("resync", {"epoch": epoch, "since": held[-1]["stream_seq"],
                                  "seq": held[-1]["seq"]})
    missed = answer.get("frames") or [answer["catch_up"]]
    presenter.wait_event("frame", timeout=60, where=lambda f: f["epoch"] == epoch and f["done"])
    back.wait_event("frame", timeout=60, where=lambda f: f["epoch"] == epoch and f["done"])
    mine = events_of(held) + events_of(missed)
    later = [e for e in events_of(merge(back.of("frame"), epoch)) if e["seq"] > mine[-1]["seq"]]
    assert [e["seq"] for e in mine + later] == list(range(1, len(mine + later) + 1))
    assert mine + later == whole_run(presenter, epoch)
    back.close()
    presenter.close()


def test_a_projector_screen_follows_and_cannot_vote(live_server):
    presenter, code = presenter_with_room(live_server)
    screen, session = student(live_server, code, view="screen")
    assert session["room"]["role"] == "screen" and "you" not in session["room"]
    q = presenter.call("room_ask", {"text": "?", "choices": ["a", "b"]})["question"]
    refused = screen.call("room_vote", {"question": q["id"], "choice": 0})
    assert refused["error"]["code"] == "not_in_room"
    assert screen.call("step")["error"]["code"] == "read_only"
    assert presenter.wait_event("room", where=lambda r: r["question"])["students"] == 0
    screen.close()
    presenter.close()


def test_the_presenter_runs_a_lesson_for_the_room_and_points(live_server):
    presenter, code = presenter_with_room(live_server)
    kid, _ = student(live_server, code)
    ok = presenter.call("room_lesson", {"lesson": "timeout"})
    assert ok["ok"] is True and ok["lesson"]["lesson"] == "timeout"
    step = kid.wait_event("room", where=lambda r: r["lesson"])["lesson"]
    assert step == ok["lesson"]
    bad = presenter.call("room_lesson", {"lesson": "no-such-lesson"})
    assert bad["error"] == {"code": "invalid_value", "message": "no lesson 'no-such-lesson'",
                            "field": "lesson"}
    bad = presenter.call("room_lesson", {"lesson": "timeout", "step": "nope"})
    assert bad["error"]["field"] == "step"
    assert presenter.call("room_focus", {"message": 7})["ok"] is True
    assert kid.wait_event("room_focus") == {"message": 7, "packet": None}
    kid.close()
    presenter.close()


def test_closing_the_room_tells_the_class_and_lets_it_go(live_server):
    presenter, code = presenter_with_room(live_server)
    kid, _ = student(live_server, code)
    assert presenter.call("room_close") == {"ok": True, "closed": code}
    ended = kid.wait_event("room", where=lambda r: r.get("closed"))
    assert ended["code"] == code
    assert ended["run"] == presenter.call("get_snapshot")["snapshot"]["run"]
    kid.wait_event("disconnect", timeout=5)
    assert kid.wait_event("disconnect") == "server disconnect"  # told to go, not to come back
    again = LabClient(live_server, auth={"room": code})
    assert again.wait_event("error")["code"] == "room_ended"
    assert presenter.call("room_ask", {"text": "?", "choices": ["a", "b"]})["error"]["code"] \
        == "not_in_room"
    presenter.close()


@pytest.fixture(scope="module")
def tight_server():
    """A server with small limits: 3 sessions an address, 4 students a room, 2 rooms, 5 wrong
    codes an address."""
    env = {"MAX_SESSIONS_PER_CLIENT": "3", "MAX_ROOM_STUDENTS": "4", "MAX_ROOMS": "2",
           "JOIN_BURST": "5", "JOIN_RATE": "0.01"}
    with run_server("eventlet", env) as url:
        yield url


def test_room_limits_not_the_address_cap_bound_a_classroom(tight_server):
    presenter, code = presenter_with_room(tight_server)
    limits = presenter.session()["limits"]
    assert (limits["max_room_students"], limits["max_rooms"]) == (4, 2)
    assert "room_ttl_s" in limits
    # four students on one address (as behind a NAT), with forks: the cap of 3 sessions an
    # address does not apply to them
    kids = [student(tight_server, code)[0] for _ in range(4)]
    presenter.call("room_release")
    for kid in kids:
        assert kid.call("room_explore")["ok"] is True
    full = LabClient(tight_server, auth={"room": code})
    assert full.wait_event("error")["code"] == "room_full"
    # a second room (another presenter's session) fits; a third does not
    other, _ = presenter_with_room(tight_server)
    third = LabClient(tight_server)
    third.session()
    refused = third.call("room_open")
    assert refused["error"]["code"] == "too_many_rooms"
    assert other.call("room_close")["ok"] is True
    assert third.call("room_open")["ok"] is True  # an ended room makes space
    for c in (other, third):
        c.call("room_close")
    presenter.call("room_close")
    for c in (presenter, other, third, *kids):
        c.close()


def test_wrong_codes_are_rate_limited_per_address(tight_server):
    presenter, code = presenter_with_room(tight_server)
    wrong = "ACDEFHJK" if code != "ACDEFHJK" else "KJHFEDCA"
    for _ in range(5):
        c = LabClient(tight_server, auth={"room": wrong})
        assert c.wait_event("error")["code"] == "room_not_found"
    late = LabClient(tight_server, auth={"room": code})  # even the right one, for now
    assert late.wait_event("error")["code"] == "rate_limited"
    presenter.close()


def test_a_room_works_the_same_under_gevent():
    with run_server("gevent") as url:
        presenter, code = presenter_with_room(url)
        kids = [student(url, code)[0] for _ in range(3)]
        epoch = run_to_end(presenter, {**RUN, "messages": 20})
        for kid in kids:
            kid.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
            assert whole_run(kid, epoch) == whole_run(presenter, epoch)
        q = presenter.call("room_ask", {"text": "?", "choices": ["a", "b"]})["question"]
        for i, kid in enumerate(kids):
            assert kid.call("room_vote", {"question": q["id"], "choice": i % 2})["ok"] is True
        assert presenter.call("room_reveal")["results"]["counts"] == [2, 1]
        presenter.call("room_release")
        assert all(k.call("room_explore")["you"]["watching"] == "fork:1" for k in kids)
        assert presenter.call("room_call_back") == {"ok": True, "moved": 3}
        for kid in kids:
            kid.wait_event("watch", where=lambda w: w["watching"] == "room")
        for c in (presenter, *kids):
            c.close()


def test_a_class_follows_the_presenter_into_a_protocol_preset_and_forks_keep_it(live_server):
    """The presenter switches the room's run to MQTT: every student gets the preset's manifest
    with its snapshot and follows its events; released, each fork is an MQTT run too."""
    presenter, code = presenter_with_room(live_server)
    students = [student(live_server, code)[0] for _ in range(3)]
    presenter.wait_event("room", where=lambda r: r["students"] == 3)
    run = {"messages": 8, "seed": 5, "options": {"qos": 2, "hop1_loss": 0.2}}
    epoch = presenter.call("start", {"config": run, "protocol": "mqtt"})["epoch"]
    presenter.call("set_speed", {"speed": 50})
    presenter.wait_event("frame", timeout=60, where=lambda f: f["epoch"] == epoch and f["done"])
    theirs = whole_run(presenter, epoch)
    assert {e["type"] for e in theirs} >= {"publish", "pubrec", "pubrel", "pubcomp"}
    for s in students:
        snap = s.wait_event("snapshot", where=lambda x: x["epoch"] == epoch)
        assert snap["manifest"]["protocol"] == "mqtt"
        s.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
        assert whole_run(s, epoch) == theirs
    assert presenter.call("room_release")["ok"] is True
    students[0].wait_event("room", where=lambda r: r["mode"] == "released")
    answer = students[0].call("room_explore")
    assert answer["ok"] is True, answer
    from simulator.runspec import RunSpec

    assert RunSpec.from_text(answer["watch"]["run"]).protocol == "mqtt"
    snap = students[0].call("get_snapshot")["snapshot"]  # the fork's own picture
    assert snap["protocol"] == "mqtt" and snap["manifest"]["protocol"] == "mqtt"
    for c in (presenter, *students):
        c.close()
