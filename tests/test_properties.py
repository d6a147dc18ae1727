"""Property-based tests over random configurations: invariants read from the event stream.

Each property is checked against the events themselves, not against the summary's own arithmetic:
every sent message ends processed, given up or lost with the events that explain it; exactly-once
with an unbounded durable dedup store never processes a message twice; the sequence strategy never
processes out of order; causes precede effects; time never goes backwards; one seed gives one
stream; a packet meets the same fate under every semantics; replay rebuilds any prefix.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import EVENT_TYPES, Config, ConfigError, Simulation
from simulator.events import ALWAYS, LANES

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
EVENT_CAP = 60_000  # a small run that makes more events than this never ends

# --- random configurations --------------------------------------------------------------------

probability = st.one_of(st.just(0.0), st.floats(0.0, 0.5, allow_nan=False))


@st.composite
def packet_faults(draw):
    action = draw(st.sampled_from(("drop", "duplicate", "delay")))
    kind = draw(st.sampled_from(("data", "ack", "nack")))
    nth = draw(st.integers(1, 12))
    if action == "delay":
        return f"delay:{kind}:{nth}:+{draw(st.integers(1, 3000))}"
    return f"{action}:{kind}:{nth}"


@st.composite
def node_faults(draw):
    """A crash and, always, a restart after it, so a run that retries for ever still ends."""
    node = draw(st.sampled_from(("consumer", "producer")))
    at = draw(st.integers(0, 8000))
    back = at + draw(st.integers(1, 4000))
    return [f"crash:{node}@{at}", f"restart:{node}@{back}"]


@st.composite
def configs(draw, semantics=None, ordering=None, faults=True, crashes=True, **fixed):
    latency_min = draw(st.integers(0, 500))
    chosen = {
        "semantics": semantics or draw(st.sampled_from(
            ("at-most-once", "at-least-once", "exactly-once"))),
        "ordering": ordering or draw(st.sampled_from(("none", "sequence", "state-machine"))),
        "seed": draw(st.integers(0, 2**32)),
        "messages": draw(st.integers(1, 24)),
        "interval": float(draw(st.integers(20, 800))),
        "latency_min": float(latency_min),
        "latency_max": float(latency_min + draw(st.integers(0, 1000))),
        "loss": draw(probability),
        "ack_loss": draw(probability),
        "duplicate": draw(st.one_of(st.just(0.0), st.floats(0.0, 0.3))),
        "timeout": float(draw(st.integers(100, 3000))),
        "max_retries": draw(st.integers(-1, 4)),
        "backoff": draw(st.sampled_from(("fixed", "exponential"))),
        "max_in_flight": draw(st.integers(0, 4)),
        "process_time": float(draw(st.integers(0, 200))),
        "process_fail": draw(st.one_of(st.just(0.0), st.floats(0.0, 0.3))),
        "gap_timeout": float(draw(st.integers(100, 3000))),
        "dedup_window": draw(st.integers(0, 5)),
        "dedup_store": draw(st.sampled_from(("memory", "durable"))),
        "operation": draw(st.sampled_from(("add", "idempotent"))),
        "backoff_cap": float(draw(st.sampled_from((0, 0, 1500, 4000)))),
        "backoff_jitter": draw(st.sampled_from((0.0, 0.0, 0.5))),
        "dedup_ttl": float(draw(st.sampled_from((0, 0, 1000, 5000)))),
        "dedup_record": draw(st.sampled_from(("atomic", "before", "after"))),
        "record_gap": float(draw(st.integers(0, 300))),
        "transitions": draw(st.sampled_from(("to-state", "from-to"))),
    }
    if chosen["max_retries"] < 0:
        # Retrying for ever with a timeout shorter than the round trip is a retry storm: the
        # queue before the application grows faster than it drains. It ends, but not soon.
        chosen["timeout"] = max(chosen["timeout"],
                                2 * chosen["latency_max"] + 4 * chosen["process_time"] + 1)
    specs: list[str] = []
    if faults:
        specs += draw(st.lists(packet_faults(), max_size=3))
    if crashes and draw(st.booleans()):
        specs += draw(node_faults())
    chosen["faults"] = specs
    chosen.update(fixed)
    return Config.from_dict(chosen)


def run(config: Config) -> list[dict]:
    sim = Simulation(config)
    events = sim.run(max_events=EVENT_CAP)
    assert sim.done, f"the run did not end within {EVENT_CAP} events"
    return events


# --- invariants of any stream -----------------------------------------------------------------

# What each event's cause may be (docs/events.md, "Causes"); None: no cause.
CAUSES = {
    "send": {None},
    "retry": {"timeout", "ack_deliver"},
    "timeout_explained": {"timeout"},
    "dead_letter": {"ack_deliver"},
    "dedup_record": {"deliver", "process"},
    "net_duplicate": {"send", "retry", "ack_send", "nack", "fault_injected"},
    "drop": {"send", "retry", "net_duplicate", "fault_injected"},
    "ack_drop": {"ack_send", "nack", "net_duplicate", "fault_injected"},
    "deliver": {"send", "retry", "net_duplicate", "deliver"},
    "ack_deliver": {"ack_send", "nack", "net_duplicate"},
    "timeout": {"send", "retry"},
    "give_up": {"timeout", "crash"},
    "ack_send": {"process", "process_fail", "deliver", "dedup_discard", "stale_drop",
                 "dedup_record"},
    "nack": {"process_fail"},
    "process": {"deliver"},
    "process_fail": {"deliver"},
    "dedup_discard": {"deliver"},
    "buffer": {"deliver"},
    "stale_drop": {"deliver"},
    "release": {"buffer", "deliver"},
    "gap_skip": {None},
    "transition_applied": {"process"},
    "transition_parked": {"process"},
    "transition_rejected": {"process"},
    "crash": {"fault_injected"},
    "restart": {"fault_injected"},
    "config_change": {None},
    "fault_injected": {None},
}
SAME_PACKET = {"drop", "ack_drop", "ack_deliver"}  # ... as the packet their cause put on the wire


def check_stream(events: list[dict]) -> None:
    """Fields, seq from 1 and consecutive, time monotonic, causes earlier and of the right type."""
    assert [ev["seq"] for ev in events] == list(range(1, len(events) + 1))
    last_t = 0.0
    for ev in events:
        for name in ALWAYS:
            assert name in ev, (name, ev)
        assert ev["type"] in EVENT_TYPES and ev["lane"] in LANES, ev
        assert ev["t"] >= last_t, f"time went backwards at {ev}"
        last_t = ev["t"]
        cause = ev["cause"]
        if cause is None:
            assert None in CAUSES[ev["type"]], f"{ev['type']} without a cause: {ev}"
            continue
        assert 1 <= cause < ev["seq"], ev
        parent = events[cause - 1]
        assert parent["type"] in CAUSES[ev["type"]], (parent, ev)
        if ev["msg"] is not None and parent["msg"] is not None and \
                not ev["type"].startswith("transition_"):
            assert ev["msg"] == parent["msg"], (parent, ev)
        if ev["type"] in SAME_PACKET and parent["type"] != "fault_injected":
            assert ev["packet"] == parent["packet"], (parent, ev)


# The events that carry the account balance: every processing, and under state-machine ordering
# (which pays when a transition applies) every transition applied.
BALANCE_EVENTS = ("process", "transition_applied")


def check_balance(events: list[dict], config: Config) -> None:
    """The balance events read as one running account that only a payment moves: under
    state-machine ordering a processing leaves it as it was and an applied transition pays;
    under the other orderings each processing pays (``add``) or pays once per id
    (``idempotent``), and nothing else touches the balance."""
    machine = config.ordering == "state-machine"
    balance = 0
    paid: set[int] = set()
    for ev in events:
        if ev["type"] not in BALANCE_EVENTS:
            assert "balance" not in ev, ev
            continue
        pays = (ev["type"] == "transition_applied") == machine
        if pays and (config.operation == "add" or ev["msg"] not in paid):
            balance += 10
            paid.add(ev["msg"])
        assert ev["balance"] == balance, ev


def counters(events: list[dict]) -> dict:
    """The summary's counters, counted from the events."""
    c = Counter(ev["type"] for ev in events)
    processes = [ev for ev in events if ev["type"] == "process"]
    unique = sum(1 for ev in processes if not ev["duplicate"])
    balances = [ev["balance"] for ev in events if ev["type"] in BALANCE_EVENTS]
    return {
        "sent": c["send"], "transmissions": c["send"] + c["retry"], "retries": c["retry"],
        "timeouts": c["timeout"], "dropped": c["drop"], "acks_sent": c["ack_send"],
        "acks_dropped": c["ack_drop"], "network_duplicates": c["net_duplicate"],
        "delivered": c["deliver"], "processed": len(processes), "processed_unique": unique,
        "nacks": c["nack"], "lost": c["send"] - unique, "duplicates": len(processes) - unique,
        "discarded_duplicates": c["dedup_discard"], "events": len(events),
        "expected_balance": 10 * c["send"],
        "balance": balances[-1] if balances else 0,
        "dead_lettered": c["dead_letter"], "dedup_records": c["dedup_record"],
        "false_done": sum(1 for ev in events if ev.get("false_done")),
        "network_copies_data": sum(1 for ev in events if ev["type"] == "net_duplicate"
                                   and ev["kind"] == "data"),
        **{f"timeouts_{v}": sum(1 for ev in events if ev["type"] == "timeout_explained"
                                and ev["verdict"] == v) for v in ("processed", "lost", "late")},
        "timeouts_unknown": c["timeout"] - c["timeout_explained"],
    }


