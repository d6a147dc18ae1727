"""The producer, the broker and the consumer of a Kafka run.

Each client holds one TCP connection to the broker: hop 1 (producer) and hop 2 (consumer). A
packet lost on a hop is a dead connection (``simulator/protocols/tcp.py``); the client connects
again after the reconnect delay (no packets are drawn for it) and goes on where it was.

The producer follows librdkafka's idempotent producer (``enable.idempotence``): it gets a
producer id (PID) and epoch with InitProducerId, numbers its batches per partition from 0, keeps
at most ``max_in_flight_requests`` Produce requests on the wire, and after a lost connection
sends what was in flight again, in order, with the same PID, epoch and sequence. After a
retriable error it stops sending until every request in flight is answered (it drains), then
resends in order; when a later batch was refused as out of order because an earlier one failed,
it drains, bumps its epoch itself (same PID, no request: the broker sees the new epoch in the
next batch) and numbers the records not yet acknowledged again from 0. Without idempotence a
failed batch is simply sent again after the retry backoff, behind whatever is already on the
wire. One record per batch.

The consumer reads from its group's committed offset (OffsetFetch), fetches on from its
position, hands each record to its application, which processes one at a time, and commits the
next offset to read after processing (``commit: after``) or before it (``commit: before``,
waiting for the broker's answer first).
"""

from __future__ import annotations

from ...agenda import Timer
from ..brokered import Party, Publishing, WorkQueue
from ..tcp import Hop
from . import words as W
from .partition import (
    APPENDED,
    DUPLICATE,
    NOT_ENOUGH_REPLICAS,
    OUT_OF_ORDER,
    Partition,
)

PRODUCE, PRODUCE_RESPONSE = "Produce", "ProduceResponse"
INIT, INIT_RESPONSE = "InitProducerId", "InitProducerIdResponse"
FETCH, FETCH_RESPONSE = "Fetch", "FetchResponse"
COMMIT, COMMIT_RESPONSE = "OffsetCommit", "OffsetCommitResponse"
OFFSET_FETCH, OFFSET_FETCH_RESPONSE = "OffsetFetch", "OffsetFetchResponse"
KINDS = (PRODUCE, PRODUCE_RESPONSE, INIT, INIT_RESPONSE, FETCH, FETCH_RESPONSE, COMMIT,
         COMMIT_RESPONSE, OFFSET_FETCH, OFFSET_FETCH_RESPONSE)
PACKET_TYPES = {
    PRODUCE: "produce", PRODUCE_RESPONSE: "produce_response",
    INIT: "init_producer_id", INIT_RESPONSE: "init_producer_id_response",
    FETCH: "fetch", FETCH_RESPONSE: "fetch_response",
    COMMIT: "offset_commit", COMMIT_RESPONSE: "offset_commit_response",
    OFFSET_FETCH: "offset_fetch", OFFSET_FETCH_RESPONSE: "offset_fetch_response",
}

# event types
ARRIVE = "arrive"
APPEND = "append"
DEDUP = "dedup"
REJECT = "reject"
CONNECT = "connect"
DISCONNECT = "disconnect"
QUEUED = "queued"
DRAIN = "drain"
EPOCH_BUMP = "epoch_bump"
REQUEST_TIMEOUT = "request_timeout"
FATAL = "fatal"
APP_RECEIVE = "app_receive"
# not "process": the engine's tally reads the classic model's fields from events of that type
PROCESS = "process_record"

RETRY_BACKOFF = 100.0  # ms before a batch refused with a retriable error is sent again


