"""Rooms across server processes: a real redis-server, two real app processes and a real nginx
(tests/cluster.py). A presenter's run is held by one process; students who reach the other one
are served through it (relay: their controls forwarded, the run's frames and the room's news
sent back), vote, and follow the same stream. Kill -9 either process mid-lesson and the class
carries on through the other: the room (members, lesson step, question, votes) is taken over
with its presenter's run, and every client's stream is complete and in order."""

from __future__ import annotations

import signal
import time

import pytest
import test_browser_timeline as shared
from cluster import ClusterClient, healthz, running_cluster
from test_cluster_moves import LEASE_MS, Tab, expected_events, holder_index, key_for, under_gevent

pytestmark = pytest.mark.live
browser = shared.browser


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(processes=2, env={"LEASE_MS": str(LEASE_MS)}) as running:
        yield running


def a_class(cluster, presenter_at: int, students_at: int, students: int = 3,
            speed: float = 20):
    """A presenter playing a run on app ``presenter_at`` (at ``speed``) with a room open and a
    lesson step set, and ``students`` students joined straight to app ``students_at``."""
    # straight to an app process, as if from the page nginx serves
    presenter = Tab(cluster.app_urls[presenter_at], lb="presenter", origin=cluster.url)
    presenter.play(40)
    assert presenter.client.call("set_speed", {"speed": speed})["ok"]
    code = presenter.client.call("room_open")["room"]["code"]
    assert presenter.client.call("room_lesson", {"lesson": "timeout"})["ok"]
    assert holder_index(cluster, presenter.token) == presenter_at
    tabs = [Tab(cluster.app_urls[students_at], lb=f"student-{i}", room=code, origin=cluster.url)
            for i in range(students)]
    for tab in tabs:
        assert tab.epoch == presenter.epoch  # the presenter's run, whichever process it is on
    return presenter, code, tabs


def votes(presenter: Tab, students: list[Tab], text: str) -> dict:
    """The presenter asks; student i votes choice i % 2; the presenter's live tally."""
    question = presenter.client.call("room_ask", {"text": text,
                                                  "choices": ["lost", "kept"]})["question"]
    for i, tab in enumerate(students):
        tab.client.wait_event("room", where=lambda r: (r["question"] or {}).get("id")
                              == question["id"])
        assert tab.client.call("room_vote", {"question": question["id"],
                                             "choice": i % 2})["ok"]
    want = len(students)
    return presenter.client.wait_event("room_tally", where=lambda t: t["question"]
                                       == question["id"] and t["total"] == want)


def close(tabs) -> None:
    for tab in tabs:
        tab.client.close()


def test_students_on_one_process_follow_a_presenter_on_the_other(cluster):
    follows_across(cluster)


def test_under_gevent_too_students_follow_through_the_other_process():
    under_gevent(follows_across)


def follows_across(cluster) -> None:
    """Students on app 2 follow, vote in and hear the news of a room presented on app 1."""
    presenter, code, students = a_class(cluster, presenter_at=0, students_at=1)
    try:
        tally = votes(presenter, students, "What happens to message 3?")
        assert tally["counts"] == [2, 1]
        # the presenter's process holds every connection of the run; the students' none
        assert healthz(cluster.app_urls[0])["connections"] == 4
        assert healthz(cluster.app_urls[1])["sessions"] == 0
        # a control only the presenter may send is refused, by the process holding the run
        refused = students[0].client.call("pause")
        assert refused["ok"] is False and refused["error"]["code"] == "read_only"
        assert students[0].client.of("error")[-1]["code"] == "read_only"  # said once, here
        assert len(students[0].client.of("error")) == 1
        # the control rate holds for a relayed connection too (counted where it connected)
        kid = students[1]
        codes = [kid.client.call("resync", {"epoch": kid.epoch, "since": kid.stream_seq})
                 .get("error", {}).get("code") for _ in range(60)]
        assert "rate_limited" in codes and codes.count(None) >= 40
        # the room's news reaches them through their own process
        assert presenter.client.call("room_focus", {"message": 3})["ok"]
        students[2].client.wait_event("room_focus", where=lambda f: f["message"] == 3)
        presenter.ends_whole(cluster)
        for tab in students:  # the very same stream, every event once, in order
            tab.ends_whole(cluster, presenter.token)
        assert holder_index(cluster, presenter.token) == 0  # nothing moved
    finally:
        presenter.client.call("room_close")
        close([presenter, *students])


