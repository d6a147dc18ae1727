"""The publisher, the broker and the consumer of an AMQP 0-9-1 run, as RabbitMQ's documentation
describes them (Consumer Acknowledgements and Publisher Confirms; Reliability Guide; Queues).

- Publisher confirms (``confirm.select``): the broker numbers the messages published on a channel
  from 1 and answers each once, ``basic.ack`` (``multiple``: every tag up to this one not yet
  confirmed) or ``basic.nack``. The publisher keeps what is not confirmed and, when its connection
  comes back, publishes it again on the new channel under new tags; the broker has never delivered
  that copy, so it reaches the consumer with ``redelivered=false``. Without confirms nothing is
  kept, and nothing is published again.
- Routing: the exchange (direct or fanout) routes to the one queue if it is bound; an unroutable
  message is answered ``basic.return`` when published with ``mandatory``, then confirmed; without
  ``mandatory`` it is confirmed and dropped.
- A queue length limit with ``overflow reject-publish`` refuses a message while the queue holds
  that many ready messages: ``basic.nack`` with confirms, silence without.
- Persistent messages in a durable queue are written to disk in small batches and confirmed after
  the write (one ``basic.ack`` with ``multiple=true`` for a batch); what was written survives a
  broker restart. A transient queue's messages live in memory only.
- Consumers: with automatic ack the broker forgets a message as it sends ``basic.deliver``; with
  manual ack the delivery stays unacknowledged until the consumer's ``basic.ack``, at most
  ``prefetch`` of them per channel, and when the channel closes the broker puts them back in their
  places, marked redelivered. Delivery tags count from 1 on each channel.

Each client holds one TCP connection (``simulator/protocols/tcp.py``): hop 1 the publisher's,
hop 2 the consumer's. A lost frame is a dead connection; ``connection.open`` and
``connection.open-ok`` stand for the whole opening (connection, channel, ``confirm.select``,
``basic.qos``, ``basic.consume``).
"""

from __future__ import annotations

from ...agenda import Timer
from ..brokered import Party, Publishing, WorkQueue
from ..tcp import Hop
from . import words as W

PUBLISH, ACK, NACK, RETURN, DELIVER = (
    "basic.publish", "basic.ack", "basic.nack", "basic.return", "basic.deliver")
OPEN, OPEN_OK = "connection.open", "connection.open-ok"
FLOW_KINDS = (PUBLISH, ACK, NACK, RETURN, DELIVER)
KINDS = FLOW_KINDS + (OPEN, OPEN_OK)
DISK_SYNC = 25.0  # ms from the first persistent message of a batch to its write

# event types: packets put on the wire (basic.ack is a confirm on hop 1, a consumer's ack on 2)
OPEN_T, OPEN_OK_T = "connection_open", "connection_open_ok"
PUBLISH_T, CONFIRM_T, NACK_T, RETURN_T, DELIVER_T, ACK_T = (
    "publish", "confirm", "nack", "return", "deliver", "ack")
PACKET_TYPES = (OPEN_T, OPEN_OK_T, PUBLISH_T, CONFIRM_T, NACK_T, RETURN_T, DELIVER_T, ACK_T)
# other event types
ARRIVE = "arrive"
DISCONNECT = "disconnect"
QUEUED = "queued"
ROUTE = "route"
UNROUTABLE = "unroutable"
REJECTED = "rejected"
DISK_WRITE = "disk_write"
REQUEUE = "requeue"
DISCARDED = "discarded"
CANNOT_ACK = "cannot_ack"
PROCESS = "process"

_TYPE_OF = {OPEN: OPEN_T, OPEN_OK: OPEN_OK_T, PUBLISH: PUBLISH_T, NACK: NACK_T,
            RETURN: RETURN_T, DELIVER: DELIVER_T}


def packet_type(kind: str, src: str) -> str:
    """The event type of a packet: ``basic.ack`` from the broker is a publisher confirm."""
    if kind == ACK:
        return CONFIRM_T if src == "broker" else ACK_T
    return _TYPE_OF[kind]


