"""Sessions move between server processes: a real redis-server, two real app processes and a real
nginx (tests/cluster.py). A run is named in Redis under a lease with a fencing number; when the
process that holds it is killed (kill -9) or stops (SIGTERM), the tab reconnects through nginx to
the other process, which takes the lease over and rebuilds the run by replay, and the tab's
stream goes on with nothing missing and nothing twice, live changes included. A former holder
whose lease went to another is refused (its fencing number is stale)."""

from __future__ import annotations

import signal
import time

import pytest
import redis
import test_browser_timeline as shared
from cluster import ClusterClient, running_cluster
from test_browser_timeline import open_lab

from server.runstore import Fenced, RunStore
from simulator import Config, Simulation
from simulator.runspec import RunSpec

pytestmark = pytest.mark.live

LEASE_MS = 1500
browser = shared.browser


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(processes=2, env={"LEASE_MS": str(LEASE_MS)}) as running:
        yield running


def store(cluster, holder: str = "a-test") -> RunStore:
    return RunStore(cluster.redis_url, holder, lease_ms=LEASE_MS)


def holder_index(cluster, token: str) -> int:
    """Which app process holds the run ``token`` (its lease names the process's instance)."""
    held = store(cluster).holder_of(token)
    assert held is not None, "nobody holds the run"
    return int(held[0].split(":", 1)[0].removeprefix("app")) - 1


class Tab:
    """What the page's connection does (static/js/connection.js), with a python-socketio
    client: keep the run's events in order, each once; after a reconnect, resync from where it
    stands and merge the snapshot of the same epoch."""

    def __init__(self, url: str, lb: str, room: str | None = None, origin: str | None = None):
        self.url, self.lb, self.room, self.origin = url, lb, room, origin
        self.events: list[dict] = []
        self.epoch = self.stream_seq = None
        self.client = ClusterClient(url, lb=lb, auth={"room": room} if room else None,
                                    origin=origin)
        session = self.client.session()
        self.token = session["token"]  # (a student has none: its member token names it)
        self.member = session["room"]["you"]["member"] if room else None
        self.done = False  # the run's last frame applied
        self._take(self.client.wait_event("snapshot"))

    def auth(self) -> dict:
        return {"room": self.room, "member": self.member} if self.room else {"token": self.token}

    def _take(self, snap: dict) -> None:
        self.epoch, self.stream_seq = snap["epoch"], snap["stream_seq"]
        held = self.events[-1]["seq"] if self.events else 0
        new = [e for e in snap["events"] if e["seq"] > held]
        assert not new or new[0]["seq"] == held + 1, "the snapshot leaves a hole"
        self.events += new
        self.done = snap["done"]

    def pump(self) -> None:
        """Apply the frames received so far, in order, as the page would: those it holds
        already (a snapshot taken as the run played holds the frames made before it) are
        ignored; it stops at a frame not received yet (this client hands each message on in a
        thread of its own, so two may be recorded out of order; a browser reads them in
        order)."""
        frames = sorted((f for f in self.client.of("frame") if f["epoch"] == self.epoch),
                        key=lambda f: f["stream_seq"])
        for f in frames:
            if f["stream_seq"] == self.stream_seq + 1:
                self._apply(f)

    def _apply(self, f: dict, catch_up: bool = False) -> None:
        if catch_up:  # one frame at the stream's position carrying every event missed
            assert f["stream_seq"] >= self.stream_seq
        self.stream_seq = f["stream_seq"]
        self.done = f["done"]
        held = self.events[-1]["seq"] if self.events else 0
        assert not f["events"] or f["events"][0]["seq"] == held + 1, "an event missing"
        self.events += f["events"]

    def reconnect(self, lb: str | None = None, keep: bool = False):
        """The page after its connection dropped: connect again (nginx picks the process; by
        ``lb``, another key, if given), say where it stands; a resync answer with a snapshot of
        its epoch is merged. ``keep``: the old connection is left open (and returned)."""
        self.pump()
        old = self.client
        if not keep:
            old.close()
        self.lb = lb or self.lb
        deadline = time.monotonic() + 15
        while True:
            try:
                self.client = ClusterClient(self.url, lb=self.lb, auth=self.auth(),
                                            origin=self.origin)
                session = self.client.session()
                break
            except Exception:  # nginx still trying the dead process, or the lease not yet free
                assert time.monotonic() < deadline, "could not reconnect"
                time.sleep(0.2)
        assert session["resumed"] and session["token"] == self.token
        answer = self.client.call("resync", {"epoch": self.epoch, "since": self.stream_seq,
                                             "seq": self.events[-1]["seq"]})
        assert answer["ok"], answer
        if "snapshot" in answer:  # a run taken over: a snapshot of the same epoch, merged
            snap = answer["snapshot"]
            assert snap["epoch"] == self.epoch  # the same run, going on
            self._take(snap)
        else:  # a run its process kept: what this tab missed meanwhile
            for frame in answer["frames"] if "frames" in answer else [answer["catch_up"]]:
                self._apply(frame, catch_up="catch_up" in answer)
        return old

    def play(self, messages: int) -> None:
        """A new run of ``messages`` playing at 20x, some frames of it received."""
        assert self.client.call("set_speed", {"speed": 20})["ok"]
        config = {"messages": messages, "interval": 300}
        epoch = self.client.call("start", {"config": config})["epoch"]
        self._take(self.client.wait_event("snapshot", where=lambda s: s["epoch"] == epoch))
        self.client.wait_for(lambda: len(self.client.of("frame")) >= 5, what="some frames")

    def wait_done(self, timeout: float = 30) -> None:
        """Wait for the run's last frame, and every frame before it: none may be missing."""
        last = self.client.wait_event("frame", timeout=timeout,
                                      where=lambda f: f["epoch"] == self.epoch and f["done"])
        deadline = time.monotonic() + 5
        while True:
            self.pump()
            if self.done:
                return
            assert time.monotonic() < deadline, \
                f"a frame missing: {self.stream_seq + 1} (the last is {last['stream_seq']})"
            time.sleep(0.05)

    def ends_whole(self, cluster, token: str | None = None) -> None:
        """Play to the end: every event once, in order, exactly the run its record names (the
        session ``token``'s, by default this tab's own)."""
        self.wait_done()
        seqs = [e["seq"] for e in self.events]
        assert seqs == list(range(1, len(seqs) + 1))  # complete, in order, each once
        assert self.events == expected_events(cluster, token or self.token)


