"""Delivery Lab's simulator: a deterministic, step-able model of message delivery.

    from simulator import Config, Simulation
    sim = Simulation(Config(semantics="exactly-once"))
    for event in sim.run():
        print(event["text"])
    print(sim.summary())
"""

from .config import FIELDS, Config, ConfigError, schema
from .engine import Simulation
from .events import *  # noqa: F403  (the event type constants, EVENT_TYPES, LANES, make)
from .events import __all__ as _event_names
from .faults import Fault, parse_fault

__all__ = ["FIELDS", "Config", "ConfigError", "Fault", "Simulation", "parse_fault", "schema",
           *_event_names]