class Node(Party):
    def send_key(self, kind: str, dst: str, msg: int | None) -> tuple:
        return (self.name, dst, kind, msg or 0)

    def send(self, kind: str, dst: str, msg: int | None, cause: int | None, text: tuple,
             **extra):
        """Put a frame on the wire to ``dst`` (``Party.transmit``)."""
        return self.transmit(packet_type(kind, self.name), kind, dst, msg, cause, text, extra)

    def arrived(self, pkt, outcome: str = "", **extra) -> int:
        info = pkt.item or {}
        msg = info.get("msg", pkt.msg)
        fields = {"kind": pkt.kind, "from": pkt.src, "to": pkt.dst, "node": self.name,
                  "hop": info.get("hop"), "tag": info.get("tag"), **extra}
        return self.sim.emit(ARRIVE, self.name, (W.arrive, pkt.kind, self.name, msg,
                                                 info.get("tag"), outcome),
                             msg, pkt.id, pkt.attempt, pkt.send_seq, fields)


class Client(Node):
    """A node that connects to the broker: the publisher (hop 1) or the consumer (hop 2)."""

    hop_n = 0

    @property
    def hop(self) -> Hop:
        return self.sim.amqp.hops[self.hop_n]

    def setup(self) -> str:
        raise NotImplementedError

    def connect_now(self, timer, _version) -> None:
        """Send ``connection.open`` on the hop ``timer`` belongs to (a connect attempt)."""
        hop = timer.payload
        if not self.up:
            hop.connecting = False
            return
        first = hop.connects == 0
        hop.connects += 1
        self.send(OPEN, "broker", None, None, (W.open_, self.name, first, self.setup()))

    def came_up(self, pkt, outcome: str) -> int:
        """``connection.open-ok`` reached the client: it is connected, on a new channel."""
        seq = self.arrived(pkt, outcome)
        hop = self.hop
        hop.client_up = True
        hop.connecting = False
        return seq


