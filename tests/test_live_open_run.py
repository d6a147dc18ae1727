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
