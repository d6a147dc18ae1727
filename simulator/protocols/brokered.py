"""What every protocol preset shares: a broker between two clients, each over one TCP connection.

The publishing client (``sender``: a publisher, a producer) holds hop 1 to the broker; the
receiving client (``receiver``: a subscriber, a consumer) holds hop 2, and hands what it gets to
its application. ``Brokered`` is the protocol base: the topology (fixed latency per hop, as TCP
keeps order; each hop's loss on the packets of the publish flow), the connections
(``tcp.py``), the words of a loss, which packets were sent, and the per-run state on the
simulation (``sim.<protocol name>``). The helpers below build the parts of a manifest that
every preset draws alike (lanes, the broker between two network lanes, losses, crashes,
restarts, faults, setting changes, the application's marks).
"""

from __future__ import annotations

from ..agenda import Timer
from ..config import Field
from ..protocol import NodeBehaviour, Protocol
from ..topology import Link, Node, Topology
from . import tcp

# Each loss ends a connection and what was in flight goes out again: far above this, a
# reconnect's burst rarely all gets through (as on a real link that bad).
MAX_LOSS = 0.3


def hop_options(sender: str, receiver: str, unit: str, loss: float) -> tuple[Field, ...]:
    """The options of every preset: each hop's loss (``loss`` by default), the latency and the
    reconnect delay. ``unit`` is what the protocol calls a packet (packet, frame)."""
    return (
        Field("hop1_loss", "prob", loss, "Hop 1 loss",
              f"Chance a {unit} between the {sender} and the broker is lost, and its "
              f"connection with it.", 0, MAX_LOSS),
        Field("hop2_loss", "prob", loss, "Hop 2 loss",
              f"Chance a {unit} between the broker and the {receiver} is lost, and its "
              f"connection with it.", 0, MAX_LOSS),
        Field("hop_latency", "float", 250.0, "Latency (ms)",
              "One way, on either hop (fixed: TCP keeps order within a connection).", 0, 60_000),
        Field("reconnect", "float", 800.0, "Reconnect delay (ms)",
              "How long a client takes to notice a dead connection and connect again.", 1,
              600_000),
    )


# --- the manifest's shared parts ---------------------------------------------------------------
def lanes(sender: str, sender_label: str, receiver: str, receiver_label: str) -> tuple:
    """The lanes in order; a hop's network lane is narrow (only its losses are drawn on it)."""
    return ({"id": sender, "label": sender_label},
            {"id": "net1", "label": "Hop 1", "narrow": True},
            {"id": "broker", "label": "Broker"},
            {"id": "net2", "label": "Hop 2", "narrow": True},
            {"id": receiver, "label": receiver_label}, {"id": "app", "label": "Application"})


def link_lanes(sender: str, receiver: str) -> dict:
    """Each hop's losses are drawn on its own network lane."""
    return {(sender, "broker"): "net1", ("broker", sender): "net1",
            ("broker", receiver): "net2", (receiver, "broker"): "net2"}


def lens(sender: str, label: str) -> dict:
    return {"node": sender, "label": f"{label}'s view", "lanes": [sender],
            "says": f"{label}'s view: only what the {sender} can know; other lanes dimmed."}


def packet(kind: str, mark: str, **more) -> dict:
    """The event type of a packet put on the wire: named, labelled and matched by its kind."""
    return {"mark": mark, "name": kind, "packet": "start", "label": "kind",
            "in_flight": {"kind": kind}, **more}