class Publisher(Publishing, Client):
    hop_n = 1

    def __init__(self, sim):
        super().__init__(sim, "publisher")
        self.start_publishing()
        self.channel = 0  # its connections so far: the channel it publishes on is the latest's
        self.next_tag = 1
        self.unconfirmed: dict[int, int] = {}  # delivery tag -> message, oldest first
        self.waiting: list[int] = []  # not published yet: no connection, or no room
        self.backoff: dict[int, Timer] = {}  # message -> its publish again after a nack
        self.returned: set[int] = set()
        self.confirmed = 0
        self.nacked = 0

    def setup(self) -> str:
        return ("a channel in confirm mode (confirm.select)" if self.opts["confirms"]
                else "a channel without confirms")

    def new_message(self, msg: int) -> None:
        self.offer(msg, None)

    def can_send(self) -> bool:
        return self.up and self.hop.client_up

    def room(self) -> bool:
        """Whether it may have one more message unconfirmed (``max_unconfirmed``)."""
        limit = self.opts["max_unconfirmed"]
        return not (self.opts["confirms"] and limit and len(self.unconfirmed) >= limit)

    def offer(self, msg: int, cause: int | None, again: str = "") -> None:
        if self.can_send() and self.room() and not self.waiting:
            self.publish(msg, cause, again)
            return
        self.waiting.append(msg)
        why = ("no connection to publish on; it publishes it once connected"
               if not self.can_send() else
               f"{len(self.unconfirmed)} messages are unconfirmed, the most it keeps open"
               if not self.room() else "older messages wait before it")
        self.sim.emit(QUEUED, self.name, (W.queued, msg, why), msg, None, None, cause,
                      {"node": self.name})

    def fill(self, cause: int | None, why: str = "after waiting its turn") -> None:
        """Publish what waits, oldest first, while connected and with room."""
        while self.waiting and self.can_send() and self.room():
            self.publish(self.waiting.pop(0), cause, why)

    def publish(self, msg: int, cause: int | None, again: str = "") -> None:
        opts = self.opts
        tag = None
        if opts["confirms"]:
            tag = self.next_tag
            self.next_tag += 1
            self.unconfirmed[tag] = msg
        marks = tuple(m for m, on in (("persistent", opts["durable"]),
                                      ("mandatory", opts["mandatory"])) if on)
        republish = self.sim.amqp.sends.get((self.name, "broker", PUBLISH, msg), 0) > 0
        self.send(PUBLISH, "broker", msg, cause,
                  (W.publish, msg, tag, again, marks, opts["confirms"]), tag=tag,
                  channel=self.channel, republish=republish, persistent=opts["durable"],
                  mandatory=opts["mandatory"])

    def take(self, pkt) -> None:
        kind = pkt.kind
        if kind == OPEN_OK:
            self.connected(pkt)
            return
        info = pkt.item or {}
        tag = info.get("tag")
        if kind == RETURN:
            self.returned.add(pkt.msg)
            self.arrived(pkt, ": the publisher learns it was not routed (a confirm follows)")
        elif kind == ACK:
            multiple = bool(info.get("multiple"))
            tags = ([t for t in self.unconfirmed if t <= tag] if multiple
                    else [tag] if tag in self.unconfirmed else [])
            msgs = [self.unconfirmed.pop(t) for t in tags]
            self.confirmed += len(msgs)
            if not msgs:
                outcome = ": it confirms nothing still open"
            elif len(msgs) > 1:
                outcome = (f": messages {', '.join(map(str, msgs))} are confirmed; it will not "
                           f"publish them again")
            elif msgs[0] in self.returned:
                outcome = ": confirmed after its return; the broker is done with it, unrouted"
            else:
                outcome = ": confirmed; the publisher will not publish it again"
            seq = self.arrived(pkt, outcome, msgs=msgs, multiple=multiple)
            self.fill(seq)
        elif kind == NACK:
            msg = self.unconfirmed.pop(tag, pkt.msg)
            self.nacked += 1
            wait = self.sim.config.timeout
            seq = self.arrived(pkt, f": the broker did not take it; the publisher publishes it "
                                    f"again in {wait:g} ms")
            timer = self.backoff[msg] = Timer((msg, seq))
            self.sim.schedule(self.sim.now + wait, 3, self._again, timer, 0)
            self.fill(seq)
        else:
            self.arrived(pkt)

    def _again(self, timer, _version) -> None:
        msg, cause = timer.payload
        self.backoff.pop(msg, None)
        self.offer(msg, cause, again="again, after its nack")

    def connected(self, pkt) -> None:
        """Connected on a new channel: its tags start again at 1. What was not confirmed on the
        old channel is published again (new tags), then what waited for the connection."""
        confirms = self.opts["confirms"]
        seq = self.came_up(pkt, ": connected; its channel's delivery tags start at 1"
                           if confirms else ": connected")
        self.channel += 1
        self.next_tag = 1
        old = list(self.unconfirmed.values()) if confirms else []
        self.unconfirmed = {}
        for msg in old:
            self.publish(msg, seq, "again: it was not confirmed when its connection dropped")
        self.fill(seq, "now that it is connected")
        state = self.sim.amqp
        if not state.started:
            state.started = True
            if self.more():
                self.arm(self.sim.now)

    def holding(self) -> list[int]:
        return list(self.unconfirmed.values()) + self.waiting + list(self.backoff)

    def crash(self):
        self.up = False
        self.due.version += 1
        held = self.holding()
        for timer in self.backoff.values():
            timer.version += 1
        self.unconfirmed, self.waiting, self.backoff = {}, [], {}
        words = [f"what it had not seen confirmed or not yet published "
                 f"({', '.join(map(str, held))}): it will never publish it again"] if held else []
        return words, []



class Entry:
    """A message in the broker's queue: its place (``qseq``), whether it was delivered before,
    whether it is on disk."""

    __slots__ = ("msg", "qseq", "redelivered", "on_disk")

    def __init__(self, msg: int, qseq: int):
        self.msg = msg
        self.qseq = qseq
        self.redelivered = False
        self.on_disk = False