def expected_events(cluster, token: str) -> list[dict]:
    """The run as its record in Redis names it, replayed here from scratch: what every event
    must have been."""
    spec = RunSpec.from_dict(store(cluster).read(token)["run"])
    return Simulation.replay_events(spec.config, list(spec.log), 0, 10**6,
                                    protocol=spec.protocol)


def test_a_killed_process_hands_its_run_on_with_live_changes_and_nothing_missing(cluster):
    killed_and_taken_over(cluster)


def test_under_gevent_too_a_killed_process_hands_its_run_on():
    under_gevent(killed_and_taken_over)


def under_gevent(body) -> None:
    """``body(cluster)`` on a cluster of its own whose app processes all run under gevent, the
    other async mode."""
    env = {"LEASE_MS": str(LEASE_MS), "ASYNC_MODE": "gevent"}
    with running_cluster(processes=2, env=env) as gevent_cluster:
        body(gevent_cluster)


def killed_and_taken_over(cluster) -> None:
    """A playing tab, a live change acknowledged, then its process killed (kill -9): the tab goes
    on through the other process, with every event once, in order, the change included."""
    tab = Tab(cluster.url, lb="kill-me")
    tab.play(30)
    # a live change, then at once the holder dies: the change was written before it was acked
    assert tab.client.call("configure", {"semantics": "exactly-once"})["ok"]
    victim = holder_index(cluster, tab.token)
    cluster.apps[victim].send_signal(signal.SIGKILL)
    cluster.apps[victim].wait()
    try:
        tab.reconnect()
        assert holder_index(cluster, tab.token) == 1 - victim
        assert store(cluster).holder_of(tab.token)[1] >= 2  # a new fencing number
        tab.ends_whole(cluster)
        changes = [e for e in tab.events if e["type"] == "config_change"]
        assert [c["changes"] for c in changes] == \
            [{"semantics": ["at-least-once", "exactly-once"]}]
        assert sum(e["type"] == "send" for e in tab.events) == 30
    finally:
        tab.client.close()
        cluster.start_app(victim)


def test_a_stopping_process_hands_its_run_over_at_once(cluster):
    tab = Tab(cluster.url, lb="stop-me")
    tab.play(25)
    victim = holder_index(cluster, tab.token)
    started = time.monotonic()
    cluster.apps[victim].send_signal(signal.SIGTERM)
    tab.client.wait_event("moving", timeout=5)  # told to reconnect
    assert cluster.apps[victim].wait(timeout=5) == 0
    try:
        tab.reconnect()
        # the lease was handed back: no waiting for it to run out
        assert time.monotonic() - started < LEASE_MS / 1000 + 1.0
        assert holder_index(cluster, tab.token) == 1 - victim
        tab.ends_whole(cluster)
    finally:
        tab.client.close()
        cluster.start_app(victim)


def test_a_former_holder_is_fenced_out(cluster):
    first, second = store(cluster, "one"), store(cluster, "two")
    lease = first.acquire("fence-test")
    assert lease is not None and second.acquire("fence-test") is None
    first.write(lease, {"run": {"v": 1}, "n": 1})
    time.sleep(LEASE_MS / 1000 + 0.2)  # the first holder "paused" past its lease
    assert not first.valid(lease)  # by its own clock it knows to stop streaming
    taken = second.acquire("fence-test")
    assert taken is not None and taken.fence == lease.fence + 1
    second.write(taken, {"run": {"v": 1}, "n": 2})
    with pytest.raises(Fenced):
        first.write(lease, {"run": {"v": 1}, "n": 3})  # its stale write is refused
    assert not first.renew(lease)
    assert first.read("fence-test")["n"] == 2 and first.read("fence-test")["fence"] == taken.fence
    assert second.release(taken) and first.acquire("fence-test").fence == taken.fence + 1


