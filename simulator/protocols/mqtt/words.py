"""The sentences of an MQTT run, one small function per happening. An event keeps the function
and its arguments; the sentence is written only where the event leaves the simulation."""

from __future__ import annotations

NAMES = {"publisher": "publisher", "broker": "broker", "subscriber": "subscriber"}
_TAIL = {
    "PUBLISH": "",
    "PUBACK": ": the QoS 1 flow is complete",
    "PUBREC": ": received, held until PUBREL",
    "PUBREL": ": release it",
    "PUBCOMP": ": the QoS 2 flow is complete",
}


def _pid(pid: int | None) -> str:
    return f" (packet id {pid})" if pid else ""


def packet(kind: str, src: str, dst: str, msg: int | None, pid: int | None, qos: int | None,
           dup: bool, why: str) -> str:
    if kind == "CONNECT":
        return f"The {src} connects to the {dst} ({why})"
    if kind == "CONNACK":
        return f"The {src} accepts the connection: {why}"
    if kind == "PUBLISH":
        how = "resends" if dup else "sends"
        flag = ", DUP=1" if dup else ""
        tail = f" {why}" if why else ""
        return f"The {src} {how} PUBLISH of message {msg} at QoS {qos}{flag}{_pid(pid)}{tail}"
    return f"The {src} sends {kind} for message {msg}{_pid(pid)}{_TAIL.get(kind, '')}{why}"


def arrive(kind: str, node: str, msg: int | None, pid: int | None, outcome: str) -> str:
    what = f"{kind} for message {msg}{_pid(pid)}" if msg is not None else kind
    return f"{what} reaches the {node}{outcome}"


def disconnect(client: str, server: str, why: str) -> str:
    return (f"The connection between the {client} and the {server} drops ({why}); both sides "
            f"see it closed, and what was on the wire dies with it")


def session_lost(node: str, other: str, msgs: list[int], why: str) -> str:
    listed = ", ".join(map(str, msgs))
    return (f"The {node} discards its session with the {other} ({why}): message"
            f"{'s' if len(msgs) != 1 else ''} {listed} in flight will not be sent again")


def queued(node: str, msg: int, qos: int, why: str) -> str:
    return f"Message {msg} (QoS {qos}) waits at the {node}: {why}"


def not_sent(msg: int) -> str:
    return (f"The publisher has no connection: message {msg} at QoS 0 is not sent and not kept "
            f"(at most once)")


def route(msg: int, qos_in: int, qos_out: int, sub_qos: int, queued_now: bool) -> str:
    lower = (f" (QoS {qos_out}: the lower of the publish QoS {qos_in} and the subscription's "
             f"{sub_qos})" if qos_out != qos_in else f" at QoS {qos_out}")
    where = ("it waits in the subscriber's queue until the subscriber is connected"
             if queued_now else "it sends it to the subscriber")
    return f"The broker passes message {msg} on{lower}: {where}"


def discard(msg: int, why: str) -> str:
    return f"The broker drops message {msg}: {why}"


def app_receive(msg: int, duplicate: bool) -> str:
    again = " again: a duplicate" if duplicate else ""
    return f"The subscriber hands message {msg} to its application{again}"


def process(msg: int, duplicate: bool) -> str:
    if duplicate:
        return f"The application processes message {msg} a second time (a duplicate)"
    return f"The application processes message {msg}"


def timeout(node: str, msg: int, kind: str, waited: float) -> str:
    return (f"The {node} has waited {waited:g} ms for the answer to message {msg}'s {kind} on a "
            f"live connection: a 3.1.1 client of old resends now")
