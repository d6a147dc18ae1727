"""compare: the session's run side by side under other rules, worked out by the real server on
the run's seed and scripted faults, while the session's own run carries on untouched."""

from __future__ import annotations

import pytest
from live_client import LabClient

pytestmark = pytest.mark.live
RUN = {"messages": 12, "seed": 5, "faults": ["drop:data:msg=3"]}


def first_sends(events: list[dict]) -> list[tuple]:
    """Each message's first data packet: when it was sent, whether it was lost, and when it was
    dropped or arrived."""
    fate = {}
    for e in events:
        if e["type"] in ("drop", "deliver") and e["packet"] not in fate:
            fate[e["packet"]] = (e["type"], e["t"])
    return [(e["msg"], e["t"], *fate[e["packet"]]) for e in events if e["type"] == "send"]


def test_compare_answers_columns_on_the_runs_faults_and_the_run_goes_on(live_server):
    client = LabClient(live_server)
    client.session()
    client.call("set_speed", {"speed": 5})
    started = client.call("start", {"config": RUN})
    assert started["ok"] is True
    epoch = started["epoch"]
    client.wait_event("frame", where=lambda f: f["epoch"] == epoch and f["events"])
    before = client.call("get_snapshot")["snapshot"]

    answer = client.call("compare", {"columns": [{"settings": {"semantics": "at-most-once"}},
                                                 {"settings": {"semantics": "exactly-once"}}]})
    assert answer["ok"] is True, answer
    assert answer["same_protocol"] is True and answer["until"] is None
    cols = answer["columns"]
    assert [c["label"] for c in cols] == ["at-most-once", "exactly-once"]
    for col in cols:
        assert col["protocol"] == "classic" and col["done"] is True and col["events"]
        assert col["config"]["seed"] == 5 and col["config"]["faults"] == RUN["faults"]
        assert col["manifest"]["protocol"] == "classic"
        dropped = [e for e in col["events"] if e["type"] == "drop" and e["msg"] == 3
                   and e["attempt"] == 1]
        assert dropped and dropped[0]["reason"] == "scheduled"
    # the same first transmissions meet the same fates at the same instants in both columns
    sends = [first_sends(c["events"]) for c in cols]
    assert sends[0] == sends[1] and len(sends[0]) == 12
    assert any(e["type"] == "retry" for e in cols[1]["events"])
    assert not any(e["type"] == "retry" for e in cols[0]["events"])

    # the session's own run is as it was, and goes on streaming in the same epoch
    after = client.call("get_snapshot")["snapshot"]
    assert after["epoch"] == epoch and after["config"] == before["config"]
    assert after["seq"] >= before["seq"]
    last = max(f["stream_seq"] for f in client.of("frame") if f["epoch"] == epoch)
    client.wait_event("frame", where=lambda f: f["epoch"] == epoch and f["stream_seq"] > last)
    client.close()


@pytest.mark.parametrize("columns, code, field", [
    ([{}, {}, {}, {}], "invalid_value", "columns"),
    ([{}], "invalid_value", "columns"),
    ([{}, {"settings": {"loss": 1.5}}], "invalid_value", "columns[1].settings.loss"),
    ([{}, {"settings": {"seed": 2}}], "invalid_value", "columns[1].settings.seed"),
    ([{"protocol": "smtp"}, {}], "invalid_value", "columns[0].protocol"),
    ([{}, {"settings": {"messages": 10**6}}], "run_limit", "columns[1].settings.messages"),
])
def test_a_bad_comparison_is_refused_naming_the_field(live_server, columns, code, field):
    client = LabClient(live_server)
    client.session()
    before = client.call("get_snapshot")["snapshot"]
    answer = client.call("compare", {"columns": columns})
    assert answer["ok"] is False, answer
    assert answer["error"]["code"] == code and answer["error"]["field"] == field, answer
    after = client.call("get_snapshot")["snapshot"]
    assert (after["epoch"], after["seq"]) == (before["epoch"], before["seq"])
    client.close()
