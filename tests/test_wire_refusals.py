"""Packets no well-behaved client sends, written by hand over a real websocket to the real server
under both production async modes: each is refused with an answer or a clean close, never a
traceback, a flood of log lines, a deaf connection or a session left behind (server/wire.py)."""

from __future__ import annotations

import time

import pytest
from conftest import run_server
from wire_client import Closed, RawClient, health, rss_mb, server_log

pytestmark = pytest.mark.live
ENV = {"CONTROL_RATE": "5000", "CONTROL_BURST": "5000", "MAX_SESSIONS_PER_CLIENT": "200"}
HUGE_ATTACHMENTS = '459999999999-["pause",{"_placeholder":true,"num":0}]'


@pytest.fixture(scope="module", params=["eventlet", "gevent"])
def server(request):
    with run_server(request.param, extra_env=ENV) as url:
        yield url, request.param


class LogWatch:
    """The lines the server logs from now on."""

    def __init__(self, url: str, mode: str):
        self.url, self.mode = url, mode
        self.start = len(server_log(url, mode).splitlines())

    def lines(self) -> list[str]:
        time.sleep(0.2)  # what the server just did is in its log by now
        return server_log(self.url, self.mode).splitlines()[self.start:]

    def assert_quiet(self, at_most: int) -> list[str]:
        lines = self.lines()
        text = "\n".join(lines)
        assert "Traceback" not in text and " ERROR " not in text, text
        assert len(lines) <= at_most, text
        return lines


def answers_a_snapshot(c: RawClient) -> bool:
    answer = c.call("get_snapshot", {}, timeout=5)
    assert answer["ok"] is True, answer
    assert answer["snapshot"]["epoch"] >= 1 and "events" in answer["snapshot"]
    return True


def codes(c: RawClient) -> list[str]:
    return [e["code"] for e in c.of("error")]


# --- reserved event names ---------------------------------------------------------------------
def test_connect_events_on_a_live_connection_are_refused_and_change_nothing(server):
    url, mode = server
    watch = LogWatch(url, mode)
    c = RawClient(url)
    token = c.session["token"]
    c.wait_event("snapshot")
    before = health(url)
    answers = [c.call("connect", {}) for _ in range(20)]
    answers += [c.call("connect", {"token": token}) for _ in range(5)]
    for answer in answers:
        assert answer["ok"] is False and answer["error"]["code"] == "reserved_event"
    assert codes(c) == ["reserved_event"] * 25  # the error event too, once for each
    after = health(url)
    assert (after["sessions"], after["connections"]) == (before["sessions"],
                                                         before["connections"])
    assert len(c.of("session")) == 1 and len(c.of("snapshot")) == 1  # no second connect ran
    assert answers_a_snapshot(c)
    c.close()
    watch.assert_quiet(at_most=0)  # a refused control is answered, not logged


def test_a_disconnect_event_is_refused_and_the_stream_goes_on(server):
    url, mode = server
    c = RawClient(url)
    c.wait_event("snapshot")
    before = health(url)
    answer = c.call("disconnect")
    assert answer["ok"] is False and answer["error"]["code"] == "reserved_event"
    assert health(url)["connections"] == before["connections"]
    assert c.call("set_speed", {"speed": 50})["ok"] is True
    epoch = c.call("start", {"config": {"messages": 3}})["epoch"]
    c.wait_event("frame", where=lambda f: f["epoch"] == epoch and f["done"])  # still attached
    c.close()


@pytest.mark.parametrize("name", ["*", "connect_error", "disconnecting", "newListener"])
def test_other_reserved_names_and_the_catch_all_are_refused_the_same_way(server, name):
    url, _ = server
    c = RawClient(url)
    answer = c.call(name, {})
    assert answer == {"ok": False, "error": {"code": "reserved_event", "field": None,
                                             "message": answer["error"]["message"]}}
    assert repr(name) in answer["error"]["message"]
    assert answers_a_snapshot(c)
    c.close()


# --- binary -----------------------------------------------------------------------------------
def attack(url: str, junk: str, size: int = 10_000_000) -> RawClient:
    """A header announcing ~10**10 attachments, then ``size`` bytes of messages (or as many as go
    in before the server closes the connection)."""
    c = RawClient(url)
    c.send_text(HUGE_ATTACHMENTS)
    sent = 0
    try:
        while sent < size:
            c.send_text(junk)
            sent += len(junk)
    except Closed:  # the server closed the connection: nothing more goes in
        pass
    assert c.wait_closed(10)
    # The reason comes first, but a client still sending when the server closes may lose what
    # was on its way to it to the TCP reset (the reason itself is checked below, unhurried).
    assert codes(c) in ([], ["binary_refused"])
    return c


def test_a_huge_attachment_count_closes_the_connection_and_memory_stays_flat(server):
    url, mode = server
    watch = LogWatch(url, mode)
    bystander = RawClient(url)
    junk = "4" + "x" * 50_000  # an Engine.IO message: Socket.IO would keep it as an attachment
    attack(url, junk)  # once first: what the traffic itself allocates is counted before
    assert answers_a_snapshot(bystander)
    before = rss_mb(url)
    for _ in range(3):  # 30 MB more after the header: kept, it would be 30 MB more memory
        attack(url, junk)
    time.sleep(0.5)
    grown = rss_mb(url) - before
    # kept as attachments the 30 MB would grow it by 30 MB; the allocator's own churn is a few
    assert grown < 12, f"the server grew by {grown:.1f} MB"
    assert answers_a_snapshot(bystander)
    assert answers_a_snapshot(RawClient(url))
    bystander.close()
    lines = watch.assert_quiet(at_most=4)
    assert all("binary" in line for line in lines)


