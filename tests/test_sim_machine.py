"""State-machine ordering: the order lifecycle, parking and rejection."""

from simhelpers import calm, of, run

from simulator import Simulation
from simulator.machine import OrderBook, Plan
from simulator.rng import Fate

CREATED, PAID, SHIPPED, DELIVERED, CANCELLED = range(5)


def verdicts(outcomes):
    return [(o[0], o[1]) for o in outcomes]


def test_allowed_transition_applies():
    book = OrderBook()
    assert verdicts(book.offer(1, 1, CREATED, None, 10)) == [("applied", 1)]
    assert book.states[1] == "created"


def test_early_transition_is_parked_then_applied_when_valid():
    book = OrderBook()
    assert verdicts(book.offer(2, 1, PAID, None, 10)) == [("parked", 2)]
    assert verdicts(book.offer(3, 1, SHIPPED, None, 11)) == [("parked", 3)]
    assert book.parked_count() == 2
    out = book.offer(1, 1, CREATED, None, 12)
    assert verdicts(out) == [("applied", 1), ("applied", 2), ("applied", 3)]
    assert out[1][5] == 10  # a parked event keeps pointing at its own processing
    assert book.states[1] == "shipped" and book.parked_count() == 0


def test_duplicate_and_impossible_transitions_are_rejected():
    book = OrderBook()
    book.offer(1, 1, CREATED, None, 1)
    assert book.offer(1, 1, CREATED, None, 2)[0][-1] == "duplicate"
    book.offer(2, 1, CANCELLED, None, 3)
    out = book.offer(3, 1, SHIPPED, None, 4)
    assert out[0][0] == "rejected" and out[0][-1] == "impossible"
    assert book.rejected == 2
    assert (book.rejected_duplicates, book.rejected_impossible) == (1, 1)
    assert book.final_state() == {"cancelled": 1}


def test_parked_transition_becomes_impossible_after_a_cancel():
    book = OrderBook()
    book.offer(1, 1, CREATED, None, 1)
    book.offer(3, 1, SHIPPED, None, 2)  # needs paid: parked
    out = book.offer(2, 1, CANCELLED, None, 3)
    assert verdicts(out) == [("applied", 2), ("rejected", 3)]


def test_from_to_transitions_park_a_cancel_until_the_payment_it_follows():
    # A cancel issued after the payment arrives first. To-state: it applies from created, and
    # the real payment is then rejected as impossible. From-to: it waits for paid.
    loose = OrderBook()
    loose.offer(1, 1, CREATED, None, 1)
    assert verdicts(loose.offer(3, 1, CANCELLED, "paid", 2)) == [("applied", 3)]
    assert loose.offer(2, 1, PAID, "created", 3)[0][-1] == "impossible"
    assert loose.rejected_impossible == 1
    strict = OrderBook(strict=True)
    strict.offer(1, 1, CREATED, None, 1)
    assert verdicts(strict.offer(3, 1, CANCELLED, "paid", 2)) == [("parked", 3)]
    assert verdicts(strict.offer(2, 1, PAID, "created", 3)) == [("applied", 2), ("applied", 3)]
    assert strict.rejected == 0 and strict.final_state() == {"cancelled": 1}


def _cancel_overtakes_payment(transitions: str):
    """A run where some cancel overtakes the payment it follows (jitter, no loss)."""
    return run(calm(ordering="state-machine", semantics="at-least-once", messages=80, seed=3,
                    latency_min=50.0, latency_max=2500.0, interval=100.0,
                    transitions=transitions))


def test_to_state_transitions_lose_real_payments_and_say_so_from_to_keeps_every_effect():
    sim, events = _cancel_overtakes_payment("to-state")
    lost = [e for e in of(events, "transition_rejected", reason="impossible")]
    assert lost, "the seeded run has a cancel overtaking a payment"
    assert all(e["lost_effect"] for e in lost)
    assert all("loses its payment" in e["text"] for e in lost)
    s = sim.summary()
    assert s["rejected_impossible"] == len(lost)
    assert s["rejected_duplicates"] == len(of(events, "transition_rejected", reason="duplicate"))
    assert s["effects_lost"] == 10 * len(lost)
    assert s["balance"] == s["expected_balance"] - s["effects_lost"]
    strict, strict_events = _cancel_overtakes_payment("from-to")
    t = strict.summary()
    assert t["rejected_impossible"] == 0 and t["effects_lost"] == 0
    assert t["balance"] == t["expected_balance"], "every effect kept"
    assert t["final_state"] == s["final_state"], "both designs reach the same states"
    view = strict.view()["machine"]
    assert view["transitions"] == "from-to"
    assert ["paid", "cancelled"] in view["diagram"]["edges"]
    assert sum(view["counts"].values()) == len(view["states"])


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


