"""The Kafka preset: a producer, one partition on a broker, and a consumer that commits offsets.

Two hops, each one TCP connection with fates of its own: the producer's to the broker (hop 1)
and the consumer's (hop 2). The idempotent producer (KIP-98, as librdkafka implements it) and
the partition's sequence checks are in ``nodes.py`` and ``partition.py``; the connections,
crashes and what a frame shows are here; what the page draws in ``manifest.py``. Its options
(``OPTIONS``): idempotence, the requests the producer keeps in flight, when the consumer commits,
how often the broker refuses a Produce request (too few in-sync replicas), each hop's loss, the
latency and the reconnect delay. The run's ``timeout`` is the producer's request timeout.

Faults name packets by their Kafka API name and hop: ``drop:ProduceResponse:1:hop=1`` loses the
broker's first answer to a Produce request, ``drop:FetchResponse:msg=3:hop=2`` the first fetch
answer that starts with record 3, ``crash:producer@900`` the producer (it comes back with a new
producer id after ``restart:producer@T``).
"""

from __future__ import annotations

from ... import events as E
from ...config import ConfigError, Field
from ...rng import kind_code
from ...topology import link_key
from .. import register, tcp
from ..brokered import Brokered, hop_options
from . import manifest
from . import nodes as N
from . import words as W
from .nodes import INIT, INIT_RESPONSE, KINDS, OFFSET_FETCH, OFFSET_FETCH_RESPONSE
from .partition import WINDOW

IDEMPOTENT_MAX_IN_FLIGHT = 5
COMMITS = ("after", "before")

OPTIONS: tuple[Field, ...] = (
    Field("idempotent", "bool", True, "Idempotent producer",
          "enable.idempotence: every batch carries a producer id, an epoch and a sequence "
          "number, and the broker writes a retried batch only once (acks=all)."),
    Field("max_in_flight_requests", "int", 5, "Requests in flight",
          "max.in.flight.requests.per.connection: Produce requests the producer keeps on the "
          "wire at once (at most 5 with idempotence).", 1, 10),
    Field("commit", "choice", "after", "Consumer commits",
          "after: process a record, then commit its offset (at least once: a crash in between "
          "processes it again). before: commit, then process (at most once: a crash in between "
          "loses it).", choices=COMMITS,
          choice_labels=(("after", "Process, then commit"), ("before", "Commit, then process"))),
    Field("produce_errors", "prob", 0.0, "Broker refusals",
          "Chance the partition's leader refuses a Produce request with NOT_ENOUGH_REPLICAS "
          "(too few in-sync replicas for acks=all): nothing is written, the producer retries.",
          0, 0.5),
    *hop_options("producer", "consumer", "packet", 0.06),
)


class State:
    """What a run of this protocol keeps beside its nodes."""

    def __init__(self):
        self.hops = {1: tcp.Hop(1, "producer", "broker"), 2: tcp.Hop(2, "consumer", "broker")}
        self.sends: dict[tuple, int] = {}  # (node, kind, msg) -> packets sent: the attempt
        self.refusal_key = link_key("broker", "in-sync-replicas")
        self.refusal_code = kind_code("NOT_ENOUGH_REPLICAS")
        self.disconnects = 0
        self.timeouts = 0
        self.dedups = 0
        self.out_of_order = 0
        self.refusals = 0
        self.log_duplicates = 0
        self.fatal = 0
        self.implicit_acks = 0


