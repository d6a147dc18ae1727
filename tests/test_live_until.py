"""play_until: the real server plays a run until the event a lesson names, then pauses."""

from __future__ import annotations

import pytest
from live_client import LabClient, events_of, merge

from simulator import Config, Simulation

pytestmark = pytest.mark.live
RUN = {"messages": 8, "faults": ["drop:ack:msg=3"]}


def test_play_until_pauses_right_after_the_named_event_and_the_run_goes_on_the_same(
        live_server):
    client = LabClient(live_server)
    client.session()
    client.call("set_speed", {"speed": 20})
    epoch = client.call("start", {"config": RUN})["epoch"]
    client.call("pause")
    answer = client.call("play_until", {"until": {"type": "timeout", "msg": 3}})
    assert answer["ok"] is True, answer
    stop = client.wait_event("frame", timeout=30,
                             where=lambda f: f["epoch"] == epoch and f.get("stopped"))
    assert stop["stopped"] == {"reason": "until", "matched": True, "seq": stop["seq"]}
    assert stop["playing"] is False
    held = events_of(merge(client.of("frame"), epoch))
    assert held[-1]["type"] == "timeout" and held[-1]["msg"] == 3
    assert held[-1]["seq"] == stop["seq"], "nothing after the named event yet"
    client.call("resume")
    last = client.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch
                             and f["done"])
    whole = events_of(merge(client.of("frame"), epoch))
    assert whole == Simulation(Config.from_dict(RUN)).run()
    assert last["summary"]["events"] == len(whole)
    client.close()


def test_a_bad_predicate_is_refused_naming_the_field_and_the_run_goes_on(live_server):
    client = LabClient(live_server)
    client.session()
    answer = client.call("play_until", {"until": {"type": "teleport"}})
    assert answer["ok"] is False
    assert answer["error"]["code"] == "invalid_value"
    assert answer["error"]["field"] == "until.type"
    assert client.call("play_until", {"until": {"t": 1000}})["ok"] is True
    stop = client.wait_event("frame", timeout=30, where=lambda f: f.get("stopped"))
    assert stop["stopped"]["matched"] is False and stop["now"] == 1000
    client.close()