class Broker(Node):
    """An exchange routing to one queue; the publisher's channel (hop 1) and the consumer's
    (hop 2)."""

    def __init__(self, sim):
        super().__init__(sim, "broker")
        self.queue: list[Entry] = []  # ready messages, in order
        self.unacked: dict[int, Entry] = {}  # delivery tag on the consumer's channel -> entry
        self.qseq = 0
        self.next_dtag = 1
        self.consumer_channel = 0
        self.pub_channel = 0
        self.pub_seq = 0  # messages published on the publisher's channel in confirm mode
        self.to_confirm: dict[int, int] = {}  # tag -> message, not yet confirmed
        self.batch: list[tuple[int, int | None, Entry]] = []  # (channel, tag, entry) to write
        self.write = Timer()
        self.routed = self.unroutable = self.returned = self.rejected = 0
        self.delivered = self.redelivered = 0

    def take(self, pkt) -> None:
        if pkt.kind == OPEN:
            self.sim.protocol.accept(self.sim, pkt)
        elif pkt.kind == PUBLISH:
            self.take_publish(pkt)
        elif pkt.kind == ACK:
            self.take_ack(pkt)
        else:
            self.arrived(pkt)

    def room(self) -> bool:
        """Whether a ready message would go to the consumer now."""
        opts = self.opts
        return (self.up and self.sim.amqp.hops[2].server_up
                and (opts["auto_ack"] or not opts["prefetch"]
                     or len(self.unacked) < opts["prefetch"]))

    def take_publish(self, pkt) -> None:
        sim = self.sim
        opts = self.opts
        msg = pkt.msg
        confirms = opts["confirms"]
        tag = None
        if confirms:
            self.pub_seq += 1
            tag = self.pub_seq
            self.to_confirm[tag] = msg
        exchange = opts["exchange"]
        if not opts["bound"]:
            returned = opts["mandatory"]
            seq = self.arrived(pkt, "", routed=False)
            self.unroutable += 1
            seq = sim.emit(UNROUTABLE, self.name, (W.unroutable, msg, exchange, returned,
                                                   confirms),
                           msg, None, None, seq, {"node": self.name, "returned": returned})
            if returned:
                self.returned += 1
                self.send(RETURN, "publisher", msg, seq, (W.return_, msg), tag=None,
                          reply_code=312)
            if confirms:
                self.confirm([tag], seq)
            return
        limit = opts["max_length"]
        if limit and len(self.queue) >= limit:
            seq = self.arrived(pkt, "", routed=False)
            self.rejected += 1
            seq = sim.emit(REJECTED, self.name, (W.rejected, msg, limit, confirms), msg, None,
                           None, seq, {"node": self.name})
            if confirms:
                self.to_confirm.pop(tag, None)
                self.send(NACK, "publisher", msg, seq,
                          (W.nack, msg, tag, "the queue is full (reject-publish)"), tag=tag,
                          multiple=False, channel=self.pub_channel)
            return
        seq = self.arrived(pkt, "", routed=True)
        waits = not (self.room() and not self.queue)
        self.qseq += 1
        entry = Entry(msg, self.qseq)
        self.queue.append(entry)
        self.routed += 1
        durable = opts["durable"]
        seq = sim.emit(ROUTE, self.name, (W.route, msg, exchange, waits, durable), msg, None,
                       None, seq, {"node": self.name, "queued": waits})
        if durable:
            self.batch.append((self.pub_channel, tag, entry))
            if len(self.batch) == 1:
                self.write.version += 1
                sim.schedule(sim.now + DISK_SYNC, 3, self._written, self.write,
                             self.write.version)
        elif confirms:
            self.confirm([tag], seq)
        self.dispatch(seq)

    def _written(self, _timer, _version) -> None:
        """The batch is on disk: confirm what was published on the channel still open."""
        batch, self.batch = self.batch, []
        for _, _, entry in batch:
            entry.on_disk = True
        live = self.sim.amqp.hops[1].server_up
        tags = [tag for channel, tag, _ in batch
                if tag is not None and live and channel == self.pub_channel
                and tag in self.to_confirm]
        msgs = [entry.msg for _, _, entry in batch]
        seq = self.sim.emit(DISK_WRITE, self.name, (W.disk_write, msgs, len(tags)), None, None,
                            None, None, {"node": self.name, "msgs": msgs})
        if tags:
            self.confirm(tags, seq)

    def confirm(self, tags: list[int], cause: int) -> None:
        """Confirm ``tags`` (each once): those below every tag still open in one ``basic.ack``
        (``multiple=true`` if more than one), any others one by one."""
        msgs = {t: self.to_confirm.pop(t) for t in tags if t in self.to_confirm}
        left = min(self.to_confirm) if self.to_confirm else None
        ordered = sorted(msgs)
        prefix = [t for t in ordered if left is None or t < left]
        rest = [t for t in ordered if left is not None and t > left]
        if len(prefix) > 1:
            last = prefix[-1]
            covered = [msgs[t] for t in prefix]
            self.send(ACK, "publisher", msgs[last], cause, (W.confirm, covered, last, True),
                      tag=last, multiple=True, msgs=covered, channel=self.pub_channel)
            prefix = []
        for t in prefix + rest:
            self.send(ACK, "publisher", msgs[t], cause, (W.confirm, [msgs[t]], t, False), tag=t,
                      multiple=False, msgs=[msgs[t]], channel=self.pub_channel)

    def dispatch(self, cause: int | None) -> None:
        """Deliver ready messages to the consumer while its channel is open and, with manual
        ack, fewer than ``prefetch`` deliveries are unacknowledged."""
        auto = self.opts["auto_ack"]
        while self.queue and self.room():
            entry = self.queue.pop(0)
            tag = self.next_dtag
            self.next_dtag += 1
            self.delivered += 1
            if entry.redelivered:
                self.redelivered += 1
            self.send(DELIVER, "consumer", entry.msg, cause,
                      (W.deliver, entry.msg, tag, entry.redelivered, auto), tag=tag,
                      redelivered=entry.redelivered, channel=self.consumer_channel,
                      auto_ack=auto)
            if not auto:
                self.unacked[tag] = entry

    def take_ack(self, pkt) -> None:
        tag = (pkt.item or {}).get("tag")
        entry = self.unacked.pop(tag, None)
        seq = self.arrived(pkt, f": it forgets message {entry.msg}" if entry is not None
                           else ": it matches no unacknowledged delivery")
        self.dispatch(seq)

    def channel_closed(self, hop_n: int, cause: int) -> None:
        """A client's connection closed: the publisher's channel confirms nothing more; the
        consumer's unacknowledged deliveries go back in their places, marked redelivered."""
        if hop_n == 1:
            self.to_confirm = {}
            return
        if not self.unacked:
            return
        back = sorted(self.unacked.values(), key=lambda e: e.qseq)
        self.unacked = {}
        for entry in back:
            entry.redelivered = True
        self.queue = sorted(back + self.queue, key=lambda e: e.qseq)
        msgs = [e.msg for e in back]
        self.sim.emit(REQUEUE, self.name, (W.requeue, msgs, "the consumer's channel closed"),
                      None, None, None, cause, {"node": self.name, "msgs": msgs})

    def holding(self) -> list[int]:
        return [e.msg for e in self.queue] + [e.msg for e in self.unacked.values()]

    def crash(self):
        self.up = False
        self.write.version += 1
        durable = self.opts["durable"]
        entries = self.queue + list(self.unacked.values())
        kept = [e for e in entries if durable and e.on_disk]
        for entry in kept:  # after a crash it cannot tell which it had delivered
            entry.redelivered = True
        gone = [e.msg for e in sorted(entries, key=lambda e: e.qseq)
                if not (durable and e.on_disk)]
        self.queue = sorted(kept, key=lambda e: e.qseq)
        self.unacked = {}
        self.batch = []
        self.to_confirm = {}
        lost = []
        if gone:
            what = "messages not yet written to disk" if durable else "the queue's messages"
            lost.append(f"{what} ({', '.join(map(str, gone))})")
        if durable:
            notes = ["durable queue, persistent messages: what was written to disk survives; "
                     "a broker that crashed cannot tell which of them it had delivered, so it "
                     "marks every one redelivered (the flag only hints)"]
        else:
            notes = ["a transient queue's messages live in memory: a restart loses them"]
        return lost, notes


