"""Live reconfiguration: every setting that may change mid-run applies from that instant on."""

import pytest
from simhelpers import calm, of

from simulator import FIELDS, ConfigError, Simulation

AT = 1050.0  # messages 1..10 were sent by then (every 100 ms), up to 10 more follow


def _after(change: dict, **base) -> tuple[dict, list[dict]]:
    """Run to AT, apply ``change``; return the config_change event and every event after it."""
    settings = {"messages": 20, "timeout": 400.0, **base}
    sim = Simulation(calm(**settings))
    sim.run_until(AT)
    out = sim.configure(change)
    assert sim.config.to_dict().items() >= change.items()
    return out[0], out[1:] + sim.run()


def _sent_after(events):
    return [e for e in events if e["type"] in ("send", "retry")]


CHECKS = {
    "loss": ({"loss": 1.0}, {},
             lambda ev: not of(ev, "deliver") or all(d["cause"] < ev[0]["seq"]
                                                     for d in of(ev, "deliver"))),
    "ack_loss": ({"ack_loss": 1.0}, {}, lambda ev: not [
        a for a in of(ev, "ack_deliver") if a["cause"] >= ev[0]["seq"]]),
    "duplicate": ({"duplicate": 1.0}, {},
                  lambda ev: len(of(ev, "net_duplicate")) >= len(_sent_after(ev)) > 0),
    "latency_min": ({"latency_min": 30.0, "latency_max": 30.0}, {},
                    lambda ev: all(e["eta"] - e["t"] == 30.0 for e in _sent_after(ev))),
    "timeout": ({"timeout": 150.0}, {"loss": 1.0, "max_retries": 2},
                lambda ev: "400 ms" in of(ev, "timeout")[0]["text"]
                and "150 ms" in of(ev, "timeout")[-1]["text"]),
    "max_retries": ({"max_retries": 0}, {"loss": 1.0}, lambda ev: of(ev, "retry") == []),
    "backoff": ({"backoff": "exponential"}, {"loss": 1.0, "messages": 11, "max_retries": 3},
                lambda ev: [t["t"] for t in of(ev, "timeout", msg=11)] ==
                [1400.0, 2200.0, 3800.0, 7000.0]),
    "max_in_flight": ({"max_in_flight": 1}, {"loss": 1.0, "max_retries": 0},
                      lambda ev: [e["t"] for e in of(ev, "send")][:2] == [1400.0, 1800.0]),
    "interval": ({"interval": 1000.0}, {}, lambda ev: of(ev, "send")[0]["t"] == 2000.0),
    "process_time": ({"process_time": 77.0}, {},
                     lambda ev: all(p["t"] - ev_t(ev, p["cause"]) == 77.0
                                    for p in of(ev, "process"))),
    "process_fail": ({"process_fail": 1.0}, {"max_retries": 0},
                     lambda ev: of(ev, "process") == [] and of(ev, "nack")),
    "gap_timeout": ({"gap_timeout": 5000.0}, {"ordering": "sequence", "gap_timeout": 100.0,
                                              "semantics": "at-most-once",
                                              "faults": ("drop:data:12",)},
                    lambda ev: of(ev, "gap_skip")[0]["t"] == of(ev, "buffer")[0]["t"] + 5000),
    "dedup_window": ({"dedup_window": 1}, {"semantics": "exactly-once",
                                           "faults": ("drop:ack:11",)},
                     lambda ev: of(ev, "process", msg=11, duplicate=True)),
    "dedup_store": ({"dedup_store": "memory"}, {"semantics": "exactly-once",
                                                "faults": ("crash:consumer@1200",
                                                           "restart:consumer@1250")},
                    lambda ev: "in-memory dedup store" in of(ev, "crash")[0]["text"]),
    "operation": ({"operation": "idempotent"}, {"faults": ("drop:ack:12",)},
                  lambda ev: "already applied" in of(ev, "process", duplicate=True)[0]["text"]),
    "semantics": ({"semantics": "at-most-once"}, {"loss": 1.0},
                  lambda ev: of(ev, "retry") == [] == of(ev, "timeout") == of(ev, "give_up")
                  and "stops waiting" in ev[0]["text"]),
    "backoff_cap": ({"backoff_cap": 500.0}, {"loss": 1.0, "messages": 11, "max_retries": 3,
                                             "backoff": "exponential"},
                    lambda ev: [t["t"] for t in of(ev, "timeout", msg=11)] ==
                    [1400.0, 1900.0, 2400.0, 2900.0]),
    "backoff_jitter": ({"backoff_jitter": 0.9}, {"loss": 1.0, "messages": 12, "max_retries": 0},
                       lambda ev: of(ev, "timeout", msg=12)[0]["t"] < 1100.0 + 400.0),
    "dedup_ttl": ({"dedup_ttl": 200.0}, {"semantics": "exactly-once",
                                         "faults": ("drop:ack:11",)},
                  lambda ev: of(ev, "process", msg=11, duplicate=True)),
    "dedup_record": ({"dedup_record": "before"}, {"semantics": "exactly-once"},
                     lambda ev: of(ev, "dedup_record", when="before")),
    "record_gap": ({"record_gap": 250.0}, {"semantics": "exactly-once", "dedup_record": "after"},
                   lambda ev: of(ev, "dedup_record", msg=12)[0]["t"] -
                   of(ev, "process", msg=12)[0]["t"] == 250.0),
    # seed 4 has a cancel overtaking its payment after AT: from-to parks it, nothing is lost
    "transitions": ({"transitions": "from-to"}, {"ordering": "state-machine", "seed": 4,
                                                 "latency_min": 50.0, "latency_max": 1500.0},
                    lambda ev: of(ev, "transition_rejected", reason="impossible") == []
                    and of(ev, "transition_parked")),
    "ordering": ({"ordering": "sequence"}, {"faults": ("delay:data:12:+500",)},
                 lambda ev: of(ev, "buffer", msg=13)),
}


def ev_t(events: list[dict], seq: int) -> float:
    return next(e["t"] for e in events if e["seq"] == seq)


def test_every_live_setting_has_a_check():
    live = {f.name for f in FIELDS if f.live} - {"latency_max"}  # changed with latency_min
    assert live == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_a_live_change_applies_from_then_on_and_emits_config_change(name):
    change, base, check = CHECKS[name]
    event, after = _after(change, **base)
    assert event["type"] == "config_change" and event["t"] == AT and event["cause"] is None
    assert set(event["changes"]) == set(change)
    assert all(new == change[k] for k, (_, new) in event["changes"].items())
    assert check([event] + after), name


@pytest.mark.parametrize("name", [f.name for f in FIELDS if not f.live])
def test_settings_fixed_for_a_run_are_refused_live_naming_the_field(name):
    sim = Simulation(calm())
    sim.run_until(100)
    value = {"faults": ["drop:data:9"]}.get(name, 3)
    with pytest.raises(ConfigError) as err:
        sim.configure({name: value})
    assert err.value.field == name and "reset" in err.value.message
    assert sim.log == []
