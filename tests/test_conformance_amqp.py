"""The AMQP preset held against a real RabbitMQ and a real pika client (``make conformance``).

Every case of ``tests.amqp_cases`` runs on a RabbitMQ node the tests start for themselves, the
publisher and the consumer each behind a fault-injecting proxy (``tests.amqp_real``): the cases
that restart the broker together around one restart, the others all at once, once per module.
The simulator runs the same case (``tests.amqp_sim``). How many times the consumer's application
processed the message, the redelivered flag of each delivery it got, whether the publisher got
basic.return, and the methods each hop carried (the lost one marked) must be the same in both.
The real runs are also held to the case table itself: its expected outcome and flags.

The broker's fault in the table is a crash (the node killed), as the model's broker fault is:
a persistent message waiting in a durable queue that no consumer has read survives, marked
redelivered (RabbitMQ cannot tell whether it had delivered it). Beyond the table
(``tests.amqp_real.EXTRA``), the broker is stopped cleanly instead: the message survives with
redelivered=false, which the model does not play (its broker only crashes).

This module is collected only with ``--run-rabbitmq``. A missing rabbitmq-server or pika fails
every test, saying how to install it.
"""

from __future__ import annotations

import pytest

from tests.amqp_cases import CASES, Case, Observed
from tests.amqp_real import EXTRA, describe, rabbitmq_paths, run_all, wire_text
from tests.amqp_sim import simulate

RUNS = [pytest.param(case, id=case.id) for case in CASES]


@pytest.fixture(scope="module")
def results() -> dict[str, Observed | str] | str:
    """Every case's observation (or why that case could not be played), or why none could be
    made at all (a missing broker or client, a node that would not start)."""
    try:
        rabbitmq_paths()
    except RuntimeError as missing:
        return str(missing)
    try:
        import pika  # noqa: F401
    except ImportError:
        return "pika is not installed: pip install -r requirements-test.txt (make test does)"
    try:
        return run_all([*CASES, *EXTRA])
    except RuntimeError as failed:
        return f"the RabbitMQ node could not be run: {failed}"


def observed(results: dict[str, Observed | str] | str, case: Case) -> Observed:
    if isinstance(results, str):
        pytest.fail(results)
    seen = results[case.id]
    if isinstance(seen, str):
        pytest.fail(f"{case.id} could not be played: {seen}")
    return seen


def _wire(seen: Observed, hop: int) -> list[tuple[str, bool]]:
    return [tuple(frame) for frame in seen.wire.get(hop, [])]


@pytest.mark.parametrize("case", RUNS)
def test_the_model_does_what_the_broker_and_client_did(results, case: Case):
    seen = observed(results, case)
    model = simulate(case)
    assert (seen.outcome, seen.processed, seen.returned) == (
        model.outcome, model.processed, model.returned), (
        f"real: {describe(seen)}; model: {describe(model)}")
    assert tuple(seen.redelivered) == tuple(model.redelivered), (
        f"real: {describe(seen)}; model: {describe(model)}")
    for hop in (1, 2):
        assert _wire(seen, hop) == _wire(model, hop), (
            f"hop {hop}: real {wire_text(_wire(seen, hop))}; "
            f"model {wire_text(_wire(model, hop))}")


@pytest.mark.parametrize("case", RUNS)
def test_the_broker_does_what_the_case_table_says(results, case: Case):
    seen = observed(results, case)
    assert (seen.outcome, tuple(seen.redelivered)) == (case.expect, case.redelivered), (
        f"real: {describe(seen)}; the table: {case.expect}, redelivered {case.redelivered} "
        f"({case.cite})")


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in EXTRA])
def test_a_broker_stopped_cleanly_marks_nothing_redelivered(results, case: Case):
    seen = observed(results, case)
    assert (seen.outcome, tuple(seen.redelivered)) == (case.expect, case.redelivered), (
        f"real: {describe(seen)}; expected {case.expect}, redelivered {case.redelivered}")
