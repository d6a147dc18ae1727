"""Socket handlers through Flask-SocketIO's test client: the protocol, refusals, limits.

The frame ticker is driven by hand (``pump``) so every test is exact; pacing against the wall
clock is covered by the runtime and live tests.
"""

from __future__ import annotations

import pytest

from server import create_app
from simulator import Config, Simulation


def make(**settings):
    settings.setdefault("autostart_ticker", False)
    app = create_app(async_mode="threading", **settings)
    return app, app.extensions["socketio"], app.extensions["delivery_lab"]


@pytest.fixture
def lab():
    app, sio, live = make()
    client = sio.test_client(app)
    yield app, sio, live, client
    if client.is_connected():
        client.disconnect()


def received(client, name):
    return [r["args"][0] for r in client.get_received() if r["name"] == name]


def call(client, event, *args):
    return client.emit(event, *args, callback=True)


def comparable(snapshot):
    return {k: v for k, v in snapshot.items() if k != "sent_at"}


def test_connect_sends_session_then_snapshot_of_a_paused_default_run(lab):
    _, _, _, client = lab
    got = client.get_received()
    assert [r["name"] for r in got] == ["session", "snapshot"]
    session, snap = got[0]["args"][0], got[1]["args"][0]
    assert session["resumed"] is False and len(session["token"]) >= 16
    assert {f["name"] for f in session["schema"]} >= {"semantics", "ordering", "loss", "seed"}
    assert session["limits"]["speed_max"] == 50
    assert snap["epoch"] == 1 and snap["stream_seq"] == 0 and snap["events"] == []
    assert snap["playing"] is False and snap["now"] == 0
    assert snap["config"] == Config().to_dict()


def test_step_sends_the_next_events_of_the_run_in_one_frame(lab):
    _, _, live, client = lab
    client.get_received()
    reference = Simulation(Config())
    for stream_seq in (1, 2, 3):
        answer = call(client, "step")
        assert answer["ok"] is True
        live.pump()
        (frame,) = received(client, "frame")
        assert frame["epoch"] == 1 and frame["stream_seq"] == stream_seq
        assert frame["events"] == reference.step()
        assert frame["now"] == reference.now and frame["playing"] is False


def test_configure_applies_at_the_current_instant_and_the_frame_carries_the_config(lab):
    _, _, live, client = lab
    call(client, "step")
    answer = call(client, "configure", {"semantics": "exactly-once", "loss": 0.5})
    assert answer["ok"] is True
    live.pump()
    frame = received(client, "frame")[-1]
    change = frame["events"][-1]
    assert change["type"] == "config_change"
    assert change["changes"]["semantics"] == ["at-least-once", "exactly-once"]
    assert frame["config"]["semantics"] == "exactly-once" and frame["config"]["loss"] == 0.5


def test_start_begins_a_new_epoch_playing_with_the_given_config(lab):
    _, _, _, client = lab
    client.get_received()
    answer = call(client, "start", {"config": {"seed": 11, "semantics": "at-most-once"}})
    assert answer == {"ok": True, "epoch": 2}
    (snap,) = received(client, "snapshot")
    assert snap["epoch"] == 2 and snap["stream_seq"] == 0 and snap["playing"] is True
    assert snap["config"]["seed"] == 11 and snap["config"]["semantics"] == "at-most-once"


def test_reset_keeps_the_settings_changes_a_new_seed_and_starts_paused_at_zero(lab):
    _, _, _, client = lab
    call(client, "step")
    call(client, "configure", {"ordering": "sequence"})
    client.get_received()
    answer = call(client, "reset", {"seed": 99})
    assert answer["ok"] is True
    (snap,) = received(client, "snapshot")
    assert snap["now"] == 0 and snap["events"] == [] and snap["playing"] is False
    assert snap["config"]["seed"] == 99 and snap["config"]["ordering"] == "sequence"


