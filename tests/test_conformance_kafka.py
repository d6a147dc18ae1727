"""The Kafka preset held against librdkafka and its mock cluster.

Every case of ``tests.kafka_cases`` that the mock can play runs on a mock cluster of its own
(``tests.kafka_real``), all at once, once per module; the simulator runs the same case. The
records in the log (in offset order), what the consumer's application processed, and how many
Produce and InitProducerId requests the broker got must be the same in both.

One case is not played, and the table says why (``UNPLAYABLE``): the idempotent producer's
sequence gap. A test of its own shows the mock's reason: without a transactional id it checks
no sequence numbers, writes record 3 after the refused record 2, and librdkafka, its record 3
acknowledged, takes record 2 as delivered, so the log misses it (a real broker refuses record
3 with OUT_OF_ORDER_SEQUENCE_NUMBER, as the model does).

A missing confluent-kafka wheel (and with it librdkafka) fails every test, saying how to
install it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kafka_cases import CASES, Case, Observed
from tests.kafka_real import UNPLAYABLE, library_path, play_gap_unchecked, run_all
from tests.kafka_sim import simulate

DOC = Path(__file__).resolve().parent.parent / "docs" / "presets.md"
PLAYED = [pytest.param(c, id=c.id) for c in CASES if c.name not in UNPLAYABLE]


@pytest.fixture(scope="module")
def results() -> dict[str, Observed | Exception] | str:
    """Every played case's observation, or why none could be made (no librdkafka)."""
    try:
        library_path()
    except RuntimeError as missing:
        return str(missing)
    return run_all()


def observed(results, case: Case) -> Observed:
    if isinstance(results, str):
        pytest.fail(results)
    seen = results[case.name]
    if isinstance(seen, Exception):
        pytest.fail(f"the mock cluster's run failed: {seen!r}")
    return seen


@pytest.mark.parametrize("case", PLAYED)
def test_the_model_does_what_librdkafka_and_the_mock_cluster_did(results, case: Case):
    seen = observed(results, case)
    model = simulate(case)
    assert seen == model, f"mock cluster: {seen}; model: {model}"
    assert seen.outcome(case.messages) == case.expect, case.cite


def test_a_case_not_played_is_named_in_the_docs_with_its_reason():
    assert set(UNPLAYABLE) <= {c.name for c in CASES}
    text = DOC.read_text()
    for name in UNPLAYABLE:
        assert f"`{name}`" in text


def test_without_a_transactional_id_the_mock_checks_no_sequence_numbers(results):
    """Why the idempotent gap case is not played: record 2 is refused while record 3 is in
    flight; the mock writes record 3, and record 2, taken as delivered, never reaches the
    log."""
    if isinstance(results, str):
        pytest.fail(results)
    assert play_gap_unchecked() == (1, 3)
