"""The headless CLI, run as a real subprocess: `python -m simulator run ...` (docs/cli.md).

Other tools parse this output, so the tests hold the contract: summary keys and types, the event
stream's required fields, determinism, exit status 2 naming a refused flag, and scheduled faults.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SUMMARY_INT_KEYS = (
    "sent", "transmissions", "retries", "timeouts", "dropped", "acks_sent", "acks_dropped",
    "network_duplicates", "delivered", "processed", "processed_unique", "nacks", "lost",
    "duplicates", "discarded_duplicates", "out_of_order_arrivals", "out_of_order_processed",
    "events", "expected_balance", "balance",
)
REQUIRED_EVENT_FIELDS = {"seq": int, "type": str, "lane": str, "text": str}
NULLABLE_INT_FIELDS = ("msg", "packet", "attempt", "cause")

# A clean network: only the scheduled fault can go wrong.
QUIET = ("--loss", "0", "--ack-loss", "0", "--duplicate", "0", "--process-fail", "0")


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "simulator", "run", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def summary_of(*args: str) -> dict:
    out = cli(*args, "--json").stdout
    assert out.count("\n") == 1, "--json prints exactly one line"
    return json.loads(out)


def events_of(*args: str) -> list[dict]:
    """The events ``--events`` prints, after its header line."""
    header, *events = cli(*args, "--events").stdout.splitlines()
    assert json.loads(header)["trace"] == "delivery-lab"
    return [json.loads(line) for line in events]


def schema_event_types() -> set[str]:
    """The event types listed in docs/events.md's "Types" table (the one event schema)."""
    doc = (ROOT / "docs" / "events.md").read_text()
    section = doc.split("## Types", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))


def test_json_summary_has_every_contract_key_as_an_integer():
    summary = summary_of("--seed", "3", "--messages", "30")
    for key in SUMMARY_INT_KEYS:
        assert type(summary[key]) is int, key
    assert summary["sent"] == 30
    assert summary["lost"] == summary["sent"] - summary["processed_unique"]
    assert summary["duplicates"] == summary["processed"] - summary["processed_unique"]


def test_state_machine_summary_maps_states_to_entity_counts():
    summary = summary_of("--ordering", "state-machine", "--messages", "40", "--seed", "5")
    assert type(summary["parked"]) is int and type(summary["rejected"]) is int
    states = summary["final_state"]
    assert isinstance(states, dict) and states
    assert all(isinstance(k, str) and type(v) is int and v > 0 for k, v in states.items())


def test_event_stream_is_json_lines_with_the_schema_fields():
    events = events_of("--seed", "11", "--messages", "25", "--ordering", "sequence")
    types = schema_event_types()
    assert len(types) >= 25
    assert events, "a run of 25 messages has events"
    for ev in events:
        for name, kind in REQUIRED_EVENT_FIELDS.items():
            assert type(ev[name]) is kind, (name, ev)
        assert isinstance(ev["t"], (int, float)) and not isinstance(ev["t"], bool)
        for name in NULLABLE_INT_FIELDS:
            assert ev[name] is None or type(ev[name]) is int, (name, ev)
        assert ev["type"] in types, ev["type"]
        assert ev["cause"] is None or 1 <= ev["cause"] < ev["seq"]
    assert [ev["seq"] for ev in events] == list(range(1, len(events) + 1))
    times = [ev["t"] for ev in events]
    assert times == sorted(times)
    assert Counter(ev["type"] for ev in events)["send"] == 25


def test_events_agree_with_the_summary_of_the_same_run():
    args = ("--seed", "4", "--messages", "30", "--semantics", "exactly-once")
    events = events_of(*args)
    summary = summary_of(*args)
    counts = Counter(ev["type"] for ev in events)
    assert summary["events"] == len(events)
    assert summary["sent"] == counts["send"]
    assert summary["retries"] == counts["retry"]
    assert summary["timeouts"] == counts["timeout"]
    assert summary["dropped"] == counts["drop"]
    assert summary["delivered"] == counts["deliver"]
    assert summary["processed"] == counts["process"]
    assert summary["discarded_duplicates"] == counts["dedup_discard"]


def test_state_machine_balance_in_the_summary_is_what_the_applied_transitions_paid():
    args = ("--seed", "5", "--messages", "40", "--ordering", "state-machine", "--ack-loss", "0.3")
    events = events_of(*args)
    summary = summary_of(*args)
    carrying = [ev for ev in events if ev["type"] in ("process", "transition_applied")]
    applied = [ev for ev in events if ev["type"] == "transition_applied"]
    assert summary["duplicates"] > 0, "lost acks make the producer resend processed messages"
    assert summary["balance"] == carrying[-1]["balance"] == 10 * len(applied)
    assert summary["balance"] <= summary["expected_balance"]


def test_same_flags_give_the_same_output():
    args = ("--seed", "99", "--messages", "30", "--loss", "0.3", "--duplicate", "0.2",
            "--ordering", "sequence", "--events")
    assert cli(*args).stdout == cli(*args).stdout
    other = cli("--seed", "100", *args[2:]).stdout
    assert other != cli(*args).stdout, "another seed gives another run"


