"""The benchmark's baseline: the same delivery model as a bare ``heapq`` event loop.

At-least-once, no ordering, no crashes, no live changes: a producer sends every ``interval``, the
network loses, delays and duplicates packets, the consumer processes one message at a time and
then acks, the producer resends on timeout until ``max_retries`` is spent. Fates come from the
simulator's keyed randomness (``Fate``), and ties in time break the same way (priority, then
scheduling order), so the baseline must count exactly the events the simulator emits: the bench
checks that before it compares speeds. There are no policy objects and no event dicts or texts;
an event is a counter increment.
"""

from __future__ import annotations

from collections import deque
from heapq import heappop, heappush

from simulator.config import Config
from simulator.rng import PACKET, Fate, kind_code

# Happening kinds and their tie-break priorities, as in the simulator.
ARRIVE, DROP, DONE, TIMEOUT, NEW = 1, 2, 6, 3, 4
PRIORITY = {ARRIVE: 1, DROP: 1, DONE: 2, TIMEOUT: 4, NEW: 5}

EVENT_TYPES = ("send", "retry", "net_duplicate", "drop", "deliver", "ack_send", "ack_deliver",
               "ack_drop", "process", "timeout", "give_up", "timeout_explained")


def run(config: Config) -> dict[str, int]:
    """Run the model to the end; return how many events of each type it made."""
    assert config.semantics == "at-least-once" and config.ordering == "none"
    assert not config.faults and config.max_in_flight == 0 and config.process_fail == 0
    assert config.backoff == "fixed" and config.messages > 0
    draws = Fate(config.seed).draws
    data_code, ack_code = kind_code("data"), kind_code("ack")
    loss, ack_loss, dup_p = config.loss, config.ack_loss, config.duplicate
    lat_min, lat_span = config.latency_min, config.latency_max - config.latency_min
    timeout, max_retries = config.timeout, config.max_retries
    interval, process_time, messages = config.interval, config.process_time, config.messages

    heap: list[tuple] = []
    counter = 0
    counts = dict.fromkeys(EVENT_TYPES, 0)
    now = 0.0
    pending: dict[int, int] = {}  # msg -> attempt awaiting an answer
    next_msg, next_due, token = 1, 0.0, 1
    queue: deque = deque()
    busy = None

    def transmit(msg, attempt, to_consumer, origin):
        # A packet: [msg, attempt, to_consumer, origin, copy, sent_t, eta]
        nonlocal counter
        code = data_code if to_consumer else ack_code
        p_loss = loss if to_consumer else ack_loss
        loss_u, lat_u, dup_u, drop_u = draws(msg, attempt, code, origin, 0, PACKET)
        eta = now + lat_min + lat_u * lat_span
        launch([msg, attempt, to_consumer, origin, 0, now, eta], loss_u < p_loss, drop_u)
        if dup_u < dup_p:  # the network's extra copy, with its own fate
            counts["net_duplicate"] += 1
            loss_u, lat_u, _, drop_u = draws(msg, attempt, code, origin, 1, PACKET)
            eta = now + lat_min + lat_u * lat_span
            launch([msg, attempt, to_consumer, origin, 1, now, eta], loss_u < p_loss, drop_u)

    def launch(pkt, lost, drop_u):
        nonlocal counter
        counter += 1
        if lost:
            at = pkt[5] + (pkt[6] - pkt[5]) * (0.15 + 0.7 * drop_u)
            heappush(heap, (at, 1, counter, DROP, pkt))
        else:
            heappush(heap, (pkt[6], 1, counter, ARRIVE, pkt))

    def schedule(t, kind, payload):
        nonlocal counter
        counter += 1
        heappush(heap, (t, PRIORITY[kind], counter, kind, payload))

    def send_new():
        nonlocal next_msg, next_due, token
        msg = next_msg
        next_msg += 1
        counts["send"] += 1
        transmit(msg, 1, True, 0)
        pending[msg] = 1
        schedule(now + timeout, TIMEOUT, (msg, 1))
        token += 1
        if next_msg <= messages:
            token += 1
            next_due = now + interval
            schedule(next_due, NEW, token)

    def slot_freed():
        if next_msg <= messages and now >= next_due:
            send_new()

    def start_next():
        nonlocal busy
        if busy is None and queue:
            busy = queue.popleft()
            schedule(now + process_time, DONE, busy)

    schedule(0.0, NEW, token)
    while heap:
        t, _, _, kind, a = heappop(heap)
        if kind == TIMEOUT:
            msg, attempt = a
            if pending.get(msg) != attempt:
                continue  # answered or superseded: a cancelled timer leaves no trace
            now = t if t > now else now
            counts["timeout"] += 1
            # The simulator explains every timeout once its truth is known, by the end of the
            # run at the latest; the bare loop only counts that event, without the hindsight
            # (a shade less work than the simulator does, so the ratio is a shade harsher).
            counts["timeout_explained"] += 1
            if max_retries < 0 or attempt - 1 < max_retries:
                attempt += 1
                counts["retry"] += 1
                transmit(msg, attempt, True, 0)
                pending[msg] = attempt
                schedule(now + timeout, TIMEOUT, (msg, attempt))
            else:
                del pending[msg]
                counts["give_up"] += 1
                slot_freed()
            continue
        if kind == NEW and a != token:
            continue
        now = t if t > now else now
        if kind == ARRIVE:
            if a[2]:
                counts["deliver"] += 1
                queue.append(a)
                start_next()
            else:
                counts["ack_deliver"] += 1
                if a[0] in pending:
                    del pending[a[0]]
                    slot_freed()
        elif kind == DROP:
            counts["drop" if a[2] else "ack_drop"] += 1
        elif kind == DONE:
            busy = None
            counts["process"] += 1
            counts["ack_send"] += 1
            transmit(a[0], a[1], False, a[4])
            start_next()
        else:  # NEW
            send_new()
    return counts
