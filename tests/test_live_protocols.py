"""A protocol added as a module of its own runs through the real server untouched.

The server loads tests/toy_relay (``PROTOCOL_MODULES``) and runs it for new sessions
(``PROTOCOL``): the session message carries its manifest, frames carry its events, node
actions take its node names, a step back replays it, and its run specification names it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import toy_relay  # noqa: F401  (the same protocol, to compare with in this process)
from conftest import ROOT
from live_client import LabClient, events_of, merge

from simulator import Config, Simulation
from simulator.runspec import RunSpec

pytestmark = pytest.mark.live
RUN = {"messages": 10, "loss": 0.2, "faults": ["crash:relay@1500", "restart:relay@2600"]}


def test_the_server_runs_a_protocol_from_a_module_with_its_manifest_and_nodes(relay_server):
    client = LabClient(relay_server)
    session = client.session()
    manifest = session["manifest"]
    assert manifest["protocol"] == "relay"
    assert [lane["id"] for lane in manifest["lanes"]] == ["producer", "network", "relay",
                                                         "consumer"]
    client.call("set_speed", {"speed": 50})
    epoch = client.call("start", {"config": RUN})["epoch"]
    client.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
    events = events_of(merge(client.of("frame"), epoch))
    assert events == Simulation(Config.from_dict(RUN), "relay").run()
    assert "forward" in {e["type"] for e in events}

    # node actions take the protocol's node names; a classic-only name is refused by name
    answer = client.call("inject", {"action": "crash", "node": "broker"})
    assert answer["ok"] is False and answer["error"]["field"] == "node"
    assert "relay" in answer["error"]["message"]
    assert client.call("inject", {"action": "restart", "node": "relay"})["ok"] is True
    answer = client.call("start", {"config": {"faults": ["drop:ack:1"]}})
    assert answer["ok"] is False and answer["error"]["field"] == "faults[0]"

    # a step back replays the same protocol; the snapshot's run text names it
    client.call("start", {"config": RUN})
    client.call("pause")
    client.call("step")
    client.call("step")
    back = client.call("step_back")
    assert back["ok"] is True, back
    snap = client.call("get_snapshot")
    spec = RunSpec.from_text(snap["snapshot"]["run"])
    assert spec.protocol == "relay"
    client.close()


def test_a_server_refuses_an_unknown_protocol_or_module_at_start():
    for env, word in (({"PROTOCOL": "nope"}, "PROTOCOL must be one of classic"),
                      ({"PROTOCOL_MODULES": "no_such_module"}, "PROTOCOL_MODULES")):
        proc = subprocess.run([sys.executable, str(ROOT / "app.py"), "--port", "1"],
                              cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env},
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0
        assert word in proc.stderr


def test_a_session_switches_to_a_preset_and_back_over_the_real_server(live_server):
    """``start`` with a protocol starts a new run of it: the snapshot brings its manifest, the
    frames its events (the same as the simulator's), the run text names it, a share link of it
    opens it in another session; an unknown protocol is refused by name and the run goes on."""
    client = LabClient(live_server)
    session = client.session()
    assert {p["name"] for p in session["protocols"]} >= {"classic", "mqtt"}
    assert session["manifest"]["protocol"] == "classic"
    run = {"messages": 6, "options": {"qos": 2, "hop1_loss": 0.2, "hop2_loss": 0.2}}
    client.call("set_speed", {"speed": 50})
    answer = client.call("start", {"config": run, "protocol": "mqtt"})
    assert answer["ok"] is True, answer
    epoch = answer["epoch"]
    snap = client.wait_event("snapshot", where=lambda s: s["epoch"] == epoch)
    assert snap["protocol"] == "mqtt" and snap["manifest"]["protocol"] == "mqtt"
    assert "broker" in [lane["id"] for lane in snap["manifest"]["lanes"]]
    client.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
    events = events_of(merge(client.of("frame"), epoch))
    assert events == Simulation(Config.from_dict(run), "mqtt").run()
    text = client.call("get_snapshot")["snapshot"]["run"]
    assert RunSpec.from_text(text).protocol == "mqtt"

    refused = client.call("start", {"config": {}, "protocol": "smtp"})
    assert refused["ok"] is False and refused["error"]["field"] == "protocol"
    assert "mqtt" in refused["error"]["message"]
    refused = client.call("start", {"config": {"options": {"qos": 5}}, "protocol": "mqtt"})
    assert refused["ok"] is False and refused["error"]["field"] == "options.qos"
    assert client.call("get_snapshot")["snapshot"]["protocol"] == "mqtt"  # still the same run

    other = LabClient(live_server)
    other.session()
    opened = other.call("open_run", {"run": text})
    assert opened["ok"] is True, opened
    snap = other.call("get_snapshot")["snapshot"]
    assert snap["manifest"]["protocol"] == "mqtt"

    back = client.call("start", {"config": {"messages": 3}, "protocol": "plain"})
    assert back["ok"] is True
    snap = client.call("get_snapshot")["snapshot"]
    assert snap["protocol"] == "classic" and snap["manifest"]["protocol"] == "classic"
    client.close()
    other.close()
