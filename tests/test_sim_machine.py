"""State-machine ordering: the order lifecycle, parking and rejection."""

from simhelpers import calm, of, run

from simulator.machine import OrderBook, Plan
from simulator.rng import Fate

CREATED, PAID, SHIPPED, DELIVERED, CANCELLED = range(5)


def verdicts(outcomes):
    return [(o[0], o[1]) for o in outcomes]


def test_allowed_transition_applies():
    book = OrderBook()
    assert verdicts(book.offer(1, 1, CREATED, 10)) == [("applied", 1)]
    assert book.states[1] == "created"


def test_early_transition_is_parked_then_applied_when_valid():
    book = OrderBook()
    assert verdicts(book.offer(2, 1, PAID, 10)) == [("parked", 2)]
    assert verdicts(book.offer(3, 1, SHIPPED, 11)) == [("parked", 3)]
    assert book.parked_count() == 2
    out = book.offer(1, 1, CREATED, 12)
    assert verdicts(out) == [("applied", 1), ("applied", 2), ("applied", 3)]
    assert out[1][5] == 10  # a parked event keeps pointing at its own processing
    assert book.states[1] == "shipped" and book.parked_count() == 0


def test_duplicate_and_impossible_transitions_are_rejected():
    book = OrderBook()
    book.offer(1, 1, CREATED, 1)
    assert book.offer(1, 1, CREATED, 2)[0][-1] == "duplicate"
    book.offer(2, 1, CANCELLED, 3)
    out = book.offer(3, 1, SHIPPED, 4)
    assert out[0][0] == "rejected" and out[0][-1] == "impossible"
    assert book.rejected == 2
    assert book.final_state() == {"cancelled": 1}


def test_parked_transition_becomes_impossible_after_a_cancel():
    book = OrderBook()
    book.offer(1, 1, CREATED, 1)
    book.offer(3, 1, SHIPPED, 2)  # needs paid: parked
    out = book.offer(2, 1, CANCELLED, 3)
    assert verdicts(out) == [("applied", 2), ("rejected", 3)]


def test_plan_interleaves_about_a_quarter_as_many_orders_in_lifecycle_order():
    plan = Plan(Fate(7))
    events_by_order: dict[int, list[int]] = {}
    for msg in range(1, 401):
        order, event = plan.of(msg)
        events_by_order.setdefault(order, []).append(event)
    assert 80 <= len(events_by_order) <= 130
    lifecycles = {(0, 1, 2, 3), (0, 1, 4), (0, 4)}
    for evs in events_by_order.values():
        assert any(tuple(evs) == life[:len(evs)] for life in lifecycles), evs
    assert Plan(Fate(7)).of(250) == plan.of(250)
    assert any(evs == [0, 4] or evs == [0, 1, 4] for evs in events_by_order.values())


def test_state_machine_run_reports_final_state_parked_and_rejected():
    sim, events = run(calm(ordering="state-machine", semantics="at-least-once", messages=40,
                           seed=5, latency_min=50.0, latency_max=600.0, ack_loss=0.3))
    s = sim.summary()
    assert sum(s["final_state"].values()) == len(of(events, "transition_applied",
                                                    transition="created"))
    assert s["rejected"] == len(of(events, "transition_rejected")) > 0  # duplicates
    assert len(of(events, "transition_parked")) > 0  # jitter reorders lifecycles
    assert s["parked"] == 0
    for e in of(events, "transition_applied"):
        assert e["cause"] < e["seq"]
        assert of(events, "process", seq=e["cause"])


def test_summary_has_no_machine_keys_without_the_state_machine():
    sim, _ = run(calm())
    assert "final_state" not in sim.summary()