def by_msg(events: list[dict]) -> dict[int, Counter]:
    out: dict[int, Counter] = defaultdict(Counter)
    for ev in events:
        if ev["msg"] is not None:
            out[ev["msg"]][ev["type"]] += 1
            if ev["type"] == "process" and not ev["duplicate"]:
                out[ev["msg"]]["first_process"] += 1
    return out


# --- the properties ---------------------------------------------------------------------------


@SETTINGS
@given(configs())
def test_any_run_is_a_well_formed_stream_that_the_summary_counts(config):
    sim = Simulation(config)
    events = sim.run(max_events=EVENT_CAP)
    assert sim.done
    check_stream(events)
    summary = sim.summary()
    for key, value in counters(events).items():
        assert summary[key] == value, key
    check_balance(events, config)
    if config.ordering == "state-machine":
        applied = Counter(ev["msg"] for ev in events if ev["type"] == "transition_applied")
        assert all(n == 1 for n in applied.values()), "a message's transition applied twice"
        assert summary["applied"] == sum(applied.values())
        assert summary["balance"] == 10 * len(applied) <= summary["expected_balance"]
    elif config.operation == "add":
        assert summary["balance"] == 10 * counters(events)["processed"]


@SETTINGS
@given(configs())
def test_every_sent_message_ends_processed_given_up_or_lost_with_its_events(config):
    events = run(config)
    per = by_msg(events)
    sent = [m for m, c in per.items() if c["send"]]
    assert sorted(sent) == list(range(1, len(sent) + 1)), "ids from 1, in send order"
    assert all(c["send"] == 1 for c in per.values() if c["send"]), "one first send each"
    assert all(per[m]["send"] for m in per), "no events for a message never sent"
    consumer_crashes = [ev["t"] for ev in events if ev["type"] == "crash"
                        and ev["node"] == "consumer"]
    gaps = {s for ev in events if ev["type"] == "gap_skip" for s in ev["skipped"]}
    for m in sent:
        c = per[m]
        assert c["first_process"] <= 1, f"message {m} processed 'for the first time' twice"
        if c["first_process"] or c["give_up"] or c["dead_letter"]:
            continue
        # Neither processed, given up nor dead-lettered: the producer stopped with an ack for a
        # message the application never saw (a skipped gap; a dedup key written before an
        # effect a crash or failure prevented), or a live switch to at-most-once stopped it
        # waiting; at-most-once loses what is dropped, fails or crashes, with nobody resending.
        explained = m in gaps or (c["dedup_record"] and (c["dedup_discard"] or
                                                          c["process_fail"]))
        first = next(ev for ev in events if ev["msg"] == m and ev["type"] == "send")
        if config.semantics == "at-most-once":
            explained = explained or c["drop"] or c["stale_drop"] or c["process_fail"] or any(
                t >= first["t"] for t in consumer_crashes)
        assert explained, f"message {m} vanished without an event saying why: {dict(c)}"


