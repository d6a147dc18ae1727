"""open_run: a session takes over the run a run specification names (share links, a lesson's
run opened in the explorer), rebuilt exactly, paused at its position."""

from __future__ import annotations

import pytest
from live_client import LabClient, events_of, merge

from simulator import Config, Simulation
from simulator.runspec import RunSpec

pytestmark = pytest.mark.live
RUN = {"messages": 12, "faults": ["drop:ack:msg=3"]}


def test_a_second_tab_opens_the_run_of_the_first_exactly_where_it_stands(live_server):
    first = LabClient(live_server)
    first.session()
    first.call("start", {"config": RUN})
    first.call("pause")
    for _ in range(15):
        first.call("step")
    assert first.call("configure", {"semantics": "exactly-once"})["ok"] is True
    for _ in range(10):
        first.call("step")
    there = first.call("get_snapshot")["snapshot"]
    spec = RunSpec.from_text(there["run"])
    assert spec.log and spec.log[0]["payload"] == {"semantics": "exactly-once"}

    second = LabClient(live_server)
    second.session()
    answer = second.call("open_run", {"run": there["run"], "position": there["seq"]})
    assert answer["ok"] is True and answer["seq"] == there["seq"], answer
    here = second.call("get_snapshot")["snapshot"]
    assert here["events"] == there["events"]
    assert here["config"]["semantics"] == "exactly-once" and here["playing"] is False
    # and it goes on as the same run would
    epoch = here["epoch"]
    second.call("set_speed", {"speed": 50})
    assert second.call("resume")["ok"] is True
    second.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
    whole = Simulation.replay(Config.from_dict(RUN), list(spec.log)).run()
    after = [e for e in events_of(merge(second.of("frame"), epoch)) if e["seq"] > there["seq"]]
    assert after == whole[len(whole) - len(after):] and after
    first.close()
    second.close()


@pytest.mark.parametrize("run, field, says", [
    ("v1.jnonsense", "run", "readable"),
    ("v9.jabc", "run", "v1"),
    (RunSpec(Config(messages=5)).to_text().replace("v1.", "v2."), "run", "v1"),
    (RunSpec(Config(), position=10**9).to_text(), "run", "position"),
])
def test_a_bad_run_text_is_refused_naming_the_field_and_the_run_goes_on(live_server, run,
                                                                          field, says):
    client = LabClient(live_server)
    client.session()
    before = client.call("get_snapshot")["snapshot"]
    answer = client.call("open_run", {"run": run})
    assert answer["ok"] is False and answer["error"]["field"] == field, answer
    assert says in answer["error"]["message"]
    after = client.call("get_snapshot")["snapshot"]
    assert after["epoch"] == before["epoch"]
    client.close()


def test_a_position_beyond_the_end_of_the_run_is_refused(live_server):
    client = LabClient(live_server)
    client.session()
    answer = client.call("open_run", {"run": RunSpec(Config(messages=2)).to_text(),
                                      "position": 5000})
    assert answer["ok"] is False and answer["error"]["field"] == "run"
    assert "ends at event" in answer["error"]["message"]
    client.close()


def test_share_names_the_run_at_an_event_shown_and_a_trace_of_any_protocol_has_its_shape(
        live_server):
    """``share {position}``: the run specification text at that event (a link's, a trace
    header's), a position beyond the run refused by name; ``get_manifest``: any protocol's
    shape, an unknown one refused by name."""
    client = LabClient(live_server)
    client.session()
    client.call("start", {"config": RUN})
    client.call("pause")
    for _ in range(12):
        client.call("step")
    assert client.call("configure", {"semantics": "at-most-once"})["ok"] is True
    for _ in range(6):
        client.call("step")
    snap = client.call("get_snapshot")["snapshot"]
    seq = snap["seq"]
    answer = client.call("share", {"position": seq - 3})
    assert answer["ok"] is True and answer["seq"] == seq - 3 and answer["protocol"] == "classic"
    spec = RunSpec.from_text(answer["run"])
    assert spec.position == seq - 3 and spec.log[0]["payload"] == {"semantics": "at-most-once"}
    rebuilt = Simulation.replay_events(spec.config, list(spec.log), 0, seq - 3)
    assert rebuilt == [e for e in snap["events"] if e["seq"] <= seq - 3]
    refused = client.call("share", {"position": seq + 100})
    assert refused["ok"] is False and refused["error"]["field"] == "position"
    assert client.call("share", {})["seq"] == seq

    shape = client.call("get_manifest", {"protocol": "amqp"})
    assert shape["ok"] is True and shape["manifest"]["protocol"] == "amqp"
    refused = client.call("get_manifest", {"protocol": "smtp"})
    assert refused["ok"] is False and refused["error"]["field"] == "protocol"
    client.close()