def test_events_and_json_print_the_summary_as_the_last_line():
    args = ("--seed", "8", "--messages", "12")
    lines = cli(*args, "--events", "--json").stdout.splitlines()
    header, *events, last = lines
    assert "seq" not in json.loads(header)
    assert json.loads(last) == summary_of(*args)
    assert "seq" not in json.loads(last)
    assert [json.loads(line)["seq"] for line in events] == list(range(1, len(events) + 1))
    assert json.loads(last)["events"] == len(events)


def test_plain_run_prints_a_readable_table_with_the_summary_numbers():
    args = ("--seed", "21", "--messages", "15")
    table = cli(*args).stdout
    summary = summary_of(*args)
    assert "at-least-once" in table and "seed 21" in table
    for key in ("sent", "retries", "processed_unique", "duplicates", "balance"):
        assert re.search(rf"^\s+{key}\s+{summary[key]}\b", table, re.M), key
    with pytest.raises(json.JSONDecodeError):
        json.loads(table)


def test_every_flag_reaches_the_config():
    summary = summary_of(
        "--semantics", "at-most-once", "--ordering", "none", "--messages", "7",
        "--interval", "100", "--latency", "50:60", "--loss", "0", "--ack-loss", "0",
        "--duplicate", "0", "--timeout", "500", "--max-retries", "-1", "--max-in-flight", "2",
        "--process-fail", "0", "--process-time", "5", "--backoff", "exponential",
        "--gap-timeout", "300", "--dedup-window", "0", "--dedup-store", "memory",
        "--operation", "idempotent", "--seed", "1")
    assert summary["sent"] == 7 and summary["processed_unique"] == 7
    assert summary["retries"] == 0 and summary["balance"] == summary["expected_balance"] == 70


def test_latency_and_interval_shape_the_timeline():
    events = events_of("--messages", "3", "--interval", "1000", "--latency", "200", *QUIET)
    sends = [ev["t"] for ev in events if ev["type"] == "send"]
    delivers = [ev["t"] for ev in events if ev["type"] == "deliver"]
    assert sends == [0, 1000, 2000]
    assert delivers == [200, 1200, 2200]


@pytest.mark.parametrize(("args", "flag"), [
    (("--loss", "1.5"), "--loss: must be at most 1"),
    (("--ack-loss", "-0.1"), "--ack-loss: must be at least 0"),
    (("--duplicate", "lots"), "--duplicate: must be a number"),
    (("--messages", "-1"), "--messages"),
    (("--messages", "2.5"), "--messages: must be a whole number"),
    (("--max-retries", "-2"), "--max-retries"),
    (("--timeout", "nan"), "--timeout: must be a finite number"),
    (("--semantics", "twice"), "--semantics: must be one of"),
    (("--ordering", "random"), "--ordering"),
    (("--backoff", "linear"), "--backoff"),
    (("--dedup-store", "disk"), "--dedup-store"),
    (("--operation", "mul"), "--operation"),
    (("--latency", "900:300"), "--latency: MAX must be at least MIN"),
    (("--latency", "fast"), "--latency"),
    (("--latency", "1:2:3"), "--latency"),
    (("--fault", "drop:data:0"), "--fault"),
    (("--fault", "explode:consumer@5"), "--fault"),
    (("--messages", "0"), "--messages"),
    (("--messages", "0", "--until", "-5"), "--until"),
    (("--seed", "x"), "--seed"),
    (("--nope", "1"), "--nope"),
])
def test_bad_flags_exit_2_naming_the_flag(args, flag):
    proc = cli(*args, "--json", check=False)
    assert proc.returncode == 2
    assert flag in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


CONTRACT_FLAGS = (
    "--semantics", "--ordering", "--messages", "--interval", "--latency", "--loss", "--ack-loss",
    "--duplicate", "--timeout", "--max-retries", "--max-in-flight", "--process-fail",
    "--process-time", "--backoff", "--gap-timeout", "--dedup-window", "--dedup-store",
    "--operation", "--seed", "--fault", "--json", "--events",
)


def test_the_contract_flags_exist_and_every_flag_is_documented():
    from simulator.cli import build_parser

    doc = (ROOT / "docs" / "cli.md").read_text()
    usage = build_parser().parse_args(["run"]).run_parser.format_usage()
    flags = [flag for flag in re.findall(r"\[(--[a-z-]+)", usage) if flag != "--help"]
    assert set(CONTRACT_FLAGS) <= set(flags)
    for flag in flags:
        assert f"`{flag}" in doc, flag