class Node(Party):
    def send(self, kind: str, dst: str, msg: int | None, cause: int | None, words: tuple,
             **info):
        """Put a Kafka request or response on the wire to ``dst`` (``Party.transmit``)."""
        return self.transmit(PACKET_TYPES[kind], kind, dst, msg, cause, (W.packet, kind, *words),
                             info)

    def arrived(self, pkt, outcome: str = "", type_: str = ARRIVE, words=None, **extra) -> int:
        """The event of a packet reaching this node (``type_``, worded ``words`` or, by
        default, "KIND reaches the NODE" and ``outcome``)."""
        info = pkt.item or {}
        msg = info.get("msg", pkt.msg)
        fields = {"kind": pkt.kind, "from": pkt.src, "to": pkt.dst, "node": self.name,
                  "hop": info.get("hop"), **extra}
        text = words if words is not None else (W.arrive, pkt.kind, self.name, msg, outcome)
        return self.sim.emit(type_, self.name, text, msg, pkt.id, pkt.attempt, pkt.send_seq,
                             fields)

    def connect_now(self, timer, _version) -> None:
        """The client's connect attempt on the hop ``timer`` belongs to: with the broker up, the
        connection is there at once; with it down, the client tries again later."""
        hop = timer.payload
        sim = self.sim
        if not self.up:
            hop.connecting = False
            return
        if not sim.nodes["broker"].up:
            sim.protocol.reconnect_later(sim, hop, self.opts["reconnect"])
            return
        first = hop.connects == 0
        hop.connects += 1
        hop.client_up = hop.server_up = True
        hop.connecting = False
        seq = sim.emit(CONNECT, self.name, (W.connect, self.name, first), None, None, None, None,
                       {"node": self.name, "hop": hop.n})
        self.connected(seq)

    def connected(self, seq: int) -> None:
        raise NotImplementedError

    def connection_lost(self) -> None:
        """The connection is gone: forget what waited for an answer on it."""


# --- the producer -----------------------------------------------------------------------------
class Batch:
    """A record the application produced and the broker has not acknowledged yet."""

    __slots__ = ("msg", "seq", "cause", "request", "backoff", "timer", "sent", "why")

    def __init__(self, msg: int, cause: int | None):
        self.msg = msg
        self.seq: int | None = None  # its sequence number in the current epoch, once sent
        self.cause = cause
        self.request: int | None = None  # the packet id of its Produce on the wire
        self.backoff: Timer | None = None  # waiting out the retry backoff
        self.timer = Timer(self)  # its request timeout
        self.sent = 0
        self.why = ""  # why its next send is a resend