@SETTINGS
@given(configs())
def test_a_message_given_up_was_tried_and_not_answered(config):
    events = run(config)
    gave_up = {ev["msg"]: ev for ev in events if ev["type"] == "give_up"}
    attempts = Counter(ev["msg"] for ev in events if ev["type"] in ("send", "retry"))
    for m, ev in gave_up.items():
        if ev["reason"] == "retries_exhausted" and config.max_retries >= 0:
            assert attempts[m] == config.max_retries + 1, ev
        if config.semantics == "at-most-once":
            assert attempts[m] == 1


@SETTINGS
@given(configs())
def test_every_timeout_is_explained_by_the_end_and_the_hindsight_is_true(config):
    """The observer's verdict on each timeout agrees with what the stream shows: processed
    before it, processed after it, or never processed from what was sent up to it."""
    events = run(config)
    explained = {ev["timeout"]: ev for ev in events if ev["type"] == "timeout_explained"}
    timeouts = [ev for ev in events if ev["type"] == "timeout"]
    assert sorted(explained) == [ev["seq"] for ev in timeouts], "each timeout explained once"
    if config.semantics == "at-most-once":
        assert not timeouts and not any(ev["type"] in ("ack_send", "nack", "give_up")
                                        for ev in events)
    for timeout in timeouts:
        why = explained[timeout["seq"]]
        assert why["msg"] == timeout["msg"] and why["attempt"] == timeout["attempt"]
        assert why["seq"] > timeout["seq"]
        processes = [ev for ev in events if ev["type"] == "process"
                     and ev["msg"] == timeout["msg"]]
        before = [ev for ev in processes if ev["seq"] < timeout["seq"]]
        if why["verdict"] == "processed":
            assert before, why
        elif why["verdict"] == "late":
            assert not before and any(ev["seq"] < why["seq"] for ev in processes), why
            known = max(ev["seq"] for ev in processes if ev["seq"] < why["seq"])
            between = {ev["type"] for ev in events[known:why["seq"] - 1]}
            assert between <= {"timeout_explained", "transition_applied", "transition_parked",
                               "transition_rejected"}, "told as soon as it was processed"
        else:
            assert why["verdict"] == "lost", why
            assert not any(ev["attempt"] <= timeout["attempt"] for ev in processes), why