# --- the account under state-machine ordering: only an applied transition pays ---------------


def balance_events(events):
    return [e for e in events if e["type"] in ("process", "transition_applied")]


def test_state_machine_turns_duplicates_into_rejections_that_pay_nothing():
    """Lost acks make at-least-once process messages twice. With no ordering every processing
    pays, so the account is over-credited; under state-machine ordering the duplicate's
    transition is rejected and the account ends exactly right."""
    base = dict(semantics="at-least-once", messages=12, seed=4, ack_loss=0.4, max_retries=-1)
    sim, events = run(calm(ordering="state-machine", **base))
    s = sim.summary()
    assert s["duplicates"] > 0 and s["lost"] == 0 and s["in_play"] == 0
    assert s["balance"] == s["expected_balance"] == 10 * s["sent"] == 10 * s["applied"]
    rejected = of(events, "transition_rejected", reason="duplicate")
    assert len(rejected) == s["duplicates"] == s["rejected"]
    assert all("no second payment" in e["text"] for e in rejected)
    for dup in of(events, "process", duplicate=True):
        assert "again" in dup["text"] and "balance" not in dup["text"]

    plain, plain_events = run(calm(ordering="none", **base))
    p = plain.summary()
    assert p["duplicates"] == s["duplicates"] and p["lost"] == 0
    assert p["balance"] == p["expected_balance"] + 10 * p["duplicates"] > p["expected_balance"]
    assert "paid twice" in of(plain_events, "process", duplicate=True)[0]["text"]


def test_processing_leaves_the_balance_and_the_applied_transition_pays():
    sim, events = run(calm(ordering="state-machine", messages=6))
    balance = 0
    for e in balance_events(events):
        if e["type"] == "process":
            assert e["balance"] == balance, e  # the balance as it is at that instant
            assert e["text"].startswith(f"Application takes up message {e['msg']} (order ")
        else:
            balance += 10
            assert e["balance"] == balance, e
            assert e["text"].endswith(f"balance {balance}")
            assert f"is now {e['state']}" in e["text"]
    assert sim.summary()["balance"] == sim.view()["balance"] == balance == 60
    assert not any("balance" in e for e in of(events, "transition_parked")
                   + of(events, "transition_rejected"))


def test_a_parked_transition_pays_only_when_it_applies_later():
    plan = Plan(Fate(1))
    first = {}
    for msg in range(1, 20):
        order, event = plan.of(msg)
        first.setdefault(order, msg)
        if event == PAID:
            created, paid = first[order], msg
            break
    # The order's "created" message arrives after its "paid": paid parks, then both apply.
    sim, events = run(calm(ordering="state-machine", messages=paid,
                           faults=(f"delay:data:{created}:+{100 * (paid - created) + 400}",)))
    parked = of(events, "transition_parked", msg=paid)
    assert len(parked) == 1 and "nothing is paid" in parked[0]["text"]
    process = of(events, "process", seq=parked[0]["cause"])[0]
    earlier = [e["balance"] for e in balance_events(events) if e["seq"] < process["seq"]]
    assert process["balance"] == earlier[-1]  # taking it up paid nothing, nor did parking it
    applied = of(events, "transition_applied", msg=paid)
    assert len(applied) == 1 and applied[0]["seq"] > parked[0]["seq"]
    assert applied[0]["cause"] == parked[0]["cause"]  # still its own processing
    assert "parked message" in applied[0]["text"]
    created_applied = of(events, "transition_applied", msg=created)[0]
    assert created_applied["seq"] == applied[0]["seq"] - 1
    assert applied[0]["balance"] == created_applied["balance"] + 10
    s = sim.summary()
    assert s["parked"] == 0 and s["balance"] == s["expected_balance"]


def test_replay_stopping_between_a_processing_and_its_transition_keeps_the_balance_right():
    config = calm(ordering="state-machine", messages=5)
    sim, events = run(config)
    applied = of(events, "transition_applied")[-1]
    process = of(events, "process", seq=applied["cause"])[0]
    assert applied["seq"] == process["seq"] + 1  # made by the same happening
    at_process = Simulation.replay(config, sim.log, until_seq=process["seq"])
    assert at_process.summary()["balance"] == process["balance"] == applied["balance"] - 10
    assert at_process.step()[0] == applied
    assert at_process.summary()["balance"] == applied["balance"]
