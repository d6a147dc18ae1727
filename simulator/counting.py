"""The builders of a summary-only run: every builder of ``events.py``, under the same name and
signature, that makes no event at all.

A run made with ``Simulation(..., counts_only=True)`` calls these instead of ``events.py``'s
(``sim.build``): the model code is the same, the happenings the same, the seq numbers the same
(an event's seq is still counted, and a cause still names it), and so are the counters, which
each builder adds to exactly as its twin does (the type's count, and the counters that depend on
an event's fields: ``summary.DERIVED``, out-of-order arrivals, processings, the balance). What is
never made is the event: no dict, no words, nothing handed out. A sweep runs thousands of such
runs and reads only their ``summary()``.

The test suite holds the two sets of builders to each other: same names, same signatures, and
the same ``summary()`` across many seeds and settings (tests/test_sim_counting.py).
"""

from __future__ import annotations

from . import events as E


def _count(sim, type_: str) -> int:
    sim._counts[type_] += 1
    seq = sim._last = sim._last + 1
    return seq


# --- the producer ------------------------------------------------------------------------------
def send(sim, pkt, cause, info) -> int:
    sim._counts[E.SEND] += 1
    seq = sim._last = sim._last + 1
    return seq


def retry(sim, pkt, cause, info) -> int:
    sim._counts[E.RETRY] += 1
    seq = sim._last = sim._last + 1
    return seq


def timeout(sim, msg: int, attempt: int, cause: int, wait: float) -> int:
    sim._counts[E.TIMEOUT] += 1
    seq = sim._last = sim._last + 1
    return seq


def ack_deliver(sim, pkt, outcome: str, wait: float, false_done: bool) -> int:
    if false_done:
        sim.tally.bump("false_done")
    sim._counts[E.ACK_DELIVER] += 1
    seq = sim._last = sim._last + 1
    return seq


def give_up(sim, msg: int, attempt: int, cause: int, reason: str) -> int:
    return _count(sim, E.GIVE_UP)


def dead_letter(sim, msg: int, attempt: int, cause: int) -> int:
    return _count(sim, E.DEAD_LETTER)


def timeout_explained(sim, msg: int, attempt: int, timeout_seq: int, verdict: str,
                      detail: str) -> int:
    sim.tally.bump("timeouts_" + verdict)
    return _count(sim, E.TIMEOUT_EXPLAINED)


# --- the network -------------------------------------------------------------------------------
def net_duplicate(sim, copy, original, cause: int) -> int:
    sim.tally.bump("network_copies_data" if copy.kind == "data" else "network_copies_ack")
    return _count(sim, E.NET_DUPLICATE)


def drop(sim, pkt, reason: str, cause: int) -> int:
    return _count(sim, sim.protocol.drop_types.get(pkt.kind, E.DROP))


def fault_injected(sim, spec: str, pkt=None, node: str | None = "network",
                   by_hand: bool = False, effective: bool = True, by: float = 0.0) -> int:
    return _count(sim, E.FAULT_INJECTED)


# --- the consumer and its application ----------------------------------------------------------
def deliver(sim, pkt, cause: int, dup: bool, ooo: bool, resend: bool) -> int:
    if ooo:
        sim.tally.arrived_out_of_order()
    sim._counts[E.DELIVER] += 1
    seq = sim._last = sim._last + 1
    return seq


def ack_send(sim, pkt, cause, info) -> int:
    sim._counts[E.ACK_SEND] += 1
    seq = sim._last = sim._last + 1
    return seq


def nack(sim, pkt, cause, info) -> int:
    return _count(sim, E.NACK)


def dedup_discard(sim, item, processed: bool) -> int:
    return _count(sim, E.DEDUP_DISCARD)


def dedup_record(sim, item, when: str, cause: int, durable: bool) -> int:
    return _count(sim, E.DEDUP_RECORD)


def process(sim, item, dup: bool, ooo: bool, balance: int, recorded: bool, operation: str,
            semantics: str, forgot: bool, transition: tuple | None = None) -> int:
    sim.tally.processed(dup, ooo, balance)
    sim._counts[E.PROCESS] += 1
    seq = sim._last = sim._last + 1
    return seq


def process_fail(sim, item, nacks: bool) -> int:
    return _count(sim, E.PROCESS_FAIL)


def transition_applied(sim, msg: int, item, cause: int, order: int, entity: str, name: str,
                       state: str, balance: int, credited: bool) -> int:
    sim.tally.paid(balance)
    return _count(sim, E.TRANSITION_APPLIED)


def transition_parked(sim, msg: int, item, cause: int, order: int, entity: str, name: str,
                      state, why: str) -> int:
    return _count(sim, E.TRANSITION_PARKED)


def transition_rejected(sim, msg: int, item, cause: int, order: int, entity: str, name: str,
                        state, why: str, copy_of: str) -> int:
    sim.tally.bump("rejected_duplicates" if why == "duplicate" else "rejected_impossible")
    return _count(sim, E.TRANSITION_REJECTED)


# --- ordering ----------------------------------------------------------------------------------
def buffer(sim, item, expected: int, resends: bool, held: list[int]) -> int:
    return _count(sim, E.BUFFER)


def release(sim, item, cause: int, held: list[int], waited: bool,
            reason: str | None = None) -> int:
    return _count(sim, E.RELEASE)


def gap_skip(sim, skipped: list[int], held: list[int], first: int, resends: bool) -> int:
    return _count(sim, E.GAP_SKIP)


def stale_drop(sim, item, state: str, answers: bool, reason: str) -> int:
    return _count(sim, E.STALE_DROP)


# --- nodes and live changes --------------------------------------------------------------------
def crash(sim, node: str, cause: int, lost: list[str], notes: list[str]) -> int:
    return _count(sim, E.CRASH)


def restart(sim, node: str, cause: int) -> int:
    return _count(sim, E.RESTART)


def config_change(sim, changes: dict, notes: list[str], labels: dict | None = None) -> int:
    return _count(sim, E.CONFIG_CHANGE)


# --- generic builders, for the event types another protocol adds ---------------------------------
def event(sim, type_: str, lane: str, text, msg: int | None, packet: int | None,
          attempt: int | None, cause: int | None, extra: dict | None = None) -> int:
    return _count(sim, type_)


def packet(sim, pkt, cause, info) -> int:
    return _count(sim, info[0])