@SETTINGS
@given(configs(semantics="exactly-once", dedup_window=0, dedup_store="durable",
               dedup_ttl=0.0, dedup_record="atomic"))
def test_exactly_once_with_an_unbounded_durable_store_never_processes_twice(config):
    events = run(config)
    processed = Counter(ev["msg"] for ev in events if ev["type"] == "process")
    assert all(n == 1 for n in processed.values()), processed
    assert not any(ev["type"] == "process" and ev["duplicate"] for ev in events)
    if config.operation == "add":
        last = [ev["balance"] for ev in events if ev["type"] in BALANCE_EVENTS]
        paying = processed if config.ordering != "state-machine" else \
            [ev for ev in events if ev["type"] == "transition_applied"]
        assert not last or last[-1] == 10 * len(paying)


@SETTINGS
@given(configs(ordering="sequence"))
def test_the_sequence_strategy_never_processes_out_of_order(config):
    events = run(config)
    numbers = [ev["seqno"] for ev in events if ev["type"] == "process"]
    assert numbers == sorted(set(numbers)), numbers
    assert not any(ev["type"] == "process" and ev["out_of_order"] for ev in events)


@SETTINGS
@given(configs())
def test_same_seed_same_stream(config):
    assert run(config) == run(config)


def packet_fates(events: list[dict]) -> dict[tuple, tuple]:
    """(msg, attempt, kind, origin, copy) -> (fate, trip time, copies made) for every packet."""
    by_seq = {ev["seq"]: ev for ev in events}
    key_of: dict[int, tuple] = {}
    sent_at: dict[int, float] = {}
    copies: Counter = Counter()
    fates: dict[tuple, list] = {}
    for ev in events:
        typ = ev["type"]
        if typ in ("send", "retry"):
            key = (ev["msg"], ev["attempt"], "data", 0, 0)
        elif typ in ("ack_send", "nack"):
            answered = by_seq[ev["cause"]]
            while answered["type"] != "deliver":
                answered = by_seq[answered["cause"]]
            origin = key_of[answered["packet"]][4]
            key = (ev["msg"], ev["attempt"], ev["kind"], origin, 0)
        elif typ == "net_duplicate":
            original = key_of[ev["original"]]
            copies[original] += 1
            key = original[:4] + (copies[original],)
        else:
            if typ in ("deliver", "ack_deliver", "drop", "ack_drop"):
                fate = "arrived" if typ in ("deliver", "ack_deliver") else ev["reason"]
                key = key_of[ev["packet"]]
                fates[key] = [fate, ev["t"] - sent_at[ev["packet"]]]
            continue
        assert key not in fates, f"two packets with the key {key}"
        key_of[ev["packet"]] = key
        sent_at[ev["packet"]] = ev["t"]
        fates[key] = [None, None]
    return {key: (fate, trip, copies[key]) for key, (fate, trip) in fates.items()}