class Kafka(Brokered):
    name = "kafka"
    title = "Kafka: idempotent producer, broker, consumer"
    short = "Kafka"
    packet_kinds = KINDS
    options = OPTIONS
    sender, sender_label = "producer", "Producer"
    receiver, receiver_label = "consumer", "Consumer"
    lossy_kinds = KINDS
    unnumbered_kinds = (INIT, INIT_RESPONSE, OFFSET_FETCH, OFFSET_FETCH_RESPONSE)
    item = "record"
    event_types = tuple(N.PACKET_TYPES[k] for k in KINDS) + (
        N.ARRIVE, N.APPEND, N.DEDUP, N.REJECT, E.DROP, N.CONNECT, N.DISCONNECT, N.QUEUED,
        N.DRAIN, N.EPOCH_BUMP, N.REQUEST_TIMEOUT, N.FATAL, N.APP_RECEIVE, N.PROCESS, E.CRASH,
        E.RESTART, E.CONFIG_CHANGE, E.FAULT_INJECTED)
    link_lanes = manifest.LINK_LANES
    lanes = manifest.LANES
    marks = manifest.MARKS
    event_meta = manifest.EVENT_TYPES
    page = manifest.PAGE

    def check_options(self, options: dict) -> None:
        if options["idempotent"] and options["max_in_flight_requests"] > IDEMPOTENT_MAX_IN_FLIGHT:
            raise ConfigError("options.max_in_flight_requests",
                              f"an idempotent producer keeps at most {IDEMPOTENT_MAX_IN_FLIGHT} "
                              f"requests in flight (the broker remembers only the last "
                              f"{WINDOW} batches of each producer): choose at most "
                              f"{IDEMPOTENT_MAX_IN_FLIGHT}, or turn idempotent off")

    # --- shape --------------------------------------------------------------------------------
    def message_packet(self, role: str, options: dict) -> tuple[str, int] | None:
        """A delivery is the FetchResponse that carries it (hop 2); the consumer answers no
        message alone (it commits an offset), so no answer."""
        return (N.FETCH_RESPONSE, 2) if role == "delivery" else None

    def build_nodes(self, sim) -> dict:
        sim.kafka = State()
        return {"producer": N.Producer(sim), "broker": N.Broker(sim),
                "consumer": N.Consumer(sim)}

    # --- connections --------------------------------------------------------------------------
    def drop_connection(self, sim, hop: tcp.Hop, cause: int | None, why: str) -> None:
        """The hop's connection is gone: both sides see it closed now; what was on the wire
        dies with it; the client forgets what waited for an answer on it, and connects again
        later."""
        was_up = hop.client_up or hop.server_up
        on_wire = tcp.close(sim, hop)
        if not was_up and not on_wire:
            return
        client = sim.nodes[hop.client]
        sim.kafka.disconnects += 1
        seq = sim.emit(N.DISCONNECT, hop.client, (W.disconnect, hop.client, why), None, None,
                       None, cause, {"node": hop.client, "hop": hop.n})
        tcp.drop_all(sim, on_wire, seq)
        client.connection_lost()
        if hop.n == 2:
            sim.nodes["broker"].parked = None
        if client.up:
            self.reconnect_later(sim, hop, sim.options["reconnect"])

    # --- reading the run ----------------------------------------------------------------------
    def _start_offset(self, sim) -> int:
        """Where the consumer reads next: its position, or the group's committed offset while
        it does not know one."""
        cons = sim.nodes["consumer"]
        if cons.up and cons.position is not None:
            return cons.position
        return sim.nodes["broker"].partition.committed or 0

    def _in_play_ids(self, sim) -> set[int]:
        prod, broker, cons = sim.nodes["producer"], sim.nodes["broker"], sim.nodes["consumer"]
        ids = set(prod.batches)
        ids.update(r.msg for r in broker.partition.log[self._start_offset(sim):])
        ids.update(cons.holding())
        return ids

    def in_play(self, sim) -> int:
        processed = sim.nodes["consumer"].processed
        return sum(1 for m in self._in_play_ids(sim) if m not in processed)

    def outcomes(self, sim) -> dict[str, int]:
        """What the consumer's application did with the records produced: lost, once,
        duplicated (and those still on their way)."""
        cons = sim.nodes["consumer"]
        published = sim.nodes["producer"].published
        once = sum(1 for n in cons.processed.values() if n == 1)
        dup = sum(1 for n in cons.processed.values() if n > 1)
        waiting = self.in_play(sim)
        return {"published": published, "once": once, "duplicated": dup,
                "lost": published - once - dup - waiting, "in_play": waiting}

    def view(self, sim) -> dict:
        prod, broker, cons = sim.nodes["producer"], sim.nodes["broker"], sim.nodes["consumer"]
        part = broker.partition
        committed = part.committed
        lag = part.end - (committed or 0)
        return {
            "panels": panels(sim, prod, broker, cons),
            "badges": {"broker": f"log end {part.end} · lag {lag}"},
            "now": sim.now,
            "in_flight": [p.view() for p in sim.network.inflight.values()],
            "nodes": {nid: {"crashed": not node.up} for nid, node in sim.nodes.items()},
            "connections": {str(n): {"client": h.client, "up": h.up, "connecting": h.connecting}
                            for n, h in sim.kafka.hops.items()},
            "producer": {"pid": prod.pid, "epoch": prod.epoch, "next_seq": prod.next_seq,
                         "draining": prod.draining is not None,
                         "batches": [{"msg": b.msg, "seq": b.seq,
                                      "in_flight": b.request is not None}
                                     for b in prod.batches.values()]},
            "broker": {"log": [r.view() for r in part.log], "window": part.window(),
                       "committed": committed, "log_end": part.end},
            "consumer": {"position": cons.position, "committed": cons.confirmed,
                         "application": cons.holding()},
            "outcomes": self.outcomes(sim),
            "options": dict(sim.options),
        }

    def summary(self, sim) -> dict:
        state = sim.kafka
        part = sim.nodes["broker"].partition
        out = dict(self.outcomes(sim))
        out.update({
            "log_end": part.end, "committed": part.committed,
            "log_duplicates": state.log_duplicates, "duplicates_avoided": state.dedups,
            "out_of_order": state.out_of_order, "refusals": state.refusals,
            "producer_ids": len(sim.nodes["producer"].pids), "fatal_errors": state.fatal,
            "implicit_acks": state.implicit_acks,
            "request_timeouts": state.timeouts, "disconnects": state.disconnects,
            "packets": {k: sim.network.wire_counts.get(k, 0) for k in KINDS
                        if sim.network.wire_counts.get(k)},
        })
        out["events"] = sim.seq
        return out

    def weight(self, sim) -> int:
        return (len(self._in_play_ids(sim)) + len(sim.nodes["broker"].partition.log) // 20
                + len(sim.kafka.sends) // 20)


def _list(items) -> str:
    return ", ".join(map(str, items)) or "none"


def panels(sim, prod, broker, cons) -> list[dict]:
    """What the page's protocol panel shows, in words: each party's state."""
    hops = sim.kafka.hops
    part = broker.partition

    def conn(n):
        hop = hops[n]
        return "up" if hop.up else ("connecting" if hop.connecting else "down")

    def batch(b) -> str:
        seq = f" (seq {b.seq})" if b.seq is not None else ""
        return f"record {b.msg}{seq}"

    flying = [batch(b) for b in prod.batches.values() if b.request is not None]
    waiting = [batch(b) for b in prod.batches.values() if b.request is None]
    if prod.idempotent:
        ident = ("none yet" if prod.pid is None else f"PID {prod.pid}, epoch {prod.epoch}")
        state = ("sending" if prod.draining is None else
                 f"draining ({prod.draining})" + (", then bumping its epoch" if prod.bump
                                                   else ""))
        producer_rows = [["Connection (hop 1)", conn(1)], ["Producer id", ident],
                         ["Next sequence", str(prod.next_seq)], ["State", state]]
    else:
        producer_rows = [["Connection (hop 1)", conn(1)],
                         ["Idempotence", "off: no producer id, no sequence numbers"]]
    producer_rows += [["In flight", "; ".join(flying) or "none"],
                      ["Not yet sent", "; ".join(waiting) or "none"]]

    def record(r) -> str:
        head = "" if r.pid is None else f" (PID {r.pid}, epoch {r.epoch}, seq {r.seq})"
        return f"{r.offset}: record {r.msg}{head}"

    shown = part.log[-8:]
    log = "; ".join(record(r) for r in shown) or "empty"
    if len(part.log) > len(shown):
        log = f"… {len(part.log) - len(shown)} earlier; " + log
    windows = "; ".join(
        f"PID {pid} epoch {e.epoch}: " + ", ".join(f"seq {s} → offset {o}" for s, o in e.batches)
        for pid, e in part.producers.items()) or "none"
    committed = part.committed
    work = cons.holding()
    return [
        {"id": "producer", "title": "Producer", "rows": producer_rows},
        {"id": "broker", "title": "Broker (the partition's leader)",
         "rows": [["Log (offset: record)", log],
                  [f"Last {WINDOW} batches per producer", windows],
                  ["Log end offset", str(part.end)],
                  ["Group's committed offset", "none" if committed is None else str(committed)]]},
        {"id": "consumer", "title": "Consumer",
         "rows": [["Connection (hop 2)", conn(2)],
                  ["Position (next offset to fetch)",
                   "unknown (asks for the committed offset)" if cons.position is None
                   else str(cons.position)],
                  ["Commits", "after processing (at least once)" if cons.commit == "after"
                   else "before processing (at most once)"],
                  ["Application's queue", _list(work)],
                  ["Processed", f"{len(cons.processed)} records, "
                                f"{sum(n - 1 for n in cons.processed.values())} repeats"]]},
    ]


KAFKA = register(Kafka())