class Producer(Publishing, Node):
    def __init__(self, sim):
        super().__init__(sim, "producer")
        self.idempotent = bool(self.opts["idempotent"])
        self.batches: dict[int, Batch] = {}  # not yet acknowledged, in the order produced
        self.pid: int | None = None
        self.epoch: int | None = None
        self.next_seq = 0
        self.next_ack_seq = 0
        self.init_pending = False
        self.draining: str | None = None  # why it waits for every answer before going on
        self.bump = False  # bump the epoch once the drain is over
        self.pids: list[int] = []
        self.acked: set[int] = set()
        self.start_publishing()
        self.started = False

    @property
    def hop(self) -> Hop:
        return self.sim.protocol.state(self.sim).hops[1]

    def can_send(self) -> bool:
        return self.up and self.hop.up

    def in_flight(self) -> int:
        return sum(1 for b in self.batches.values() if b.request is not None)

    # --- the application --------------------------------------------------------------------
    def new_message(self, msg: int) -> None:
        batch = self.batches[msg] = Batch(msg, None)
        self.pump(None)
        if batch.request is None:
            batch.cause = self.sim.emit(QUEUED, self.name, (W.queued, msg, self._held(batch)),
                                        msg, None, None, None, {"node": self.name})

    def _held(self, batch: Batch) -> str:
        if not self.can_send():
            return "no connection to the broker"
        if self.idempotent and self.pid is None:
            return "it has no producer id yet"
        if self.draining is not None:
            return "the producer is draining"
        for other in self.batches.values():
            if other is batch:
                break
            if other.request is None:
                return "an earlier record waits to be sent first"
        return (f"{self.in_flight()} requests are in flight, the most it keeps open "
                f"(max_in_flight_requests)")

    # --- the connection ---------------------------------------------------------------------
    def connected(self, seq: int) -> None:
        if self.idempotent and self.pid is None:
            self.request_pid(seq)
        else:
            self.ready(seq)

    def ready(self, seq: int | None) -> None:
        if not self.started:
            self.started = True
            if self.more():
                self.arm(self.sim.now)
        self.pump(seq)

    def connection_lost(self) -> None:
        """What was in flight failed with the connection: it is sent again once connected, in
        order, with the same sequence numbers."""
        self.init_pending = False
        for batch in self.batches.values():
            if batch.request is not None:
                batch.request = None
                batch.timer.version = -1
                batch.why = "its connection dropped before the answer came"

    def request_pid(self, cause: int | None) -> None:
        self.init_pending = True
        self.send(INIT, "broker", None, cause, ())

    def take(self, pkt) -> None:
        if pkt.kind == INIT_RESPONSE:
            self.on_pid(pkt)
        else:
            self.on_response(pkt)

    def on_pid(self, pkt) -> None:
        info = pkt.item
        if not self.init_pending:
            self.arrived(pkt, ": no request of this producer waits for it any more")
            return
        self.init_pending = False
        self.pid, self.epoch = info["pid"], info["epoch"]
        self.pids.append(self.pid)
        self.next_seq = self.next_ack_seq = 0
        outcome = f": PID {self.pid}, epoch {self.epoch}; sequence numbers start at 0"
        self.ready(self.arrived(pkt, outcome, pid=self.pid, epoch=self.epoch))

    def _bump(self, cause: int | None) -> int:
        """Drained after an out-of-order answer: the producer bumps its own epoch (librdkafka's
        idempotent producer needs no request for it) and numbers the records not yet
        acknowledged again from 0."""
        self.epoch += 1
        self.next_seq = self.next_ack_seq = 0
        again = [b.msg for b in self.batches.values()]
        for batch in self.batches.values():
            batch.seq = None
            batch.why = f"numbered again under epoch {self.epoch}"
        return self.sim.emit(EPOCH_BUMP, self.name, (W.epoch_bump, self.pid, self.epoch, again),
                             None, None, None, cause,
                             {"node": self.name, "pid": self.pid, "epoch": self.epoch})

    # --- sending ----------------------------------------------------------------------------
    def pump(self, cause: int | None) -> None:
        """Send what may go now: records in the order produced, while the window has room; a
        record waiting out its retry backoff holds back those behind it."""
        if not self.can_send():
            return
        if self.idempotent:
            if self.init_pending:
                return
            if self.pid is None:
                self.request_pid(cause)
                return
            if self.draining is not None:
                if self.in_flight():
                    return
                self.draining = None
                if self.bump:
                    self.bump = False
                    cause = self._bump(cause)
        room = self.opts["max_in_flight_requests"] - self.in_flight()
        for batch in list(self.batches.values()):
            if batch.request is not None:
                continue
            if room <= 0 or batch.backoff is not None:
                break
            first = not batch.sent and batch.cause is not None
            self._send(batch, batch.cause if first else cause)
            room -= 1

    def _send(self, batch: Batch, cause: int | None) -> None:
        sim = self.sim
        if self.idempotent and batch.seq is None:
            batch.seq = self.next_seq
            self.next_seq += 1
        retry = batch.sent > 0
        batch.sent += 1
        pid, epoch, seq = (self.pid, self.epoch, batch.seq) if self.idempotent else (None,) * 3
        why = batch.why if retry else ""
        pkt = self.send(PRODUCE, "broker", batch.msg, cause,
                        (batch.msg, pid, epoch, seq, retry, why),
                        pid=pid, epoch=epoch, sequence=seq, retry=retry)
        batch.request = pkt.id
        batch.timer.version = sim.arm_timer(sim.config.timeout, self.on_timeout, batch.timer)

    def on_timeout(self, timer, _version) -> None:
        batch = timer.payload
        if self.batches.get(batch.msg) is not batch or batch.request is None:
            return
        sim = self.sim
        sim.protocol.state(sim).timeouts += 1
        seq = sim.emit(REQUEST_TIMEOUT, self.name, (W.request_timeout, batch.msg,
                                                    sim.config.timeout),
                       batch.msg, None, None, None, {"node": self.name})
        sim.protocol.drop_connection(sim, self.hop, seq, "a Produce request timed out")

    def on_response(self, pkt) -> None:
        info = pkt.item
        batch = self.batches.get(pkt.msg)
        if batch is None or batch.request != info["request"]:
            self.arrived(pkt, ": no request of this producer waits for it any more")
            return
        batch.request = None
        batch.timer.version = -1
        error = info["error"]
        if error is None:
            outcome = (f": acknowledged with offset {info['offset']}, where it was written "
                       f"before" if info["duplicate"] else
                       f": acknowledged, offset {info['offset']}")
            implied = self._implied(batch) if self.idempotent else []
            if implied:
                self.sim.protocol.state(self.sim).implicit_acks += len(implied)
                outcome += W.implied(implied)
            for msg in implied + [batch.msg]:
                del self.batches[msg]
                self.acked.add(msg)
            if self.idempotent:
                self.next_ack_seq = batch.seq + 1
            self.pump(self.arrived(pkt, outcome, acked=True, implied=implied))
        elif error == NOT_ENOUGH_REPLICAS:
            waiting = self.in_flight()
            if self.idempotent and waiting:
                outcome = (": it will send the record again, and sends nothing until "
                           + ("the request in flight is answered" if waiting == 1 else
                              f"the {waiting} requests in flight are answered"))
            else:
                outcome = f": it sends the record again after {RETRY_BACKOFF:g} ms"
            seq = self.arrived(pkt, outcome, error=error)
            batch.why = f"after {error}"
            self._backoff(batch, seq)
            if self.idempotent:
                self._drain(seq, f"record {batch.msg}'s request failed")
            self.pump(seq)
        elif error == OUT_OF_ORDER and self.idempotent and batch.seq > self.next_ack_seq:
            seq = self.arrived(pkt, ": an earlier batch failed, so this one skipped a sequence "
                                    "number; once nothing is in flight the producer bumps its "
                                    "epoch and sends what is not acknowledged again, in order",
                               error=error)
            batch.why = f"after {error}"
            self.bump = True
            self._drain(seq, "a batch was out of order")
            self.pump(seq)
        else:
            self._fatal(pkt, batch, error)

    def _implied(self, batch: Batch) -> list[int]:
        """The records produced before ``batch`` and waiting to be sent again: librdkafka takes
        the acknowledgement of a later sequence as proof that they were written too, and
        reports them delivered (``rd_kafka_dr_implicit_ack``)."""
        out = []
        for other in self.batches.values():
            if other is batch:
                return out
            if other.request is None:
                out.append(other.msg)
        return out

    def _backoff(self, batch: Batch, cause: int) -> None:
        timer = batch.backoff = Timer((batch, cause))
        self.sim.schedule(self.sim.now + RETRY_BACKOFF, 4, self._backoff_over, timer, 0)

    def _backoff_over(self, timer, _version) -> None:
        batch, cause = timer.payload
        if batch.backoff is timer:
            batch.backoff = None
            self.pump(cause)

    def _drain(self, cause: int, why: str) -> None:
        if self.draining is not None:
            return
        self.draining = why
        waiting = self.in_flight()
        if waiting:
            self.sim.emit(DRAIN, self.name, (W.drain, why, waiting), None, None, None, cause,
                          {"node": self.name, "in_flight": waiting})

    def _fatal(self, pkt, batch: Batch, error: str) -> None:
        sim = self.sim
        sim.protocol.state(sim).fatal += 1
        seq = self.arrived(pkt, f": {error} for its oldest record not yet acknowledged",
                           error=error)
        seq = sim.emit(FATAL, self.name, (W.fatal, batch.msg, batch.seq), batch.msg, None, None,
                       seq, {"node": self.name})
        self._forget()
        sim.protocol.drop_connection(sim, self.hop, seq, "the application closed the failed "
                                                         "producer")

    def _forget(self) -> None:
        """A new producer instance: no PID, no sequence numbers, nothing in flight; the records
        not acknowledged stay, to be sent again."""
        self.pid = self.epoch = None
        self.next_seq = self.next_ack_seq = 0
        self.init_pending = False
        self.draining = None
        self.bump = False
        for batch in self.batches.values():
            batch.request = None
            batch.seq = None
            batch.backoff = None
            batch.timer.version = -1
            batch.why = "sent again by a new producer instance"

    # --- faults -----------------------------------------------------------------------------
    def crash(self):
        self.up = False
        self.due.version += 1
        words, notes = [], []
        if self.pid is not None:
            words.append(f"its producer id (PID {self.pid}), epoch and sequence numbers")
        if self.in_flight():
            words.append("the requests it had in flight")
        waiting = list(self.batches)
        if waiting:
            notes.append(f"record{'s' if len(waiting) > 1 else ''} "
                         f"{', '.join(map(str, waiting))} not acknowledged: the application "
                         f"sends {'them' if len(waiting) > 1 else 'it'} again after its restart"
                         + (", under a new producer id" if self.idempotent else ""))
        self._forget()
        return words, notes

    def restart(self) -> None:
        Party.restart(self)  # its application goes on once it is ready again
        if self.started and self.more():
            self.arm(self.sim.now)