@SETTINGS
@given(configs(semantics="at-least-once", faults=False, crashes=False))
def test_the_same_packet_meets_the_same_fate_under_every_semantics(config):
    runs = {name: packet_fates(run(Config.from_dict({"semantics": name}, base=config)))
            for name in ("at-least-once", "exactly-once", "at-most-once")}
    first_sends = {(m, 1, "data", 0, 0) for m in range(1, config.messages + 1)}
    for name, fates in runs.items():
        assert first_sends <= fates.keys(), name
        assert all(f[0] in ("arrived", "loss") for f in fates.values())
    base = runs["at-least-once"]
    compared = 0
    for name in ("exactly-once", "at-most-once"):
        for key, (fate, trip, copies) in runs[name].items():
            if key in base:
                compared += 1
                assert base[key][0] == fate and base[key][2] == copies, (name, key)
                assert abs(base[key][1] - trip) < 1e-6, (name, key)
    assert compared >= 2 * config.messages


# --- replay -----------------------------------------------------------------------------------

LIVE_CHANGES = st.one_of(
    st.fixed_dictionaries({"semantics": st.sampled_from(
        ("at-most-once", "at-least-once", "exactly-once"))}),
    st.fixed_dictionaries({"ordering": st.sampled_from(("none", "sequence", "state-machine"))}),
    st.fixed_dictionaries({"loss": st.sampled_from((0.0, 0.3, 0.6)),
                           "latency_max": st.sampled_from((900.0, 2000.0))}),
    st.fixed_dictionaries({"max_in_flight": st.integers(0, 3),
                           "dedup_window": st.integers(0, 3)}),
    st.fixed_dictionaries({"operation": st.sampled_from(("add", "idempotent")),
                           "dedup_store": st.sampled_from(("memory", "durable"))}),
)
INJECTIONS = st.one_of(
    st.tuples(st.sampled_from(("drop", "duplicate")), st.integers(0, 5)),
    st.tuples(st.just("delay"), st.integers(0, 5), st.integers(1, 2000)),
    st.sampled_from(({"action": "crash", "node": "consumer"},
                     {"action": "restart", "node": "consumer"},
                     {"action": "crash", "node": "producer"},
                     {"action": "restart", "node": "producer"},
                     "drop:data:30", "drop:ack:25", "restart:consumer@9000")),
)