def marks(first: str, unit: str, item: str, arrive_help: str, handed_over: bool = True) -> dict:
    """The marks every preset draws alike. ``first`` is the mark of the first packet kind (a
    loss cuts its arrow in the legend), ``unit`` what a packet is called, ``item`` what the
    application gets (message, record), ``arrive_help`` what an arrival is; ``handed_over``:
    the receiving client hands what it gets to its application as an event of its own."""
    out = {
        "arrive": {"shape": "arrowhead", "fill": "solid", "color": "blue", "offset": -16,
                   "label": "Arrives", "help": arrive_help},
        "drop": {"shape": "cross", "fill": "open", "color": "vermillion", "cuts": first,
                 "overview": True, "label": "Lost",
                 "help": "lost on the wire: over TCP that ends the connection"},
        "disconnect": {"shape": "bar", "fill": "post", "color": "vermillion", "overview": True,
                       "label": "Connection dropped",
                       "help": f"both sides see the connection closed; {unit}s on the wire "
                               f"die"},
        "app_receive": {"shape": "arrowhead", "fill": "open", "color": "blue", "offset": -18,
                        "label": "Handed to the application",
                        "help": f"the client passes the {item} on to its application"},
        "app_receive_dup": {"shape": "arrowhead", "fill": "ringed", "color": "violet",
                            "offset": -18, "label": "Handed over again",
                            "help": f"the application gets this {item} a second time"},
        "process": {"shape": "square", "fill": "solid", "color": "green", "label": "Processed",
                    "help": f"the application applied the {item}"},
        "dup_processed": {"shape": "square", "fill": "double", "color": "violet",
                          "label": "Duplicate processed", "help": "applied a second time"},
        "crash": {"shape": "bolt", "fill": "solid", "color": "vermillion", "overview": True,
                  "label": "Crash",
                  "help": "a node lost its memory; its lane is shaded until restart"},
        "restart": {"shape": "circular_arrow", "fill": "solid", "color": "green",
                    "label": "Restart", "help": "the node is back"},
        "fault": {"shape": "asterisk", "fill": "open", "color": "white", "offset": 16,
                  "label": "Injected fault", "help": "a fault you or the schedule caused"},
        "config": {"shape": "line", "fill": "dashed", "color": "white", "line": "config",
                   "label": "Setting changed", "help": "a labelled line across all lanes"},
    }
    if not handed_over:
        del out["app_receive"], out["app_receive_dup"]
    return out


EVENT_TYPES: dict[str, dict] = {
    "drop": {"mark": "drop", "name": "Lost", "packet": "end", "lost": True},
    "disconnect": {"mark": "disconnect", "name": "Connection dropped"},
    "app_receive": {"mark": "app_receive", "name": "Handed to the application",
                    "variants": [{"when": {"duplicate": True}, "mark": "app_receive_dup",
                                  "note": "again"}]},
    "crash": {"mark": "crash", "name": "Crash", "downtime": "start"},
    "restart": {"mark": "restart", "name": "Restart", "downtime": "end"},
    "config_change": {"mark": None, "name": "Setting changed", "line": "config"},
    "fault_injected": {"mark": "fault", "name": "Injected fault"},
}


def processed(type_: str = "process") -> dict:
    """The event type of the application's processing (``duplicate``: a second time)."""
    return {type_: {"mark": "process", "name": "Processed",
                    "variants": [{"when": {"duplicate": True}, "mark": "dup_processed",
                                  "note": "duplicate"}]}}


def lost(kind: str, src: str, dst: str, msg: int | None, reason: str, unit: str,
         item: str) -> str:
    """The words of a packet's loss (``reason``: loss, scheduled, injected, node_down, or
    disconnected: it died with its connection)."""
    what = kind if msg is None else f"{kind} for {item} {msg}"
    if reason == "node_down":
        return f"{what} reaches a crashed {dst} and is lost"
    if reason == "disconnected":
        return f"{what} dies with its connection"
    how = {"loss": "is lost", "scheduled": "is lost (a scheduled fault)",
           "injected": "is dropped by hand"}.get(reason, "is lost")
    return (f"{what} {how} on its way from the {src} to the {dst}: over TCP a lost {unit} means "
            f"a dead connection")