def test_a_relayed_student_explores_a_fork_and_is_called_back(cluster):
    """Release, explore, call back with the student on the other process: its fork is made
    and played where the room's run is; its stream goes on from the frame it holds."""
    presenter, code, (kid,) = a_class(cluster, presenter_at=0, students_at=1, students=1)
    try:
        assert presenter.client.call("room_release")["ok"]
        kid.client.wait_event("room", where=lambda r: r["mode"] == "released")
        held = presenter.client.call("get_snapshot")["snapshot"]
        answer = kid.client.call("room_explore")
        assert answer["ok"] and answer["you"]["watching"] == "fork:1"
        watch = answer["watch"]
        assert watch["then"] == "continue" and watch["epoch"] == held["epoch"]
        assert kid.client.call("configure", {"semantics": "exactly-once"})["ok"]
        assert kid.client.call("resume")["ok"]  # its own run: it plays
        kid.client.wait_for(lambda: any(f["seq"] > held["seq"] + 20
                                        for f in kid.client.of("frame")), what="the fork")
        kid.pump()  # one stream: the room's frames, then the fork's, none missing or repeated
        assert kid.events[-1]["seq"] > held["seq"] + 20
        assert presenter.client.call("get_snapshot")["snapshot"]["seq"] == held["seq"]
        assert healthz(cluster.app_urls[1])["sessions"] == 0  # the fork is the other's
        assert presenter.client.call("room_call_back") == {"ok": True, "moved": 1}
        kid.client.wait_event("watch", where=lambda w: w["watching"] == "room")
        kid.client.wait_event("snapshot", where=lambda s: s["seq"] == held["seq"])
        assert kid.client.call("resume")["error"]["code"] == "read_only"
    finally:
        presenter.client.call("room_close")
        close([presenter, kid])


def test_a_class_carries_on_when_its_presenters_process_is_killed(cluster):
    """kill -9 the presenter's process mid-lesson: the students' process takes the room over
    with its run (members, lesson step, votes kept); every stream complete and in order."""
    presenter, code, students = a_class(cluster, presenter_at=0, students_at=1, speed=3)
    victim = 0
    try:
        assert votes(presenter, students, "Before")["counts"] == [2, 1]
        assert presenter.client.call("configure", {"semantics": "exactly-once"})["ok"]
        assert not presenter.client.call("get_snapshot")["snapshot"]["done"]  # mid-run
        cluster.apps[victim].send_signal(signal.SIGKILL)
        cluster.apps[victim].wait()
        for tab in students:  # told to reconnect by their own process, which lost the run's
            tab.client.wait_event("moving")
            tab.client.wait_event("disconnect")
            tab.reconnect()
            assert tab.client.session()["room"]["you"]["member"] == tab.member
        presenter.url = cluster.url  # the page's own address: nginx, which skips the dead one
        presenter.reconnect()
        assert holder_index(cluster, presenter.token) == 1
        room = presenter.client.session()["room"]
        assert room["code"] == code and room["role"] == "presenter"
        assert room["lesson"] == {"lesson": "timeout", "step": room["lesson"]["step"]}
        assert room["tally"]["counts"] == [2, 1]  # the votes cast before
        assert votes(presenter, students, "After")["counts"] == [2, 1]  # and it goes on
        presenter.ends_whole(cluster)
        for tab in students:
            tab.ends_whole(cluster, presenter.token)
        changes = [e["changes"] for e in presenter.events if e["type"] == "config_change"]
        assert changes == [{"semantics": ["at-least-once", "exactly-once"]}]
    finally:
        close([presenter, *students])
        cluster.start_app(victim)


def test_a_stopping_presenters_process_hands_its_class_over_at_once(cluster):
    """SIGTERM: the presenter's process hands the run and its room back, and tells the students
    it served through the other process to reconnect; they go on there at once."""
    presenter, code, students = a_class(cluster, presenter_at=0, students_at=1, students=2,
                                        speed=3)
    victim = 0
    try:
        assert not presenter.client.call("get_snapshot")["snapshot"]["done"]  # mid-run
        cluster.apps[victim].send_signal(signal.SIGTERM)
        for tab in students:  # told by the stopping process itself, through theirs
            assert tab.client.wait_event("moving") == {"reason": "stopping"}
            tab.client.wait_event("disconnect")
            tab.reconnect()
        assert holder_index(cluster, presenter.token) == 1
        cluster.apps[victim].wait()
        presenter.url = cluster.url
        presenter.reconnect()
        presenter.ends_whole(cluster)
        for tab in students:
            tab.ends_whole(cluster, presenter.token)
    finally:
        close([presenter, *students])
        cluster.start_app(victim)


