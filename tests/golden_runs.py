"""The golden runs: seeded runs covering every semantics, ordering, crash and scheduled fault,
whose full event streams (as ``python -m simulator run --events`` prints them) are pinned by
hash in ``tests/golden/streams.json``. A refactor of the simulator must keep every one of them
byte-identical; a change that means to alter a stream rewrites the file on purpose with

    .venv/bin/python tests/golden_runs.py --write

and says why in its commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator import Config, Simulation  # noqa: E402
from simulator.cli import dump  # noqa: E402

FILE = Path(__file__).resolve().parent / "golden" / "streams.json"

CRASHES = ("crash:consumer@3000", "restart:consumer@4500", "crash:producer@9000",
           "restart:producer@9800")
PACKET_FAULTS = ("drop:data:3", "drop:ack:2", "duplicate:data:5", "delay:data:7:+1500",
                 "duplicate:ack:4", "delay:ack:6:+900", "drop:nack:1")

RUNS: dict[str, dict] = {}
for semantics in ("at-most-once", "at-least-once", "exactly-once"):
    for ordering in ("none", "sequence", "state-machine"):
        RUNS[f"{semantics}/{ordering}"] = {"semantics": semantics, "ordering": ordering}
        RUNS[f"{semantics}/{ordering}/faults"] = {
            "semantics": semantics, "ordering": ordering, "process_fail": 0.1,
            "faults": list(CRASHES + PACKET_FAULTS)}
RUNS.update({
    "backoff": {"backoff": "exponential", "backoff_cap": 5000, "backoff_jitter": 0.4,
                "loss": 0.4, "process_fail": 0.2, "max_retries": 4},
    "dead-letters": {"process_fail": 0.7, "max_retries": 2},
    "dedup-before-crash": {"semantics": "exactly-once", "dedup_record": "before",
                           "process_time": 200, "record_gap": 300, "ack_loss": 0.4,
                           "faults": ["crash:consumer@2300", "restart:consumer@2600"]},
    "dedup-after-memory": {"semantics": "exactly-once", "dedup_record": "after",
                           "dedup_store": "memory", "record_gap": 250,
                           "faults": ["crash:consumer@4000", "restart:consumer@4100"]},
    "dedup-window-ttl": {"semantics": "exactly-once", "dedup_window": 3, "dedup_ttl": 1500,
                         "ack_loss": 0.5},
    "state-machine-from-to": {"ordering": "state-machine", "transitions": "from-to",
                              "latency_max": 2500, "messages": 120},
    "in-flight-cap": {"max_in_flight": 2, "interval": 50, "messages": 80},
    "idempotent-jitter": {"operation": "idempotent", "latency_min": 100, "latency_max": 3000,
                          "duplicate": 0.3},
    "long": {"messages": 3000, "seed": 99, "ordering": "sequence", "gap_timeout": 12000},
})
# live changes applied at these seqs, in order (configure or inject)
LIVE = {
    "live-changes": [(40, "configure", {"semantics": "exactly-once"}),
                     (90, "configure", {"ordering": "sequence", "loss": 0.5}),
                     (150, "inject", {"action": "crash", "node": "consumer"}),
                     (170, "inject", {"action": "restart", "node": "consumer"}),
                     (220, "configure", {"semantics": "at-most-once", "ordering": "none"})],
}


def stream(name: str) -> str:
    """The run's events as the command line prints them, one JSON object a line."""
    sim = Simulation(Config.from_dict(RUNS.get(name, {"messages": 60, "seed": 3})))
    lines = []
    for at, op, payload in LIVE.get(name, []):
        while sim.seq < at:
            lines += [dump(ev) for ev in sim.step()]
        made = sim.configure(payload) if op == "configure" else sim.inject(payload)
        lines += [dump(ev) for ev in made]
    lines += [dump(ev) for ev in sim.run()]
    return "\n".join(lines) + "\n"


def digests() -> dict[str, dict]:
    out = {}
    for name in [*RUNS, *LIVE]:
        text = stream(name)
        out[name] = {"events": text.count("\n"),
                     "sha256": hashlib.sha256(text.encode()).hexdigest()}
    return out


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: golden_runs.py --write")
    FILE.parent.mkdir(exist_ok=True)
    FILE.write_text(json.dumps(digests(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FILE.relative_to(ROOT)}")