# --- the protocol ------------------------------------------------------------------------------
class Brokered(Protocol):
    """A preset's protocol: a sender and a receiver, each connected to the broker."""

    sender = ""
    sender_label = ""
    receiver = ""
    receiver_label = ""
    lossy_kinds: tuple[str, ...] = ()  # the kinds a hop's loss may take (not connecting)
    connect_kinds: tuple[str, ...] = ()  # a client's connect: lost, it tries again
    unnumbered_kinds: tuple[str, ...] = ()  # packets that carry no message
    unit = "packet"  # what the protocol calls a packet on the wire (a frame, ...)
    item = "message"  # what the application gets (a record, ...)
    fields = ("seed", "messages", "interval", "timeout", "process_time", "faults")

    def state(self, sim):
        """The run's state beside its nodes (``sim.mqtt``, ``sim.amqp``, ...)."""
        return sim.__dict__[self.name]

    def topology(self, config) -> Topology:
        opts = self.resolve_options(config)
        lat = opts["hop_latency"]
        s, r = self.sender, self.receiver

        def link(src, dst, hop, loss):
            return Link(src, dst, lat, lat, loss={k: loss for k in self.lossy_kinds}, hop=hop)

        return Topology(
            [Node(s, s, self.sender_label, "sender"), Node("broker", "broker", "Broker", "broker"),
             Node(r, r, self.receiver_label, "receiver")],
            [link(s, "broker", 1, opts["hop1_loss"]), link("broker", s, 1, opts["hop1_loss"]),
             link("broker", r, 2, opts["hop2_loss"]), link(r, "broker", 2, opts["hop2_loss"])])

    def start(self, sim) -> None:
        # The receiver connects (and subscribes, or consumes) first; the sender starts sending
        # once it is connected.
        hops = self.state(sim).hops
        self.reconnect_later(sim, hops[2], 0.0)
        self.reconnect_later(sim, hops[1], 0.0)

    def hop_between(self, sim, a: str, b: str) -> tcp.Hop:
        return tcp.hop_of(self.state(sim).hops.values(), a, b)

    def reconnect_later(self, sim, hop: tcp.Hop, delay: float) -> None:
        """The hop's client connects (again) after ``delay``."""
        tcp.connect_later(sim, hop, delay, sim.nodes[hop.client].connect_now)

    # --- the network's questions --------------------------------------------------------------
    def drop_text(self, sim, pkt, reason: str) -> str:
        words = self.drop_words(sim, pkt, reason)
        return words[0](*words[1:])

    def drop_words(self, sim, pkt, reason: str) -> tuple:
        msg = None if pkt.kind in self.unnumbered_kinds or not pkt.msg else pkt.msg
        return (lost, pkt.kind, pkt.src, pkt.dst, msg, reason, self.unit, self.item)

    def packet_lost(self, sim, pkt, reason: str) -> None:
        """A lost packet breaks its TCP stream (``tcp.break_stream``): what was sent behind it
        in that direction never arrives; what was ahead still arrives, and so do the answers to
        it; both sides see the connection closed a round trip after the lost packet was sent. A
        connect that does not arrive (lost, or to a crashed broker) is tried again later."""
        if reason == "disconnected":
            return
        hop = self.hop_between(sim, pkt.src, pkt.dst)
        if pkt.kind in self.connect_kinds:
            if sim.nodes[hop.client].up:
                self.reconnect_later(sim, hop, sim.options["reconnect"])
            return
        if reason == "node_down":
            return
        tcp.break_stream(sim, hop, pkt, sim.nodes[hop.client].on_cut, f"{pkt.kind} was lost")

    def already_sent(self, sim, kind: str, msg: int, attempt: int, hop=None) -> bool:
        state = self.state(sim)
        senders = None if hop is None else state.hops[hop].ends()
        # a send's key is (node, ..., kind, msg): see ``Party.send_key``
        return any(n >= attempt for key, n in state.sends.items()
                   if key[-2] == kind and key[-1] == msg
                   and (senders is None or key[0] in senders))


