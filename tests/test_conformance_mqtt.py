"""The MQTT preset held against a real mosquitto and a real paho-mqtt client.

Every case of ``tests.mqtt_cases`` runs under MQTT 3.1.1 and 5.0 through fault-injecting proxies
(``tests.mqtt_real``), each run on a broker and proxies of its own, all runs at once, once per
module; the simulator runs the same case. What the subscriber's application got, and the packets
each hop carried (the lost one marked, DUP flags included), must be the same in both.

paho-mqtt resends its unfinished messages after reconnecting with a clean session, against the
standard [MQTT-3.1.2-6] (its own README says so). The model has that behaviour as an option of
the client (``resend_without_session``), and the real runs are compared with it turned on; the
standard's behaviour, with it off, is held by ``test_sim_mqtt.py``. The one place the two differ
is tested too: a clean session that loses a packet on hop 1. QoS 2 Method B is not held here:
mosquitto and paho both pass a QoS 2 message on at PUBREL (Method A).

A missing mosquitto or paho-mqtt fails every test, saying how to install it.
"""

from __future__ import annotations

import pytest

from tests.mqtt_cases import CASES, VERSIONS, Case
from tests.mqtt_real import Observed, mosquitto_path, run_all, wire_text
from tests.mqtt_sim import simulate

RUNS = [pytest.param(case, version, id=f"{case.id}-{version}")
        for case in CASES for version in VERSIONS]


@pytest.fixture(scope="module")
def results() -> dict[tuple[str, str], Observed] | str:
    """Every run's observation, or why none could be made (a missing broker or client)."""
    try:
        mosquitto_path()
    except RuntimeError as missing:
        return str(missing)
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError:
        return "paho-mqtt is not installed: pip install -r requirements-test.txt (make test does)"
    return run_all()


def observed(results: dict[tuple[str, str], Observed] | str, case: Case,
             version: str) -> Observed:
    if isinstance(results, str):
        pytest.fail(results)
    seen = results[(case.id, version)]
    assert seen.settled, f"the flow had not settled at the time limit: {describe(seen)}"
    return seen


def describe(seen) -> str:
    return (f"{seen.deliveries} deliveries; hop 1: {wire_text(seen.wire[1])}; "
            f"hop 2: {wire_text(seen.wire[2])}")


def _same_hop(real: list, model: list) -> bool:
    """The same packets in the same order; where the broker forwarded the message twice (two
    flows open at once on hop 2), the real broker may interleave them either way: then the
    same packets, in any order."""
    if real == model:
        return True
    firsts = sum(1 for kind, dup, _ in model if kind == "PUBLISH" and not dup)
    return firsts > 1 and sorted(real) == sorted(model)


@pytest.mark.parametrize(("case", "version"), RUNS)
def test_the_model_does_what_the_broker_and_client_did(results, case: Case, version: str):
    seen = observed(results, case, version)
    model = simulate(case, version, paho=True)
    assert seen.outcome == model.outcome, (
        f"real: {describe(seen)}; model: {describe(model)}")
    for hop in (1, 2):
        assert _same_hop(seen.wire[hop], model.wire[hop]), (
            f"hop {hop}: real {wire_text(seen.wire[hop])}; model {wire_text(model.wire[hop])}")


CLEAN_HOP1 = [pytest.param(c, id=c.id) for c in CASES
              if c.session == "clean" and c.hop == 1 and c.qos > 0]


@pytest.mark.parametrize("case", CLEAN_HOP1)
def test_paho_departs_from_the_standard_exactly_where_the_model_says(results, case: Case):
    """Under a clean session a lost packet on hop 1 loses the message, or delivers it once,
    by the standard; paho's resend delivers it once, or twice. The model's option says which."""
    seen = observed(results, case, "5.0")
    standard = simulate(case, "5.0")
    assert standard.outcome == case.expect
    assert seen.outcome != case.expect
    assert seen.outcome == {"lost": "once", "once": "duplicate"}[case.expect]
