"""The simulator's side of the AMQP 0-9-1 fault cases (``tests/amqp_cases.py``): one message
through the AMQP preset with the case's options and its fault, read as the RabbitMQ tests read
the real broker (``Observed``)."""

from __future__ import annotations

from simulator import Config, Simulation
from tests.amqp_cases import Case, Observed

WIRE_KINDS = ("basic.publish", "basic.ack", "basic.nack", "basic.return", "basic.deliver")
PACKET_TYPES = {"publish", "confirm", "nack", "return", "deliver", "ack"}
COMES_BACK = 500  # ms after its crash, a crashed consumer starts again
# crash-broker:while-queued: the consumer is away from the start; the broker crashes and starts
# again once the message waits in the queue (confirmed, so written to disk if persistent); the
# consumer comes.
BROKER_RESTART = ("crash:consumer@0", "crash:broker@2000", "restart:broker@2500",
                  "restart:consumer@3500")


def options(case: Case) -> dict:
    return {"confirms": case.confirms, "auto_ack": case.auto_ack, "mandatory": case.mandatory,
            "bound": case.routable, "durable": case.durable, "hop1_loss": 0, "hop2_loss": 0}


def plan(case: Case) -> tuple[list[str], str | None]:
    """The case's fault as scheduled faults, and the consumer crash to make by hand, if any
    (``before-process`` or ``after-process``)."""
    fault = case.fault
    if fault is None:
        return [], None
    action, _, what = fault.partition(":")
    if action == "lose":
        frame, _, hop = what.partition("@")
        return [f"drop:{frame}:1:hop={hop}"], None
    if action == "crash-consumer" and what in ("before-process", "after-process"):
        return [], what
    if fault == "crash-broker:while-queued":
        return list(BROKER_RESTART), None
    raise ValueError(f"unknown fault {fault!r}")


def _reached(ev: dict, when: str) -> bool:
    if when == "before-process":  # the delivery reached the consumer
        return (ev["type"] == "arrive" and ev["kind"] == "basic.deliver"
                and ev["node"] == "consumer")
    return ev["type"] == "process"  # processed; its ack is a happening of its own, next


def run_case(case: Case, seed: int = 7) -> tuple[Observed, list[dict]]:
    """The case run through the model: what was observed, and the run's events."""
    faults, crash = plan(case)
    config = Config.from_dict({"seed": seed, "messages": 1, "faults": faults,
                               "options": options(case)})
    sim = Simulation(config, "amqp")
    events: list[dict] = []
    if crash is not None:
        while True:
            batch = sim.step()
            events += batch
            if not batch or any(_reached(ev, crash) for ev in batch):
                break
        events += sim.inject({"action": "crash", "node": "consumer"})
        events += sim.inject(f"restart:consumer@{int(sim.now) + COMES_BACK}")
    events += sim.run()
    return observe(events), events


def observe(events: list[dict], msg: int = 1) -> Observed:
    lost = {ev["packet"] for ev in events
            if ev["type"] == "drop" and ev["reason"] not in ("disconnected", "node_down")}
    wire: dict = {1: [], 2: []}
    for ev in events:
        if ev["type"] in PACKET_TYPES and ev["kind"] in WIRE_KINDS:
            wire[ev["hop"]].append((ev["kind"], ev["packet"] in lost))
    redelivered = tuple(bool(ev["redelivered"]) for ev in events
                        if ev["type"] == "arrive" and ev["kind"] == "basic.deliver"
                        and ev["node"] == "consumer" and ev["msg"] == msg)
    processed = sum(1 for ev in events if ev["type"] == "process" and ev["msg"] == msg)
    returned = any(ev["type"] == "arrive" and ev["kind"] == "basic.return"
                   and ev["node"] == "publisher" and ev["msg"] == msg for ev in events)
    return Observed(processed, redelivered, returned, wire)


def simulate(case: Case) -> Observed:
    return run_case(case)[0]


def compact(frames: list) -> str:
    """``publish ack✗ publish ack``: a hop's methods (without ``basic.``) as one line."""
    return " ".join(kind.removeprefix("basic.") + ("✗" if lost else "") for kind, lost in frames)