class Party(NodeBehaviour):
    """A node of a preset: the sending client, the broker or the receiving client. It puts
    packets on the wire (``transmit``), takes those that reach it (``take``), unless TCP would
    never hand them on (sent behind a lost one), and closes its connection when a break is
    noticed (``on_cut``)."""

    hop: tcp.Hop  # the connection a client holds (the broker holds both)

    def __init__(self, sim, name: str):
        self.sim = sim
        self.name = name
        self.up = True

    @property
    def opts(self) -> dict:
        return self.sim.options

    def send_key(self, kind: str, dst: str, msg: int | None) -> tuple:
        """What the count of sends that keys a packet's fate is kept by."""
        return (self.name, kind, msg or 0)

    def transmit(self, type_: str, kind: str, dst: str, msg: int | None, cause: int | None,
                 text, info: dict):
        """Put a packet of ``kind`` on the wire to ``dst``, its event ``type_`` worded ``text``
        with the fields ``info``; its fate is keyed by how many such packets this node has sent
        (every resend draws its own)."""
        sim = self.sim
        counts = sim.protocol.state(sim).sends
        key = self.send_key(kind, dst, msg)
        attempt = counts[key] = counts.get(key, 0) + 1
        info = {"hop": sim.protocol.hop_between(sim, self.name, dst).n, **info}
        if msg is None:
            info["msg"] = None
        pkt = sim.network.transmit(type_, self.name, text, kind, msg or 0, attempt, 0,
                                   self.name, dst, None, cause, info)
        pkt.item = info
        return pkt

    def on_packet(self, pkt) -> None:
        """A packet sent behind a lost one on its connection never arrives (TCP hands nothing
        on past a gap); any other is taken."""
        sim = self.sim
        if not tcp.behind_gap(sim, sim.protocol.hop_between(sim, pkt.src, pkt.dst), pkt):
            self.take(pkt)

    def take(self, pkt) -> None:
        raise NotImplementedError

    def on_cut(self, timer, _version) -> None:
        """A round trip after a lost packet was sent: the connection it broke is seen closed."""
        cause, why = timer.payload
        self.sim.protocol.drop_connection(self.sim, self.hop, cause, why)

    def after_crash(self, crash_seq: int) -> None:
        """Its connections drop with it (a client's one, the broker's both)."""
        proto = self.sim.protocol
        hops = proto.state(self.sim).hops.values() if self.name == "broker" else (self.hop,)
        for hop in hops:
            proto.drop_connection(self.sim, hop, crash_seq, f"the {self.name} crashed")

    def restart(self) -> None:
        """Back up: a client connects again at once (the broker waits to be connected to)."""
        self.up = True
        if self.name != "broker":
            self.sim.protocol.reconnect_later(self.sim, self.hop, 0.0)


class Publishing:
    """The sending client's application, mixed into its ``Party``: messages 1, 2, ..., one per
    interval while the run's ``messages`` allow (0: without end); ``new_message(msg)`` takes
    each.
    ``start_publishing`` sets it up."""

    def start_publishing(self) -> None:
        self.next_msg = 1
        self.due = Timer()
        self.published = 0

    def more(self) -> bool:
        limit = self.sim.config.messages
        return limit == 0 or self.next_msg <= limit

    def arm(self, at: float) -> None:
        self.due.version += 1
        self.sim.schedule(at, 5, self.on_due, self.due, self.due.version)

    def on_due(self, _timer, _version) -> None:
        msg = self.next_msg
        self.next_msg += 1
        self.published += 1
        self.new_message(msg)
        if self.more():
            self.arm(self.sim.now + self.sim.config.interval)

    def new_message(self, msg: int) -> None:
        raise NotImplementedError

    def restart(self) -> None:
        super().restart()
        if self.more():
            self.arm(self.sim.now)


class WorkQueue:
    """The receiving client's application, mixed into its ``Party``: what the client hands over
    waits in an in-memory work queue (``app``) and is worked on one at a time, for the run's
    ``process_time`` each (``working``: the item in hand); ``begin_work(item)`` may hold an
    item back first (then ``work()`` starts it), ``work_done(item)`` says what was done.
    ``start_application`` sets it up; a crash empties it (the caller's)."""

    def start_application(self) -> None:
        self.app: list = []
        self.busy = Timer()
        self.working = None

    def queue_work(self, item) -> None:
        self.app.append(item)
        if self.working is None:
            self._next()

    def _next(self) -> None:
        if not self.app:
            self.working = None
            return
        self.working = self.app.pop(0)
        self.begin_work(self.working)

    def begin_work(self, item) -> None:
        self.work()

    def work(self) -> None:
        """Work on the item in hand: done after the run's ``process_time``."""
        self.busy.version += 1
        self.sim.schedule(self.sim.now + self.sim.config.process_time, 4, self._done, self.busy,
                          self.busy.version)

    def _done(self, _timer, _version) -> None:
        self.work_done(self.working)
        self._next()

    def work_done(self, item) -> None:
        raise NotImplementedError