def drive(config: Config, script: list[tuple]) -> tuple[Simulation, list[dict]]:
    """Run with live changes at the given times; a packet action picks an in-flight packet."""
    sim = Simulation(config)
    events: list[dict] = []
    for at, op in sorted(script, key=lambda x: x[0]):
        events += sim.run_until(at)
        if isinstance(op, tuple):
            flying = sim.view()["in_flight"]
            if not flying:
                continue
            action = {"action": op[0], "packet": flying[op[1] % len(flying)]["packet"]}
            if op[0] == "delay":
                action["by"] = op[2]
            events += sim.inject(action)
        elif isinstance(op, dict) and "action" in op:
            events += sim.inject(op)
        elif isinstance(op, dict):
            # e.g. latency_max below latency_min: refused, nothing logged, the run carries on
            with contextlib.suppress(ConfigError):
                events += sim.configure(op)
        else:
            with contextlib.suppress(ConfigError):  # that packet is already on the wire
                events += sim.inject(op)
    events += sim.run(max_events=EVENT_CAP)
    for action in ({"action": "restart", "node": "consumer"},
                   {"action": "restart", "node": "producer"}):
        events += sim.inject(action)  # a run left crashed would retry for ever otherwise
        events += sim.run(max_events=EVENT_CAP)
    assert sim.done
    return sim, events


def continue_from(sim: Simulation, log: list[dict]) -> list[dict]:
    """Carry a replayed simulation on to the end, applying the log entries it has not reached."""
    out: list[dict] = []
    for entry in log:
        if entry["at_seq"] < sim.seq:
            continue
        while sim.seq < entry["at_seq"]:
            batch = sim.step()
            assert batch, "the replay ran dry before a logged change"
            out += batch
        out += sim.run_until(entry["t"])
        op = sim.configure if entry["op"] == "configure" else sim.inject
        out += op(entry["payload"])
    out += sim.run(max_events=EVENT_CAP)
    return out


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(configs(crashes=False, max_retries=3), st.lists(
    st.tuples(st.integers(0, 9000), st.one_of(LIVE_CHANGES, INJECTIONS)), max_size=5),
    st.lists(st.floats(0, 1), min_size=1, max_size=3))
def test_replay_rebuilds_exactly_the_prefix_and_carries_on_the_same(config, script, points):
    sim, events = drive(config, script)
    check_stream(events)
    assert sim.summary()["events"] == len(events)
    assert drive(config, script)[1] == events, "same config, seed and live changes: same stream"
    for point in points:
        k = min(len(events), int(point * len(events)) + 1)
        replayed = Simulation.replay(config, sim.log, until_seq=k)
        assert replayed.seq == k
        summary = replayed.summary()
        for key, value in counters(events[:k]).items():
            # Mid-run, messages still on their way count in ``in_play`` rather than ``lost``.
            got = summary["lost"] + summary["in_play"] if key == "lost" else summary[key]
            assert got == value, (key, k)
        assert continue_from(replayed, sim.log) == events[k:]


def test_replay_can_stop_between_the_events_of_one_live_change():
    """A crash injected live emits fault_injected then crash; replay may stop after the first."""
    config = Config(semantics="at-most-once", messages=1, loss=0, ack_loss=0, duplicate=0)
    sim = Simulation(config)
    events = sim.run()
    events += sim.inject({"action": "crash", "node": "consumer"})
    assert [ev["type"] for ev in events[-2:]] == ["fault_injected", "crash"]
    k = events[-2]["seq"]
    replayed = Simulation.replay(config, sim.log, until_seq=k)
    assert replayed.seq == k
    assert replayed.step() == events[k:]