def test_the_page_goes_on_through_the_other_process_when_its_own_is_killed(browser, cluster):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    victim = None
    try:
        lab = open_lab(context, cluster.url, "/?messages=20")  # a new run of 20, paused
        lab.wait("window.__lab && window.__lab.config().messages === 20"
                 " && window.__lab.lastSeq === 0", what="the new run")
        lab.speed("10")
        lab.play()
        lab.wait("window.__lab.lastSeq >= 20", what="events")
        token = lab.lab("sessionStorage.getItem('delivery-lab-token')")
        victim = holder_index(cluster, token)
        cluster.apps[victim].send_signal(signal.SIGKILL)
        cluster.apps[victim].wait()
        lab.wait("window.__lab.connection().reconnects >= 1", timeout=20, what="a reconnect")
        lab.wait("window.__lab.done", timeout=40, what="the run's end")
        seqs = lab.lab("window.__lab.seqs()")
        assert seqs == list(range(1, len(seqs) + 1))
        assert lab.lab("window.__lab.gaps") == 0 and lab.lab("window.__lab.repeats") == 0
        mine = lab.lab("window.__lab.events()")
        assert [(e["seq"], e["type"], e["t"]) for e in mine] == \
            [(e["seq"], e["type"], e["t"]) for e in expected_events(cluster, token)]
        assert not lab.problems
    finally:
        context.close()
        if victim is not None:
            cluster.start_app(victim)


def test_a_run_nobody_started_is_not_invented(cluster):
    # a token no process ever gave out is a new session, not a takeover
    c = ClusterClient(cluster.url, lb="stranger", token="not-a-real-token-0123456789")
    try:
        session = c.session()
        assert not session["resumed"] and session["token"] != "not-a-real-token-0123456789"
        assert redis.Redis.from_url(cluster.redis_url).exists(
            f"delivery-lab:run:{session['token']}")
    finally:
        c.close()


def test_a_new_run_is_named_in_its_record_before_it_is_acknowledged(cluster):
    tab = Tab(cluster.url, lb="record")
    try:
        assert tab.client.call("start", {"config": {"messages": 5, "seed": 11}})["ok"]
        record = store(cluster).read(tab.token)
        spec = RunSpec.from_dict(record["run"])
        assert spec.config == Config.from_dict({"messages": 5, "seed": 11})
        assert record["playing"] in (True, False) and record["epoch"] >= 2
    finally:
        tab.client.close()


def test_the_limits_count_every_processs_sessions_together(cluster):
    one, two = store(cluster, "one"), store(cluster, "two")
    # per address: 2; for the site: 3 (a site of its own: these counts use their own addresses)
    assert one.count("10.1.0.1", "s1", 2, 10**6) == 1
    assert two.count("10.1.0.1", "s2", 2, 10**6) == 1
    assert one.count("10.1.0.1", "s3", 2, 10**6) == -1  # the address is full, whoever asks
    assert two.count("10.1.0.1", "s1", 2, 10**6) == 1  # a session counted already: free
    one.uncount("10.1.0.1", "s1")
    assert two.count("10.1.0.1", "s3", 2, 10**6) == 1
    assert one.counted("10.1.0.1") == 2
    site = redis.Redis.from_url(cluster.redis_url).zcard("delivery-lab:sessions")
    assert one.count("10.1.0.2", "s4", 2, site + 1) == 1
    assert two.count("10.1.0.3", "s5", 2, site + 1) == -2  # the site is full


def key_for(cluster, index: int) -> str:
    """A tab key nginx sends to app process ``index`` (shaped as the page makes them)."""
    for n in range(64):
        key = f"{n:016x}"
        probe = ClusterClient(cluster.url, lb=key)
        try:
            if holder_index(cluster, probe.session()["token"]) == index:
                return key
        finally:
            probe.close()
    raise AssertionError(f"no key reached app{index + 1}")


def test_a_paused_former_holder_cannot_steer_the_run(cluster):
    # the holder is paused (SIGSTOP) past its lease; the tab comes back through the other
    # process, which takes the run over with the next fencing number; when the old holder
    # wakes up it streams nothing more, and it sends its tab (still connected) away
    tab = Tab(cluster.url, lb="paused-holder")
    tab.play(40)
    victim = holder_index(cluster, tab.token)
    elsewhere = key_for(cluster, 1 - victim)
    fence = store(cluster).holder_of(tab.token)[1]
    cluster.apps[victim].send_signal(signal.SIGSTOP)
    try:
        stale = tab.reconnect(lb=elsewhere, keep=True)  # the old connection stays open
        assert holder_index(cluster, tab.token) == 1 - victim
        assert store(cluster).holder_of(tab.token)[1] == fence + 1
    finally:
        cluster.apps[victim].send_signal(signal.SIGCONT)
    try:
        stale.wait_event("moving", timeout=10)  # the woken holder sends its tab away
        stale.wait_event("disconnect", timeout=5)
        assert store(cluster).read(tab.token)["fence"] == fence + 1  # not overwritten
        tab.ends_whole(cluster)
    finally:
        tab.client.close()
        stale.close()