def test_a_class_carries_on_when_the_students_process_is_killed(cluster):
    presenter, code, students = a_class(cluster, presenter_at=0, students_at=1, speed=3)
    victim = 1
    try:
        assert not presenter.client.call("get_snapshot")["snapshot"]["done"]  # mid-run
        cluster.apps[victim].send_signal(signal.SIGKILL)
        cluster.apps[victim].wait()
        for tab in students:  # their pages reconnect through nginx: to the presenter's process
            tab.client.wait_event("disconnect")
            tab.url = cluster.url
            tab.reconnect()
        assert votes(presenter, students, "Still here?")["counts"] == [2, 1]
        # the dead process's connections were forgotten: the presenter and three students
        wait_until(lambda: healthz(cluster.app_urls[0])["connections"] == 4, "forgotten")
        presenter.ends_whole(cluster)
        for tab in students:
            tab.ends_whole(cluster, presenter.token)
    finally:
        presenter.client.call("room_close")
        close([presenter, *students])
        cluster.start_app(victim)


def test_room_limits_hold_across_processes():
    env = {"LEASE_MS": str(LEASE_MS), "MAX_ROOMS": "2", "JOIN_BURST": "3",
           "JOIN_RATE": "0.01"}
    with running_cluster(processes=2, env=env) as small:
        first, second = (ClusterClient(url, origin=small.url) for url in small.app_urls)
        codes = [c.call("room_open")["room"]["code"] for c in (first, second)]
        for url in small.app_urls:  # a third room, on either process, is one too many
            third = ClusterClient(url, origin=small.url)
            refused = third.call("room_open")
            assert refused["ok"] is False and refused["error"]["code"] == "too_many_rooms"
            third.close()
        # the room opened on the first process is ended; its code, tried on the second
        assert first.call("room_close")["ok"]
        ended = refused_join(small, 1, codes[0])
        assert ended["code"] == "room_ended"
        # wrong codes from one address cost one bucket, whichever process they reach
        for i in range(3):
            assert refused_join(small, i % 2, "ACDE-FHJK")["code"] == "room_not_found"
        for index in (0, 1):
            assert refused_join(small, index, codes[1])["code"] == "rate_limited"
        first.close()
        second.close()


def refused_join(cluster, index: int, code: str) -> dict:
    client = ClusterClient(cluster.app_urls[index], auth={"room": code}, origin=cluster.url)
    error = client.wait_event("error")
    client.close()
    return error


def wait_until(predicate, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def test_a_students_page_follows_through_the_other_process_and_survives_its_death(
        browser, cluster):
    """Real Chromium: a student's page on app 2 follows a presenter on app 1, and goes on when
    app 1 is killed mid-run: every event once, in order, exactly the presenter's run."""
    presenter, code, _ = a_class(cluster, presenter_at=0, students_at=1, students=0, speed=3)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    problems: list[str] = []
    victim = 0
    try:
        # the page's tab key is one nginx sends to app 2
        key = key_for(cluster, 1)
        context.add_init_script(f"sessionStorage.setItem('delivery-lab-lb', '{key}')")
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{cluster.url}/room/{code}")

        def lab(expr: str):
            return page.evaluate(f"() => {expr}")

        wait_until(lambda: lab("window.__lab && window.__lab.lastSeq > 0"), "the room's run")
        assert "Following" in page.locator("#room-badge").inner_text()
        # served through app 1: its connection is one of app 1's, none of app 2's own
        assert healthz(cluster.app_urls[0])["connections"] == 2
        assert healthz(cluster.app_urls[1])["connections"] == 0
        assert not presenter.client.call("get_snapshot")["snapshot"]["done"]
        cluster.apps[victim].send_signal(signal.SIGKILL)
        cluster.apps[victim].wait()
        # its process sends it away (the run's process is gone), it comes back, and app 2
        # takes the room over with its run
        wait_until(lambda: healthz(cluster.app_urls[1])["connections"] == 1, "its return")
        wait_until(lambda: lab("window.__lab.done"), "the run's end", timeout=40)
        seqs = lab("window.__lab.seqs()")
        assert seqs == list(range(1, len(seqs) + 1)) and lab("window.__lab.gaps") == 0
        mine = lab("window.__lab.events()")
        assert [(e["seq"], e["type"], e["t"]) for e in mine] == \
            [(e["seq"], e["type"], e["t"]) for e in expected_events(cluster, presenter.token)]
        assert "Following" in page.locator("#room-badge").inner_text()
        assert not problems
    finally:
        context.close()
        presenter.client.close()
        cluster.start_app(victim)
