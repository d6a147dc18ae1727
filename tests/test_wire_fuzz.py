"""Fuzzing the wire: raw Engine.IO and Socket.IO frames, text and binary, from hypothesis, sent over
a real websocket to the real server under both production async modes.

Every control the server knows (``ACTIONS``, the room controls and the sweep controls), the
reserved names, names it does not know, payloads
valid and not, and packets broken at every level: Socket.IO types and headers, Engine.IO types,
JSON, binary frames, oversized messages. After each batch the fuzzed connection's session must
answer ``get_snapshot`` (through a new connection with the session's token if the server closed
this one); at the end the server's log holds no traceback, at most a few lines a second, and its
memory grew by less than ``RSS_BOUND_MB``.

The size is ``FUZZ_PAYLOADS`` frames per async mode: a few hundred in the normal test run,
``make fuzz`` sends 10,000.
"""

from __future__ import annotations

import json
import math
import os
import time

import pytest
from conftest import run_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_client import Closed, RawClient, health, rss_mb, server_log

from server.sockets import ACTIONS, PRESENTER_CONTROLS, STUDENT_CONTROLS, SWEEP_CONTROLS
from server.wire import RESERVED_EVENTS
from simulator import schema

pytestmark = pytest.mark.live
FUZZ_PAYLOADS = int(os.environ.get("FUZZ_PAYLOADS", "300"))
RSS_BOUND_MB = 40  # the server's memory may grow by less than this over a whole fuzz run
ENV = {"CONTROL_RATE": "100000", "CONTROL_BURST": "100000",  # so the handlers see it all
       "MAX_RUN_MESSAGES": "200",  # runs the fuzz starts stay small: the wire is the target
       "MAX_SWEEP_RUNS": "6", "MAX_SWEEP_MESSAGES_PER_RUN": "200"}  # and so do its sweeps
ANSWER_TIMEOUT_S = 10.0

# --- what to send -----------------------------------------------------------------------------
SETTINGS = [f["name"] for f in schema()]
FIELDS = sorted({"config", "to_seq", "seed", "speed", "epoch", "since", "seq", "action", "packet",
                 "node", "by", "spec", "token", "protocol", "position", "setting", "values",
                 "semantics", "seeds", "messages", "base", "columns", "settings", *SETTINGS})
NAMES = st.one_of(
    st.sampled_from(sorted({*ACTIONS, *PRESENTER_CONTROLS, *STUDENT_CONTROLS,
                            *SWEEP_CONTROLS})),
    st.sampled_from(sorted(RESERVED_EVENTS)),
    st.sampled_from(["", "frame", "snapshot", "session", "error", "message", "answer_part",
                     "heartbeat", "__proto__", "constructor"]),
    st.text(max_size=12),
)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)  # encodable as UTF-8
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([10**101, -(10**150)]),
    st.floats(allow_nan=False, allow_infinity=False), TEXT,
    st.sampled_from(["at-least-once", "exactly-once", "at-most-once", "drop", "delay", "crash",
                     "consumer", "producer", "drop:data:3", "sequence"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(FIELDS), TEXT), inner,
                                            max_size=4)),
    max_leaves=12,
)
PAYLOADS = st.one_of(  # near-valid objects (known fields, odd values) and anything at all
    st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=4),
    st.builds(lambda c: {"config": c}, st.dictionaries(st.sampled_from(SETTINGS), SCALARS,
                                                       max_size=4)),
    st.builds(lambda cols: {"columns": cols},  # a comparison's columns (kept small: each runs)
              st.lists(st.fixed_dictionaries({}, optional={
                  "protocol": st.sampled_from(["classic", "mqtt", "plain", "nope"]),
                  "settings": st.dictionaries(st.sampled_from(["semantics", "ordering",
                                                               "messages", "loss", "seed"]),
                                              SCALARS, max_size=2)}), max_size=4)),
    JSON,
)
ACK_IDS = st.one_of(st.none(), st.integers(0, 999_999))  # the client's own calls use 10**9 up


@st.composite
def events(draw) -> str:
    """A Socket.IO EVENT: a name, zero to two arguments, maybe an acknowledgement id."""
    args = draw(st.lists(PAYLOADS, max_size=2))
    ack = draw(ACK_IDS)
    return "42" + ("" if ack is None else str(ack)) + json.dumps([draw(NAMES), *args])


@st.composite
def broken(draw) -> str:
    """A valid event cut short, or with a character put in or taken out."""
    text = draw(events())
    i = draw(st.integers(0, len(text)))
    how = draw(st.sampled_from(["cut", "insert", "delete"]))
    if how == "cut":
        return text[:i]
    if how == "insert":
        return text[:i] + draw(st.sampled_from(list('[]{}",:-/0123456789x\\'))) + text[i:]
    return text[:i] + text[i + 1:]


