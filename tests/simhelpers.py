"""Helpers shared by the simulator's unit tests: calm configs and event filters."""

from __future__ import annotations

from simulator import Config, Simulation


def calm(**changes) -> Config:
    """A predictable network: fixed 100 ms latency, no random loss or duplication."""
    base = {"messages": 3, "interval": 100.0, "latency_min": 100.0, "latency_max": 100.0,
            "loss": 0.0, "ack_loss": 0.0, "duplicate": 0.0, "timeout": 1000.0,
            "process_time": 10.0, "seed": 1}
    base.update(changes)
    return Config.from_dict(base)


def run(cfg: Config) -> tuple[Simulation, list[dict]]:
    sim = Simulation(cfg)
    return sim, sim.run()


def of(events: list[dict], type_: str, **match) -> list[dict]:
    return [e for e in events if e["type"] == type_
            and all(e.get(k) == v for k, v in match.items())]


def processed_order(events: list[dict]) -> list[int]:
    return [e["msg"] for e in events if e["type"] == "process"]