@pytest.mark.parametrize("frames", [
    [b"\x00\x01\x02"],
    [b"x" * 60_000],
    ['451-["pause",{"_placeholder":true,"num":0}]', b"\x00"],
    ['461-0[{"_placeholder":true,"num":0}]'],
    ["bAAAA"],  # Engine.IO's base64 form of a binary message
], ids=["binary-frame", "large-binary-frame", "binary-event", "binary-ack", "base64-binary"])
def test_binary_is_refused_with_a_reason_and_the_connection_closed(server, frames):
    url, mode = server
    watch = LogWatch(url, mode)
    c = RawClient(url)
    for frame in frames:
        (c.send_binary if isinstance(frame, bytes) else c.send_text)(frame)
    assert c.wait_closed(10)
    if frames != ["bAAAA"]:  # base64 is refused before Socket.IO, where no error can be sent
        assert codes(c) == ["binary_refused"]
        assert c.packets[-1].kind == 1  # Socket.IO's DISCONNECT: a client knows not to retry
    watch.assert_quiet(at_most=2)


# --- every other undecodable packet -----------------------------------------------------------
ANSWERED = [  # (what, frames, error code the server answers with, or None for no error)
    ("empty Socket.IO packet", ["4"], "bad_packet"),
    ("CONNECT_ERROR from a client", ["44{}"], "bad_packet"),
    ("unknown Socket.IO type", ["47"], "bad_packet"),
    ("second CONNECT", ["40{}"], "bad_packet"),
    ("second CONNECT with a token", ['40{"token":"abc"}'], "bad_packet"),
    ("JSON true instead of a packet", ["4true"], "bad_packet"),
    ("JSON false instead of a packet", ["4false"], "bad_packet"),
    ("JSON object instead of a packet", ['4{"a":1}'], "bad_packet"),
    ("JSON list instead of a packet", ["4[1]"], "bad_packet"),
    ("ACK with broken JSON", ["43999[}"], "bad_packet"),
    ("ACK nobody asked for", ["43999[]"], None),
    ("event without data", ["42"], "bad_payload"),
    ("event that is not a list", ['42{"a":1}'], "bad_payload"),
    ("unreadable event named connect", ['42["connect",{'], "reserved_event"),
    ("event to a namespace never joined", ['42/x,["pause",{}]'], None),
    ("CONNECT to an unknown namespace", ["40/admin,"], None),
    ("Engine.IO ping from a client", ["2"], None),
    ("Engine.IO noop", ["6"], None),
]
CLOSED = [  # (what, frames, connect first)
    ("DISCONNECT", ["41"], True),
    ("Engine.IO CLOSE", ["1"], True),
    ("empty text frame", [""], True),
    ("text frame not Engine.IO", ["hello"], True),
    ("Engine.IO type 9", ["9"], True),
    ("event before connecting", ['42["pause",{}]'], False),
    ("broken CONNECT", ["40{"], False),
]


@pytest.mark.parametrize(("what", "frames", "code"), ANSWERED, ids=[a[0] for a in ANSWERED])
def test_an_undecodable_packet_is_answered_and_the_connection_still_works(server, what, frames,
                                                                          code):
    url, mode = server
    watch = LogWatch(url, mode)
    c = RawClient(url)
    c.wait_event("snapshot")
    for frame in frames:
        c.send_text(frame)
    assert answers_a_snapshot(c)
    assert codes(c) == ([code] if code else [])
    assert c.of("session") == [c.session]  # nothing ran the connect handler again
    c.close()
    watch.assert_quiet(at_most=1)


@pytest.mark.parametrize(("what", "frames", "connect"), CLOSED, ids=[c[0] for c in CLOSED])
def test_an_undecodable_packet_without_an_answer_closes_the_connection(server, what, frames,
                                                                       connect):
    url, mode = server
    watch = LogWatch(url, mode)
    before = health(url)["connections"]
    c = RawClient(url, connect=connect)
    for frame in frames:
        c.send_text(frame)
    assert c.wait_closed(10)
    with pytest.raises(Closed):
        c.call("get_snapshot", {})
    deadline = time.monotonic() + 5
    while health(url)["connections"] > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert health(url)["connections"] == before  # its session is detached, not left hanging
    watch.assert_quiet(at_most=1)


def test_a_flood_of_junk_is_answered_every_time_and_logged_in_a_few_lines(server):
    url, mode = server
    watch = LogWatch(url, mode)
    c = RawClient(url)
    for _ in range(1000):
        c.send_text("44{}")
    assert answers_a_snapshot(c)
    assert codes(c) == ["bad_packet"] * 1000
    assert len(watch.lines()) <= 3
    time.sleep(1.1)
    c.send_text("44{}")
    assert answers_a_snapshot(c)
    lines = watch.assert_quiet(at_most=4)
    assert "more from it not logged" in lines[-1]
    c.close()


def test_junk_from_many_connections_at_once_is_logged_at_most_ten_lines_a_second(server):
    url, mode = server
    clients = [RawClient(url) for _ in range(15)]
    watch = LogWatch(url, mode)
    for c in clients:
        c.send_text("44{}")
    for c in clients:
        assert answers_a_snapshot(c) and codes(c) == ["bad_packet"]
    assert len(watch.lines()) <= 10
    time.sleep(1.1)
    clients[0].send_text("44{}")
    assert answers_a_snapshot(clients[0])
    lines = watch.assert_quiet(at_most=11)
    assert "refusals not logged in all" in lines[-1]
    for c in clients:
        c.close()