class Delivery:
    """A ``basic.deliver`` the consumer got: its message, tag, channel and flag."""

    __slots__ = ("msg", "tag", "channel", "redelivered", "cause")

    def __init__(self, msg: int, tag: int, channel: int, redelivered: bool, cause: int):
        self.msg = msg
        self.tag = tag
        self.channel = channel
        self.redelivered = redelivered
        self.cause = cause


class Consumer(WorkQueue, Client):
    hop_n = 2

    def __init__(self, sim):
        super().__init__(sim, "consumer")
        self.channel = 0
        self.unacked: dict[int, int] = {}  # delivery tag -> message on its channel, not acked
        self.start_application()  # deliveries waiting for the application, one in hand
        self.acking = Timer()
        self.to_ack: list[Delivery] = []  # processed; the ack goes out next
        self.processed: dict[int, int] = {}  # message -> times processed
        self.received = 0

    def setup(self) -> str:
        opts = self.opts
        if opts["auto_ack"]:
            return "a channel consuming from the queue with automatic ack"
        limit = f"prefetch {opts['prefetch']}" if opts["prefetch"] else "no prefetch limit"
        return f"a channel consuming from the queue with manual ack, {limit} (basic.qos)"

    def take(self, pkt) -> None:
        if pkt.kind == OPEN_OK:
            self.connected(pkt)
        elif pkt.kind == DELIVER:
            self.take_deliver(pkt)
        else:
            self.arrived(pkt)

    def connected(self, pkt) -> None:
        self.came_up(pkt, ": connected; a new channel, whose delivery tags start at 1")
        self.channel += 1
        self.unacked = {}

    def take_deliver(self, pkt) -> None:
        info = pkt.item or {}
        tag = info.get("tag")
        redelivered = bool(info.get("redelivered"))
        auto = self.opts["auto_ack"]
        flag = (": redelivered=true, it may have been seen before" if redelivered
                else ": redelivered=false, the broker has not delivered this copy before")
        wait = "; it waits for the application" if self.working is not None else ""
        seq = self.arrived(pkt, flag + wait, redelivered=redelivered)
        self.received += 1
        if not auto:
            self.unacked[tag] = pkt.msg
        self.queue_work(Delivery(pkt.msg, tag, self.channel, redelivered, seq))

    def work_done(self, d: Delivery) -> None:
        n = self.processed[d.msg] = self.processed.get(d.msg, 0) + 1
        seq = self.sim.emit(PROCESS, "app", (W.process, d.msg, n > 1, d.redelivered), d.msg,
                            None, None, d.cause,
                            {"node": self.name, "duplicate": n > 1, "redelivered": d.redelivered,
                             "tag": d.tag})
        if not self.opts["auto_ack"]:
            d.cause = seq
            self.to_ack.append(d)
            if len(self.to_ack) == 1:  # its ack goes out as a happening of its own, right after
                self.acking.version += 1
                self.sim.schedule(self.sim.now, 4, self._ack, self.acking, self.acking.version)

    def _ack(self, _timer, _version) -> None:
        pending, self.to_ack = self.to_ack, []
        for d in pending:
            if d.channel == self.channel and self.hop.client_up:
                self.unacked.pop(d.tag, None)
                self.send(ACK, "broker", d.msg, d.cause, (W.consumer_ack, d.msg, d.tag),
                          tag=d.tag, multiple=False, channel=d.channel)
            else:
                self.sim.emit(CANNOT_ACK, self.name, (W.cannot_ack, d.msg, d.tag), d.msg, None,
                              None, d.cause, {"node": self.name, "tag": d.tag})

    def channel_closed(self, cause: int) -> None:
        """Its channel closed: its delivery tags mean nothing now, and the client drops the
        deliveries the application has not started (the one in hand is finished)."""
        self.unacked = {}
        if not self.app:
            return
        msgs = [d.msg for d in self.app]
        self.app = []
        auto = self.opts["auto_ack"]
        self.sim.emit(DISCARDED, self.name, (W.discarded, msgs, auto), None, None, None, cause,
                      {"node": self.name, "msgs": msgs, "lost": auto})

    def holding(self) -> list[int]:
        work = [] if self.working is None else [self.working.msg]
        return work + [d.msg for d in self.app]

    def crash(self):
        self.up = False
        self.busy.version += 1
        self.acking.version += 1
        work = self.holding()
        done = [d.msg for d in self.to_ack]
        lost = []
        if work:
            fate = ("acknowledged automatically when sent, so lost"
                    if self.opts["auto_ack"] else "unacknowledged, so the broker requeues them")
            lost.append(f"deliveries its application had not processed "
                        f"({', '.join(map(str, work))}), {fate}")
        if done:
            lost.append(f"the ack it had not yet sent for what it processed "
                        f"({', '.join(map(str, done))}): the broker requeues it, so it comes "
                        f"again")
        self.app, self.working, self.to_ack, self.unacked = [], None, [], {}
        return lost, []