@st.composite
def socketio_packets(draw) -> str:
    """Any Socket.IO header: type 0 to 9, attachments, namespace, id, then JSON or junk."""
    kind = draw(st.integers(0, 9))
    attachments = draw(st.sampled_from(["", "1-", "0-", "9999999999-", "99999999999-", "-"]))
    namespace = draw(st.sampled_from(["", "/,", "/admin,", "/?x=1,", "/x"]))
    ack = draw(st.sampled_from(["", "0", "7", "1" * 120]))
    body = draw(st.one_of(st.just(""), JSON.map(json.dumps), TEXT))
    return f"4{kind}{attachments}{namespace}{ack}{body}"


NESTED = st.integers(50, 3000).map(lambda n: '42["pause",' + "[" * n + "]" * n + "]")
TEXT_FRAMES = st.one_of(
    events(), events(), events(), broken(), socketio_packets(), NESTED,
    st.sampled_from(["4", "40", "40{}", "41", "44{}", "2", "3", "5", "6", "1", "", "4true",
                     "4false", "4null", '4{"a":1}', "4[1]", "bAAAA", '451-["pause",{}]',
                     '42["connect",{}]', '42["disconnect"]', '42["*"]']),
    TEXT,  # not even Engine.IO
    st.builds(lambda n: '42["configure",{"semantics":"' + "x" * n + '"}]',
              st.sampled_from([20_000, 70_000])),  # over the payload limit; over the transport's
)
FRAMES = st.one_of(TEXT_FRAMES, TEXT_FRAMES, TEXT_FRAMES, TEXT_FRAMES, TEXT_FRAMES,
                   st.binary(max_size=64))  # a binary frame ends the connection: rarer
BATCHES = st.lists(FRAMES, min_size=1, max_size=25)


# --- the run ----------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["eventlet", "gevent"])
def server(request):
    with run_server(request.param, extra_env=ENV) as url:
        yield url, request.param


class Fuzzer:
    def __init__(self, url: str):
        self.url = url
        self.client = RawClient(url, first_id=10**9)
        self.token = self.client.session["token"]
        self.sent = 0
        self.reconnects = 0

    def send(self, batch: list) -> None:
        for frame in batch:
            self.sent += 1
            try:
                if isinstance(frame, bytes):
                    self.client.send_binary(frame)
                else:
                    self.client.send_text(frame)
            except Closed:
                return

    def check(self) -> None:
        """The session answers a ``get_snapshot``: on this connection, or on a new one with the
        session's token if the server closed this one."""
        try:
            answer = self.client.call("get_snapshot", {}, timeout=ANSWER_TIMEOUT_S)
        except Closed:
            self.client.close()
            self.client = RawClient(self.url, auth={"token": self.token}, first_id=10**9)
            self.reconnects += 1
            assert self.client.session["resumed"] is True, "the session was lost"
            answer = self.client.call("get_snapshot", {}, timeout=ANSWER_TIMEOUT_S)
        assert answer["ok"] is True, answer
        assert answer["snapshot"]["epoch"] >= 1


def test_fuzzed_frames_leave_no_traceback_no_hung_session_and_bounded_memory(server):
    url, mode = server
    log_start = len(server_log(url, mode).splitlines())
    fuzzer = Fuzzer(url)
    fuzzer.check()
    rss_before = rss_mb(url)
    started = time.monotonic()

    @settings(max_examples=max(5, math.ceil(FUZZ_PAYLOADS / 10)), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(BATCHES)
    def fuzz(batch):
        fuzzer.send(batch)
        fuzzer.check()

    while fuzzer.sent < FUZZ_PAYLOADS:
        fuzz()
    elapsed = time.monotonic() - started

    fuzzer.check()
    assert health(url)["status"] == "ok"
    grown = rss_mb(url) - rss_before
    lines = server_log(url, mode).splitlines()[log_start:]
    text = "\n".join(lines)
    print(f"\n{mode}: {fuzzer.sent} frames in {elapsed:.1f} s, {fuzzer.reconnects} reconnects, "
          f"RSS {rss_before:.1f} MB -> +{grown:.1f} MB, {len(lines)} log lines")
    assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
    # at most one line a second per connection and ten a second in all (server/wire.py)
    assert len(lines) <= 10 * (elapsed + 1), text[-3000:]
    assert grown < RSS_BOUND_MB, f"the server grew by {grown:.1f} MB"
    fuzzer.client.close()