def test_no_command_prints_usage_and_exits_2():
    proc = subprocess.run([sys.executable, "-m", "simulator"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "run" in proc.stderr


def processings(events: list[dict], msg: int) -> list[dict]:
    return [ev for ev in events if ev["type"] == "process" and ev["msg"] == msg]


def test_lost_ack_makes_at_least_once_process_a_duplicate():
    events = events_of("--messages", "1", "--fault", "drop:ack:1", *QUIET)
    runs = processings(events, 1)
    assert [ev["duplicate"] for ev in runs] == [False, True]
    assert [ev["type"] for ev in events if ev["type"] in ("timeout", "retry")] == \
        ["timeout", "retry"]
    assert any(ev["type"] == "fault_injected" and ev["fault"] == "drop:ack:1" for ev in events)
    summary = summary_of("--messages", "1", "--fault", "drop:ack:1", *QUIET)
    assert summary["duplicates"] == 1 and summary["balance"] == 20


def test_lost_ack_is_a_discarded_duplicate_under_exactly_once():
    args = ("--semantics", "exactly-once", "--messages", "1", "--fault", "drop:ack:1", *QUIET)
    events = events_of(*args)
    assert len(processings(events, 1)) == 1
    discards = [ev for ev in events if ev["type"] == "dedup_discard"]
    assert len(discards) == 1 and discards[0]["attempt"] == 2
    summary = summary_of(*args)
    assert summary["duplicates"] == 0 and summary["discarded_duplicates"] == 1
    assert summary["balance"] == summary["expected_balance"] == 10


def test_faults_repeat_and_a_dropped_message_is_lost_under_at_most_once():
    summary = summary_of("--semantics", "at-most-once", "--messages", "4",
                         "--fault", "drop:data:2", "--fault", "drop:data:3", *QUIET)
    assert summary["sent"] == 4 and summary["retries"] == 0
    assert summary["dropped"] == 2 and summary["lost"] == 2


def test_consumer_crash_fault_is_in_the_stream():
    events = events_of("--messages", "10", "--fault", "crash:consumer@1500",
                       "--fault", "restart:consumer@3000", *QUIET)
    crash = [ev for ev in events if ev["type"] in ("crash", "restart")]
    assert [(ev["type"], ev["t"]) for ev in crash] == [("crash", 1500), ("restart", 3000)]


def test_live_mode_runs_until_the_given_time():
    args = ("--messages", "0", "--until", "4000", "--interval", "500")
    events = events_of(*args)
    assert events and all(ev["t"] <= 4000 for ev in events)
    sends = [ev["t"] for ev in events if ev["type"] == "send"]
    assert sends == [500 * i for i in range(9)]
    assert summary_of(*args)["sent"] == 9


def test_until_stops_a_finite_run_early():
    full = summary_of("--messages", "20", "--seed", "2")
    early = summary_of("--messages", "20", "--seed", "2", "--until", "3000")
    assert early["sent"] < full["sent"] == 20
    assert early["events"] < full["events"]


def test_a_reader_that_stops_early_is_not_an_error():
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "run", "--messages", "20000",
                             "--events"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    header = json.loads(proc.stdout.readline())
    first = json.loads(proc.stdout.readline())
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert header["trace"] == "delivery-lab" and first["seq"] == 1
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("spec", ["drop:dta:1", "drop:packet:17", "duplicate:DATA:1"])
def test_a_fault_on_a_packet_kind_that_never_goes_on_the_wire_is_refused(spec):
    result = cli("--fault", spec, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert "--fault" in result.stderr and "packet kind must be one of data, ack, nack" \
        in result.stderr


def test_the_table_warns_when_the_gap_timeout_is_shorter_than_the_retry_horizon():
    out = subprocess.run([sys.executable, "-m", "simulator", "run", "--ordering", "sequence"],
                         capture_output=True, text=True, check=True).stdout
    assert "warning (--gap-timeout): The gap timeout (2500 ms) is shorter than the retry " \
           "horizon" in out
    safe = subprocess.run([sys.executable, "-m", "simulator", "run", "--ordering", "sequence",
                           "--gap-timeout", "20000"], capture_output=True, text=True,
                          check=True).stdout
    assert "warning" not in safe


def test_a_trace_begins_with_a_header_naming_its_run_exactly():
    """``--events`` writes the run specification first: replaying it gives the same events."""
    from simulator import Config, Simulation
    from simulator.runspec import RunSpec

    args = ("--seed", "5", "--messages", "9", "--semantics", "exactly-once", "--fault",
            "drop:ack:msg=2")
    header, *lines = cli(*args, "--events").stdout.splitlines()
    head = json.loads(header)
    assert head == {"trace": "delivery-lab", "v": 1, "protocol": "classic", "run": head["run"]}
    spec = RunSpec.from_text(head["run"])
    assert spec.config == Config.from_dict({"seed": 5, "messages": 9,
                                            "semantics": "exactly-once",
                                            "faults": ["drop:ack:msg=2"]})
    events = [json.loads(line) for line in lines]
    assert events == Simulation(spec.config, spec.protocol).run()
    header, *_ = cli("--protocol", "mqtt", "--qos", "2", "--messages", "2", "--events").stdout \
        .splitlines()
    spec = RunSpec.from_text(json.loads(header)["run"])
    assert spec.protocol == "mqtt" and spec.config.option("qos") == 2
