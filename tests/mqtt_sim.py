"""The simulator's side of the MQTT fault cases (``tests/mqtt_cases.py``): one message through
the MQTT preset with the case's packet lost, read as the broker tests read the real thing."""

from __future__ import annotations

from dataclasses import dataclass

from simulator import Config, Simulation

FLOW_TYPES = {"publish", "puback", "pubrec", "pubrel", "pubcomp"}


@dataclass
class Observed:
    deliveries: int  # how many times the subscriber's application got the message
    wire: dict  # hop -> [(kind, dup, lost)] in the order the packets went on the wire

    @property
    def outcome(self) -> str:
        return {0: "lost", 1: "once"}.get(self.deliveries, "duplicate")


def run_case(case, version: str, method: str = "A", seed: int = 7,
             paho: bool = False) -> tuple[Observed, list]:
    """The case under ``version`` and the QoS 2 receiver ``method``: what was observed, and
    the run's events. ``paho``: the publisher's client resends without a session, as
    paho-mqtt does (the ``resend_without_session`` option)."""
    options = {"qos": case.qos, "mqtt_version": version, "receiver_method": method,
               "clean_session": case.session == "clean", "hop1_loss": 0, "hop2_loss": 0,
               "resend_without_session": paho}
    config = Config.from_dict({"seed": seed, "messages": 1, "options": options,
                               "faults": [case.fault] if case.fault else []})
    sim = Simulation(config, "mqtt")
    events = sim.run()
    lost = {ev["packet"] for ev in events
            if ev["type"] == "drop" and ev["reason"] != "disconnected"}
    wire: dict = {1: [], 2: []}
    for ev in events:
        if ev["type"] in FLOW_TYPES:
            wire[ev["hop"]].append((ev["kind"], bool(ev["dup"]), ev["packet"] in lost))
    deliveries = sum(1 for ev in events if ev["type"] == "app_receive" and ev["msg"] == 1)
    return Observed(deliveries, wire), events


def simulate(case, version: str, method: str = "A", paho: bool = False) -> Observed:
    return run_case(case, version, method, paho=paho)[0]


def compact(packets: list) -> str:
    """``PUBLISH PUBREC✗ PUBLISH(dup) ...``: a hop's packets as one line."""
    return " ".join(kind + ("(dup)" if dup else "") + ("✗" if lost else "")
                    for kind, dup, lost in packets)