# --- the broker -------------------------------------------------------------------------------
class Broker(Node):
    """One partition's leader: its log, the producers' sequence windows, the group's committed
    offset; it holds a fetch that finds no new record until one is written."""

    def __init__(self, sim):
        super().__init__(sim, "broker")
        self.partition = Partition()
        self.parked: tuple[int, int] | None = None  # a fetch waiting: (offset, its arrival)

    def take(self, pkt) -> None:
        kind = pkt.kind
        if kind == PRODUCE:
            self.on_produce(pkt)
        elif kind == INIT:
            self.on_init(pkt)
        elif kind == FETCH:
            self.on_fetch(pkt)
        elif kind == COMMIT:
            info = pkt.item
            self.partition.committed = info["offset"]
            seq = self.arrived(pkt, f": the group's committed offset is now {info['offset']}")
            self.send(COMMIT_RESPONSE, "consumer", pkt.msg or None, seq, (info["offset"],),
                      offset=info["offset"])
        elif kind == OFFSET_FETCH:
            committed = self.partition.committed
            seq = self.arrived(pkt)
            self.send(OFFSET_FETCH_RESPONSE, "consumer", None, seq, (committed,),
                      offset=committed)

    def on_init(self, pkt) -> None:
        pid, epoch = self.partition.init_producer_id()
        seq = self.arrived(pkt)
        self.send(INIT_RESPONSE, "producer", None, seq, (pid, epoch), pid=pid, epoch=epoch)

    def refuses(self, pkt) -> bool:
        """Whether the partition's leader has too few in-sync replicas for this request (a draw
        of its own per request, keyed by the record and the attempt)."""
        chance = self.opts["produce_errors"]
        if not chance:
            return False
        state = self.sim.protocol.state(self.sim)
        return self.sim.fate.keyed_draws(state.refusal_key, pkt.msg, pkt.attempt,
                                         state.refusal_code, 0, 0, 1)[0] < chance

    def on_produce(self, pkt) -> None:
        info = pkt.item
        sim = self.sim
        state = sim.protocol.state(sim)
        msg = pkt.msg
        pid, epoch, seq = info["pid"], info["epoch"], info["sequence"]
        fields = {"pid": pid, "epoch": epoch, "sequence": seq}
        offset = expected = None
        if self.refuses(pkt):
            verdict = NOT_ENOUGH_REPLICAS
        else:
            verdict, offset, expected = self.partition.check(pid, epoch, seq)
        if verdict == APPENDED:
            record = self.partition.append(msg, pid, epoch, seq)
            offset = record.offset
            copies = sum(1 for r in self.partition.log if r.msg == msg)
            if copies > 1:
                state.log_duplicates += 1
            ev = self.arrived(pkt, type_=APPEND, words=(W.append, msg, offset, pid, epoch, seq,
                                                        copies),
                              offset=offset, duplicate=copies > 1, **fields)
        elif verdict == DUPLICATE:
            state.dedups += 1
            ev = self.arrived(pkt, type_=DEDUP, words=(W.dedup, msg, pid, epoch, seq, offset),
                              offset=offset, **fields)
        else:
            if verdict == OUT_OF_ORDER:
                state.out_of_order += 1
            elif verdict == NOT_ENOUGH_REPLICAS:
                state.refusals += 1
            ev = self.arrived(pkt, type_=REJECT, words=(W.reject, msg, verdict, seq, expected),
                              error=verdict, expected=expected, **fields)
        error = None if verdict in (APPENDED, DUPLICATE) else verdict
        self.send(PRODUCE_RESPONSE, "producer", msg, ev,
                  (msg, error, offset, verdict == DUPLICATE, expected),
                  request=pkt.id, error=error, offset=offset, duplicate=verdict == DUPLICATE,
                  sequence=seq)
        if verdict == APPENDED:
            self.feed(ev)

    def on_fetch(self, pkt) -> None:
        offset = pkt.item["offset"]
        if offset < self.partition.end:
            self._answer(offset, self.arrived(pkt))
            return
        seq = self.arrived(pkt, f": no record at offset {offset} yet, so the broker holds the "
                                f"fetch until one is written")
        self.parked = (offset, seq)

    def feed(self, cause: int) -> None:
        """A record was written: answer a fetch that waits for it."""
        if self.parked is not None and self.sim.protocol.state(self.sim).hops[2].up:
            offset, _ = self.parked
            self.parked = None
            self._answer(offset, cause)

    def _answer(self, offset: int, cause: int) -> None:
        records = [(r.offset, r.msg) for r in self.partition.log[offset:]]
        self.send(FETCH_RESPONSE, "consumer", records[0][1], cause, (records,),
                  records=[list(r) for r in records], offset=offset)

    def crash(self):
        self.up = False
        self.parked = None
        return [], ["the log, the committed offsets and the producers' sequence state are kept "
                    "on disk: they survive the restart"]


