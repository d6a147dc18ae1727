"""The simulator's side of the Kafka fault cases (``tests/kafka_cases.py``): each case through the
Kafka preset, its fault in the run's own terms, read as the mock cluster's runs are read.

- ``lose:KIND@H`` is the fault ``drop:KIND:1:hop=H``.
- ``restart-producer:unacknowledged`` crashes the producer between the broker's write of record 1
  and the answer's arrival (the latency is fixed, so the instants follow from it) and restarts
  it a little later.
- ``refuse:Produce@N`` turns the broker's refusals on (``produce_errors``) with a seed whose
  draws refuse record N's first Produce request and nothing else: ``refusal_seed`` finds it.
- ``crash-consumer:after-commit`` gives the application a long processing time and crashes the
  consumer once its commit is confirmed; ``crash-consumer:after-process`` crashes it just after
  the application processed record 1, while the commit is on its way.
"""

from __future__ import annotations

from simulator import Config, Simulation
from simulator.protocols.kafka import State
from simulator.rng import Fate
from tests.kafka_cases import Case, Observed

LATENCY = 250.0
RESTART_AFTER = 700.0  # how long a crashed node stays down
SLOW_PROCESS = 2000.0  # the processing time that leaves room for a crash before it ends


def refusal_seed(messages: int, refused: tuple[tuple[int, int], ...], chance: float = 0.5,
                 attempts: int = 2) -> int:
    """The first seed from 1 whose refusal draws (``produce_errors`` = ``chance``) refuse
    exactly the Produce requests ``refused`` ((record, attempt) pairs) among the first
    ``attempts`` attempts of records 1..messages."""
    state = State()
    for seed in range(1, 10_000):
        fate = Fate(seed)
        hits = {(m, a) for m in range(1, messages + 1) for a in range(1, attempts + 1)
                if fate.keyed_draws(state.refusal_key, m, a, state.refusal_code, 0, 0,
                                    1)[0] < chance}
        if hits == set(refused):
            return seed
    raise AssertionError("no seed refuses exactly those requests")


def config_for(case: Case, seed: int = 7) -> Config:
    """The run that plays ``case`` in the model."""
    options = {"idempotent": case.idempotent, "commit": case.commit, "hop1_loss": 0,
               "hop2_loss": 0, "hop_latency": LATENCY}
    faults: list[str] = []
    process_time = 50.0
    # the producer's first Produce goes out once it has a producer id (a round trip)
    first_send = 2 * LATENCY if case.idempotent else 0.0
    fault = case.fault or ""
    if fault.startswith("lose:"):
        kind, hop = fault[len("lose:"):].split("@")
        faults.append(f"drop:{kind}:1:hop={hop}")
    elif fault == "restart-producer:unacknowledged":
        crash = first_send + LATENCY + LATENCY / 5  # written at the broker, answer on its way
        faults += [f"crash:producer@{crash:g}", f"restart:producer@{crash + RESTART_AFTER:g}"]
    elif fault.startswith("refuse:Produce@"):
        options["produce_errors"] = 0.5
        seed = refusal_seed(case.messages, ((int(fault.rsplit("@", 1)[1]), 1),))
    elif fault == "crash-consumer:after-commit":
        process_time = SLOW_PROCESS
        # written, fetched (a round trip behind the fetch held at the broker), then committed
        # (another round trip): the application is busy until long after
        committed = first_send + LATENCY + LATENCY + 2 * LATENCY
        crash = committed + SLOW_PROCESS / 4
        faults += [f"crash:consumer@{crash:g}", f"restart:consumer@{crash + RESTART_AFTER:g}"]
    elif fault == "crash-consumer:after-process":
        processed = first_send + LATENCY + LATENCY + process_time
        faults += [f"crash:consumer@{processed + 1:g}",
                   f"restart:consumer@{processed + 1 + RESTART_AFTER:g}"]
    elif fault:
        raise ValueError(f"unknown fault {fault!r}")
    return Config.from_dict({"seed": seed, "messages": case.messages, "interval": 400,
                             "timeout": 2000, "process_time": process_time, "faults": faults,
                             "options": options})


def run_case(case: Case, seed: int = 7) -> tuple[Observed, list[dict], Simulation]:
    """The case in the model: what was observed, the run's events and the run."""
    sim = Simulation(config_for(case, seed), "kafka")
    events = sim.run()
    log = tuple(r.msg for r in sim.nodes["broker"].partition.log)
    processed = tuple(ev["msg"] for ev in events if ev["type"] == "process_record")
    requests = sum(1 for ev in events if ev["type"] == "produce")
    ids = sum(1 for ev in events if ev["type"] == "init_producer_id")
    return Observed(log, processed, requests, ids), events, sim


def simulate(case: Case) -> Observed:
    return run_case(case)[0]


PACKET_TYPES = {"produce", "produce_response", "init_producer_id", "init_producer_id_response",
                "fetch", "fetch_response", "offset_commit", "offset_commit_response",
                "offset_fetch", "offset_fetch_response"}


def wire(events: list[dict]) -> dict[int, list[str]]:
    """Each hop's packets in the order they went on the wire, as short words: the record, its
    epoch and sequence (``e0s1``), ``again`` on a resend, the answer's offset (``@2``), error
    or ``dup``; ``✗`` marks a packet lost on the wire, ``†`` one that died with its connection
    (or reached a crashed node)."""
    ends = {ev["packet"]: "†" if ev["reason"] in ("disconnected", "node_down") else "✗"
            for ev in events if ev["type"] == "drop"}
    out: dict[int, list[str]] = {1: [], 2: []}
    for ev in events:
        if ev["type"] in PACKET_TYPES:
            out[ev["hop"]].append(_word(ev) + ends.get(ev["packet"], ""))
    return out


def _word(ev: dict) -> str:
    kind = ev["kind"]
    if kind == "Produce":
        seq = f" e{ev['epoch']}s{ev['sequence']}" if ev["pid"] is not None else ""
        return f"Produce[{ev['msg']}{seq}{' again' if ev['retry'] else ''}]"
    if kind == "ProduceResponse":
        what = ev["error"] or (f"dup@{ev['offset']}" if ev["duplicate"] else f"@{ev['offset']}")
        return f"ProduceResponse[{ev['msg']} {what}]"
    if kind == "InitProducerIdResponse":
        return f"InitProducerIdResponse[{ev['pid']} e{ev['epoch']}]"
    if kind == "Fetch":
        return f"Fetch[@{ev['offset']}]"
    if kind == "FetchResponse":
        return f"FetchResponse[{','.join(str(m) for _, m in ev['records'])}]"
    if kind in ("OffsetCommit", "OffsetCommitResponse"):
        return f"{kind}[{ev['offset']}]"
    if kind == "OffsetFetchResponse":
        return f"OffsetFetchResponse[{'none' if ev['offset'] is None else ev['offset']}]"
    return kind