BAD = [
    # (event, arguments, code, field)
    ("set_speed", ({"speed": 100},), "invalid_value", "speed"),
    ("set_speed", ({"speed": 0.01},), "invalid_value", "speed"),
    ("set_speed", ({},), "invalid_value", "speed"),
    ("set_speed", ({"speed": "fast"},), "invalid_value", "speed"),
    ("set_speed", ({"speed": True},), "invalid_value", "speed"),
    ("set_speed", ({"speed": None},), "invalid_value", "speed"),
    ("set_speed", ([1, 2],), "bad_payload", None),
    ("set_speed", ("fast",), "bad_payload", None),
    ("set_speed", (3,), "bad_payload", None),
    ("set_speed", ({"speed": 1}, {"speed": 2}), "bad_payload", None),
    ("pause", ({"now": 1},), "unknown_field", "now"),
    ("resume", ({"speed": 2},), "unknown_field", "speed"),
    ("configure", ({},), "bad_payload", None),
    ("configure", ({"loss": 2},), "invalid_value", "loss"),
    ("configure", ({"loss": "lots"},), "invalid_value", "loss"),
    ("configure", ({"semantics": "twice"},), "invalid_value", "semantics"),
    ("configure", ({"warp": 9},), "unknown_field", "warp"),
    ("configure", ({"seed": 3},), "invalid_value", "seed"),
    ("configure", ({"latency_min": 5000},), "invalid_value", "latency_max"),
    ("configure", ({"faults": ["drop:data:1"] * 2000},), "payload_too_large", None),
    ("start", ({"config": 5},), "invalid_value", "config"),
    ("start", ({"config": {"messages": 10**6}},), "run_limit", "messages"),
    ("start", ({"config": {"faults": ["explode:now"]}},), "invalid_value", "faults[0]"),
    ("start", ({"config": {"x": 1}},), "unknown_field", "x"),
    ("start", ({"cfg": {}},), "unknown_field", "cfg"),
    ("inject", ({"action": "drop"},), "invalid_value", "packet"),
    ("inject", ({"action": "explode", "packet": 1},), "invalid_value", "action"),
    ("inject", ({"action": "drop", "packet": 999},), "invalid_value", "packet"),
    ("inject", ({"action": "delay", "packet": 1},), "invalid_value", "by"),
    ("inject", ({"action": "crash", "node": "consumer", "packet": 3},), "unknown_field", "packet"),
    ("inject", ({"action": "crash", "node": "broker"},), "invalid_value", "node"),
    ("inject", ({"spec": "nonsense"},), "invalid_value", "spec"),
    ("inject", ({"spec": "drop:data:1", "packet": 1},), "unknown_field", "packet"),
    ("step_back", ({"to_seq": 5},), "invalid_value", "to_seq"),
    ("step_back", ({"to_seq": -1},), "invalid_value", "to_seq"),
    ("step_back", ({"to_seq": 1.5},), "invalid_value", "to_seq"),
    ("reset", ({"seed": 1.5},), "invalid_value", "seed"),
    ("reset", ({"seed": -3},), "invalid_value", "seed"),
    ("resync", ({"epoch": 1},), "invalid_value", "since"),
    ("resync", ({"epoch": 0, "since": 0},), "invalid_value", "epoch"),
    ("teleport", ({},), "unknown_event", None),
]