# --- the consumer -----------------------------------------------------------------------------
class Consumer(WorkQueue, Node):
    def __init__(self, sim):
        super().__init__(sim, "consumer")
        self.commit = self.opts["commit"]
        self.position: int | None = None  # the next offset to fetch (None: ask the broker)
        self.fetching = False
        self.asking = False
        self.wanted: int | None = None  # the offset it last committed (or means to)
        self.confirmed: int | None = None  # the last commit the broker confirmed
        self.gate: int | None = None  # commit before: the commit its application waits for
        self.start_application()  # (offset, msg, cause) not yet taken, one in hand
        self.processed: dict[int, int] = {}  # msg -> times processed
        self.received: dict[int, int] = {}  # msg -> times handed to the application

    @property
    def hop(self) -> Hop:
        return self.sim.protocol.state(self.sim).hops[2]

    def can_send(self) -> bool:
        return self.up and self.hop.up

    def connected(self, seq: int) -> None:
        if self.position is None:
            self.asking = True
            self.send(OFFSET_FETCH, "broker", None, seq, ())
            return
        self.fetch(seq)
        if self.wanted is not None and (self.confirmed is None or self.wanted > self.confirmed):
            self._commit(self.wanted, seq)

    def connection_lost(self) -> None:
        self.fetching = False
        self.asking = False

    def fetch(self, cause: int | None) -> None:
        if self.can_send() and not self.fetching and self.position is not None:
            self.fetching = True
            self.send(FETCH, "broker", None, cause, (self.position,), offset=self.position)

    def take(self, pkt) -> None:
        info = pkt.item
        kind = pkt.kind
        if kind == OFFSET_FETCH_RESPONSE:
            if not self.asking:
                self.arrived(pkt, ": no request of this consumer waits for it any more")
                return
            self.asking = False
            committed = info["offset"]
            self.position = 0 if committed is None else committed
            self.confirmed = self.wanted = committed
            seq = self.arrived(pkt, f": it reads on from offset {self.position}")
            self.fetch(seq)
        elif kind == FETCH_RESPONSE:
            records = info["records"]
            if not self.fetching or info["offset"] != self.position:
                self.arrived(pkt, ": no fetch of this consumer waits for it any more")
                return
            self.fetching = False
            self.position = records[-1][0] + 1
            seq = self.arrived(pkt, f": its position moves on to offset {self.position}")
            for offset, msg in records:
                self.hand_over(offset, msg, seq)
            self.fetch(seq)
        elif kind == COMMIT_RESPONSE:
            offset = info["offset"]
            self.confirmed = offset if self.confirmed is None else max(self.confirmed, offset)
            seq = self.arrived(pkt, f": offset {offset} is committed")
            if self.gate is not None and self.confirmed >= self.gate:
                self.gate = None
                self.work()

    def hand_over(self, offset: int, msg: int, cause: int) -> None:
        n = self.received[msg] = self.received.get(msg, 0) + 1
        seq = self.sim.emit(APP_RECEIVE, "app", (W.app_receive, msg, offset, n > 1), msg, None,
                            None, cause, {"node": "consumer", "offset": offset,
                                          "duplicate": n > 1})
        self.queue_work((offset, msg, seq))

    def begin_work(self, item) -> None:
        """Commit before processing: the application waits for the commit's answer."""
        offset, msg, cause = item
        if self.commit == "before":
            self.gate = offset + 1
            self._commit(offset + 1, cause, msg)
        else:
            self.work()

    def work_done(self, item) -> None:
        offset, msg, cause = item
        n = self.processed[msg] = self.processed.get(msg, 0) + 1
        seq = self.sim.emit(PROCESS, "app", (W.process, msg, n > 1), msg, None, None, cause,
                            {"node": "consumer", "offset": offset, "duplicate": n > 1})
        if self.commit == "after":
            self._commit(offset + 1, seq, msg)

    def _commit(self, offset: int, cause: int | None, msg: int | None = None) -> None:
        """Commit ``offset`` (sent now if connected, else once the connection is back)."""
        self.wanted = offset
        if msg is None:
            log = self.sim.nodes["broker"].partition.log
            msg = log[offset - 1].msg if 0 < offset <= len(log) else None
        if self.can_send():
            self.send(COMMIT, "broker", msg, cause, (offset, msg, self.commit), offset=offset)

    def holding(self) -> list[int]:
        work = [m for _, m, _ in self.app]
        if self.working is not None:
            work.insert(0, self.working[1])
        return work

    def crash(self):
        self.up = False
        self.busy.version += 1
        words = []
        work = self.holding()
        if work:
            words.append(f"records its application had taken and not processed "
                         f"({', '.join(map(str, work))})")
        words.append("its position")
        notes = ["it will read on from the group's committed offset"]
        self.app = []
        self.working = None
        self.position = None
        self.fetching = self.asking = False
        self.gate = None
        self.wanted = self.confirmed = None
        return words, notes

