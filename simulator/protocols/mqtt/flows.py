"""The two ends of an MQTT publish flow, as each side of a connection keeps them.

``Outbound`` is the sender's half of a session (the publisher towards the broker, the broker
towards a subscriber): the messages it has sent and not yet seen completed, each under a Packet
Identifier, and those waiting for a connection. ``Inbound`` is the receiver's half: what it
remembers of QoS 2 flows until PUBREL frees them. The rules are the standard's (OASIS MQTT
3.1.1 and 5.0, section 4.3 and 4.4; ``docs/presets.md`` lists them with their numbers):

- QoS 0: one PUBLISH, no Packet Identifier, no answer, never sent again [MQTT-4.3.1-1].
- QoS 1: PUBLISH, answered by PUBACK. The receiver passes the message on and answers; a PUBLISH
  that comes again, even with DUP=1, is a new message to it [MQTT-4.3.2-4/5].
- QoS 2: PUBLISH, PUBREC, PUBREL, PUBCOMP. Until PUBREL arrives, a PUBLISH with the same
  identifier is answered with PUBREC and not passed on again [MQTT-4.3.3-10]; once the sender
  has sent PUBREL it never sends that PUBLISH again, only PUBREL [MQTT-4.3.3-6]. Method A keeps
  the message and passes it on when PUBREL comes; Method B keeps the identifier and passes the
  message on at once (3.1.1 section 4.3.3, Figure 4.3).
- A resend happens when the client reconnects to the same session, in the original order,
  with DUP=1 on a PUBLISH [MQTT-4.4.0-1], [MQTT-3.3.1-1]; 3.1.1 clients of old also resent
  after a wait inside a live connection (the ``retry_in_connection`` option; 5.0 forbids it).
- Packet Identifiers are non-zero and not in use by another flow of that direction; a resend
  keeps its identifier; PUBACK or PUBCOMP frees it, and then it may name a new message
  [MQTT-2.3.1-2/3], [MQTT-4.3.3-12]. Here the lowest free identifier is taken, so reuse shows at
  once (real clients often count up and wrap: the standard allows either).
"""

from __future__ import annotations

from collections import OrderedDict

PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP"
CONNECT, CONNACK = "CONNECT", "CONNACK"
FLOW_KINDS = (PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP)
KINDS = FLOW_KINDS + (CONNECT, CONNACK)
MAX_ID = 65_535


class Flight:
    """An outgoing QoS 1 or 2 message under a Packet Identifier, not yet complete."""

    __slots__ = ("msg", "qos", "pid", "stage", "cause", "timer")

    def __init__(self, msg: int, qos: int, pid: int, cause: int | None):
        self.msg = msg
        self.qos = qos
        self.pid = pid
        self.stage = PUBLISH  # PUBLISH: waits for PUBACK / PUBREC; PUBREL: waits for PUBCOMP
        self.cause = cause
        self.timer = None  # the in-connection retry's token, if the sender resends on a wait


class Outbound:
    """The sender's half of a session: flights by Packet Identifier, in the order first sent,
    and messages waiting for a connection (``queue``: (msg, qos, cause))."""

    def __init__(self):
        self.flights: OrderedDict[int, Flight] = OrderedDict()
        self.queue: list[tuple[int, int, int | None]] = []

    def allocate(self) -> int:
        used = self.flights
        for pid in range(1, MAX_ID + 1):
            if pid not in used:
                return pid
        raise RuntimeError("no free Packet Identifier")  # 65,535 flights open: never here

    def open(self, msg: int, qos: int, cause: int | None) -> Flight:
        flight = Flight(msg, qos, self.allocate(), cause)
        self.flights[flight.pid] = flight
        return flight

    def close(self, pid: int) -> Flight | None:
        return self.flights.pop(pid, None)

    def messages(self) -> list[int]:
        return [f.msg for f in self.flights.values()] + [m for m, _, _ in self.queue]

    def view(self) -> dict:
        return {"in_use": [{"id": f.pid, "msg": f.msg, "qos": f.qos,
                            "waits_for": PUBACK if f.qos == 1 else
                            (PUBREC if f.stage == PUBLISH else PUBCOMP)}
                           for f in self.flights.values()],
                "queued": [m for m, _, _ in self.queue]}


class Inbound:
    """The receiver's half: QoS 2 state by Packet Identifier until PUBREL. Method A keeps the
    message (``held``: id -> msg, passed on at PUBREL); Method B keeps the identifier only
    (``seen``: id -> msg, already passed on)."""

    def __init__(self, method: str):
        self.method = method
        self.held: dict[int, int] = {}
        self.seen: dict[int, int] = {}

    def messages(self) -> list[int]:
        return list(self.held.values())

    def view(self) -> dict:
        return {"method": self.method,
                "stored": [{"id": pid, "msg": msg, "kept": "message"}
                           for pid, msg in self.held.items()]
                + [{"id": pid, "msg": msg, "kept": "identifier"}
                   for pid, msg in self.seen.items()]}