@pytest.mark.parametrize(("event", "args", "code", "field"), BAD,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_control_is_refused_with_a_named_field_and_changes_nothing(lab, event, args, code,
                                                                         field):
    _, _, _, client = lab
    call(client, "step")
    before = call(client, "get_snapshot")["snapshot"]
    client.get_received()
    answer = call(client, event, *args)
    assert answer["ok"] is False
    assert answer["error"]["code"] == code and answer["error"]["field"] == field
    assert answer["error"]["message"]
    assert received(client, "error") == [answer["error"]]
    after = call(client, "get_snapshot")["snapshot"]
    assert comparable(after) == comparable(before)


def test_step_while_playing_is_refused(lab):
    _, _, _, client = lab
    call(client, "resume")
    answer = call(client, "step")
    assert answer["error"]["code"] == "invalid_state"


def test_controls_beyond_the_rate_limit_are_refused():
    app, sio, _ = make(control_rate=1.0, control_burst=3)
    client = sio.test_client(app)
    answers = [call(client, "pause") for _ in range(5)]
    assert [a["ok"] for a in answers[:3]] == [True, True, True]
    assert {a["error"]["code"] for a in answers[3:]} == {"rate_limited"}


def test_a_client_cannot_hold_more_sessions_than_the_limit():
    app, sio, live = make(max_sessions_per_client=2)
    first, second = sio.test_client(app), sio.test_client(app)
    third = sio.test_client(app)
    assert not third.is_connected()
    assert len(live.registry.sessions) == 2
    first_token = received(first, "session")[0]["token"]
    first.disconnect()  # its session waits to be resumed; a new tab may now evict it
    fourth = sio.test_client(app)
    assert fourth.is_connected() and second.is_connected()
    assert first_token not in live.registry.sessions


def test_a_token_resumes_its_session_and_resync_sends_the_missed_frames():
    app, sio, live = make()
    first = sio.test_client(app)
    token = received(first, "session")[0]["token"]
    for _ in range(3):
        call(first, "step")
        live.pump()
    first.disconnect()
    again = sio.test_client(app, auth={"token": token})
    names = [r["name"] for r in again.get_received()]
    assert names == ["session"]  # resumed: no snapshot unless asked
    answer = call(again, "resync", {"epoch": 1, "since": 1})
    assert answer["ok"] is True
    assert [f["stream_seq"] for f in answer["frames"]] == [2, 3]


def test_an_unknown_token_gets_a_new_session():
    app, sio, _ = make()
    client = sio.test_client(app, auth={"token": "not-a-session"})
    session = received(client, "session")[0]
    assert session["resumed"] is False and session["token"] != "not-a-session"


def test_resync_from_beyond_the_kept_frames_answers_with_a_snapshot():
    app, sio, live = make(frames_kept=2)
    client = sio.test_client(app)
    for _ in range(5):
        call(client, "step")
        live.pump()
    answer = call(client, "resync", {"epoch": 1, "since": 1})
    snap = answer["snapshot"]
    assert snap["stream_seq"] == 5 and snap["epoch"] == 1
    assert [e["seq"] for e in snap["events"]] == list(range(1, snap["seq"] + 1))
    assert [f["stream_seq"] for f in call(client, "resync", {"epoch": 1, "since": 3})["frames"]] \
        == [4, 5]
    assert "snapshot" in call(client, "resync", {"epoch": 7, "since": 0})


def test_step_back_starts_a_new_epoch_that_continues_like_the_original_run(lab):
    _, _, live, client = lab
    for _ in range(6):
        call(client, "step")
    live.pump()
    original = received(client, "frame")[0]["events"]
    answer = call(client, "step_back", {"to_seq": 3})
    assert answer["ok"] is True and answer["epoch"] == 2 and answer["seq"] == 3
    (snap,) = received(client, "snapshot")
    assert snap["epoch"] == 2 and snap["seq"] == 3 and snap["playing"] is False
    assert snap["events"] == original[:3]
    call(client, "step")
    live.pump()
    (frame,) = received(client, "frame")
    assert frame["epoch"] == 2 and frame["stream_seq"] == 1
    assert frame["events"] == original[3:3 + len(frame["events"])]


def test_step_back_without_a_target_undoes_the_last_step(lab):
    _, _, live, client = lab
    call(client, "step")
    first_seq = call(client, "step")["seq"]
    call(client, "step")
    client.get_received()
    answer = call(client, "step_back")
    assert answer["seq"] == first_seq


UNREADABLE = [
    # (raw Socket.IO message, the event it names): the decoder cannot read the payload
    ('21["set_speed",{"speed":' + "9" * 101 + "}]", "set_speed"),
    ('21["configure",{"loss":' + "[" * 5000 + "]" * 5000 + "}]", "configure"),
    ('21["pause",{"a":}]', "pause"),
    ('21{"speed":1}', ""),
    ("21[]", ""),
    ("21[7]", ""),
]


@pytest.mark.parametrize(("raw", "name"), UNREADABLE, ids=range(len(UNREADABLE)))
def test_a_message_the_decoder_cannot_read_is_still_answered_with_bad_payload(lab, raw, name):
    _, sio, _, client = lab
    call(client, "step")
    before = call(client, "get_snapshot")["snapshot"]
    client.get_received()
    sio.server._handle_eio_message(client.eio_sid, raw)
    (error,) = received(client, "error")
    assert error["code"] == "bad_payload" and error["message"]
    assert client.acks["args"] == [{"ok": False, "error": error}]  # the answer to the message
    client.acks = None
    after = call(client, "get_snapshot")["snapshot"]
    assert comparable(after) == comparable(before)


def test_a_number_too_long_to_read_is_refused_like_any_bad_payload(lab):
    _, _, _, client = lab
    answer = call(client, "configure", {"timeout": 10**400})
    assert answer["ok"] is False and answer["error"]["code"] == "bad_payload"
    assert "100 digits" in answer["error"]["message"]
