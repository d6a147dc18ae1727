"""The MQTT fault cases of the standard, as one table for the model's tests and the broker's.

Each case publishes one message from a publisher through a broker to one subscriber and loses
one packet of the publish flow: ``kind`` (PUBLISH, PUBACK, PUBREC, PUBREL or PUBCOMP) on ``hop``
(1: publisher <-> broker, 2: broker <-> subscriber), the first one of that kind on that hop. Over
TCP a lost packet is a dropped connection: the client reconnects, with the same session
(``persistent``: CleanSession=0 / Clean Start=0 with a session that does not expire) or a new
one (``clean``). ``expect`` is what the subscriber's application sees of the message: ``lost``
(never), ``once`` or ``duplicate`` (twice), as the standard's text says it must be for a broker
and a subscriber that both deliver a QoS 2 message onward when PUBREL arrives (Method A, as
mosquitto does); ``cite`` names the sections it follows.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSIONS = ("3.1.1", "5.0")
FLOWS = {0: ("PUBLISH",), 1: ("PUBLISH", "PUBACK"), 2: ("PUBLISH", "PUBREC", "PUBREL", "PUBCOMP")}


@dataclass(frozen=True)
class Case:
    qos: int
    session: str  # "persistent" or "clean" (both clients)
    kind: str | None  # the packet lost (None: nothing is lost)
    hop: int | None
    expect: str  # "lost", "once" or "duplicate"
    cite: str

    @property
    def id(self) -> str:
        lost = f"{self.kind}@hop{self.hop}" if self.kind else "no-loss"
        return f"qos{self.qos}-{self.session}-{lost}"

    @property
    def fault(self) -> str | None:
        """The fault in the run's grammar: the first packet of this kind on this hop."""
        return f"drop:{self.kind}:1:hop={self.hop}" if self.kind else None


def _expect(qos: int, session: str, kind: str, hop: int) -> tuple[str, str]:
    if qos == 0:
        return "lost", "QoS 0 is sent once and never retried [MQTT-4.3.1-1]"
    if session == "clean":
        # The session's in-flight state is discarded on reconnect [MQTT-3.1.2-6]: nothing is
        # resent. What was already passed on stays passed on.
        if qos == 1:
            passed = kind == "PUBACK"  # the receiver passed it on before its PUBACK was lost
            return ("once" if passed else "lost",
                    "clean session: no resend [MQTT-3.1.2-6]; QoS 1 receiver passes the message "
                    "on at PUBLISH [MQTT-4.3.2]")
        passed = kind == "PUBCOMP"  # Method A passes it on when PUBREL arrives
        return ("once" if passed else "lost",
                "clean session: no resend [MQTT-3.1.2-6]; Method A passes the message on at "
                "PUBREL (3.1.1 Figure 4.3)")
    if qos == 1:
        if kind == "PUBACK":
            return "duplicate", ("lost PUBACK: resent with DUP=1, a new message to the receiver "
                                 "[MQTT-4.3.2-4/5], [MQTT-4.4.0-1]")
        return "once", "lost PUBLISH: resent on reconnect with DUP=1 [MQTT-4.4.0-1]"
    return "once", ("QoS 2: a repeated PUBLISH before PUBREL is answered with PUBREC, not passed "
                    "on again [MQTT-4.3.3-10]; PUBREL is resent, never PUBLISH "
                    "[MQTT-4.3.3-6], [MQTT-4.4.0-1]")


def cases() -> list[Case]:
    out: list[Case] = []
    for qos, flow in FLOWS.items():
        out.append(Case(qos, "persistent", None, None, "once",
                        "nothing lost: each QoS delivers once [MQTT-4.3]"))
        for session in ("persistent", "clean"):
            for hop in (1, 2):
                for kind in flow:
                    expect, cite = _expect(qos, session, kind, hop)
                    out.append(Case(qos, session, kind, hop, expect, cite))
    return out


CASES = cases()
