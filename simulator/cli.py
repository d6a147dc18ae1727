"""The headless command line: ``python -m simulator run [flags]``.

Flags are built from the one config schema (``config.FIELDS``) and every value is validated by
``Config.from_dict``, so the limits and messages are the schema's. A refused value exits with
status 2 and a message naming the flag. Output is a summary table, one JSON summary object
(``--json``), the event stream as JSON lines (``--events``), or the events followed by the summary
as the last line (both). See docs/cli.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterator
from typing import IO

from . import Simulation, protocols
from .advice import advice
from .config import FIELD_BY_NAME, FIELDS, MAX_TIME, SEMANTICS, Config, ConfigError, Field
from .sweep import SWEEPABLE

# Settings whose flag is not simply the field name with dashes.
LATENCY_FIELDS = ("latency_min", "latency_max")
FAULT_FLAG = "--fault"
LATENCY_FLAG = "--latency"
UNTIL_FLAG = "--until"

# One line of meaning per summary counter, for the human-readable table.
LABELS = {
    "sent": "messages the producer sent",
    "transmissions": "data packets put on the wire, retries included",
    "retries": "retransmissions",
    "timeouts": "waits that ended without an answer (the producer cannot tell why)",
    "timeouts_processed": "  in hindsight: the message had been processed (answer lost or slow)",
    "timeouts_lost": "  in hindsight: lost on the way, never processed",
    "timeouts_late": "  in hindsight: still on its way or waiting in the consumer",
    "timeouts_unknown": "  in hindsight: still unknown",
    "dropped": "data packets the network lost",
    "acks_sent": "acks the consumer sent",
    "acks_dropped": "acks and nacks the network lost",
    "network_duplicates": "extra copies the network made",
    "network_copies_data": "  of data packets",
    "network_copies_ack": "  of acks and nacks",
    "delivered": "data packets that reached the consumer",
    "processed": "times the application processed a message",
    "processed_unique": "distinct messages processed",
    "nacks": "negative acks (processing failures answered)",
    "lost": "messages never processed (sent - processed_unique - in_play)",
    "in_play": "messages still on their way (0 once a run has ended)",
    "duplicates": "extra processings (processed - processed_unique)",
    "discarded_duplicates": "duplicates the dedup store caught",
    "out_of_order_arrivals": "messages that arrived after a later one",
    "out_of_order_processed": "messages processed after a later one",
    "events": "events in the stream",
    "expected_balance": "account balance if every message paid once",
    "balance": "account balance",
    "final_state": "entities in each state (state machine)",
    "parked": "transitions still waiting to become valid",
    "applied": "transitions applied, each paying into the account",
    "rejected": "transitions rejected: no payment",
    "rejected_duplicates": "  duplicates of a transition (harmless)",
    "rejected_impossible": "  real transitions that could no longer apply (effect lost)",
    "effects_lost": "payments the application lost to rejected real transitions",
    "gave_up": "messages the producer gave up on, not knowing their fate",
    "dead_lettered": "poison messages (every attempt nacked) in the dead-letter queue",
    "false_done": "messages the producer recorded as done that were never processed",
    "dedup_records": "dedup keys written as a step apart from the effect",
    "process_failures": "processings that failed",
    "stale_drops": "late arrivals the reorder buffer dropped",
    "gap_skips": "times the reorder buffer stopped waiting",
}

TRACE_FORMAT = "delivery-lab"  # a trace's header says what the file is, and its version
TRACE_VERSION = 1
METAVARS = {"seed": "S", "max_retries": "R", "prob": "P", "float": "T", "int": "N"}


def flag_for(field_name: str) -> str:
    """The command-line flag of a setting, or of a ``ConfigError.field`` such as ``faults[2]``."""
    base = field_name.split("[", 1)[0]
    if base in LATENCY_FIELDS:
        return LATENCY_FLAG
    if base == "faults":
        return FAULT_FLAG
    if base.startswith("options."):  # a protocol's own option: its flag bears its name
        base = base.split(".", 1)[1].split(".", 1)[0]
    return "--" + base.replace("_", "-")


def _help(f: Field) -> str:
    text = f.help.replace("%", "%%")
    if f.choices:
        return f"{text} (default {f.default})"
    limits = []
    if f.minimum is not None:
        limits.append(f"min {_fmt(f.minimum)}")
    if f.maximum is not None:
        limits.append(f"max {_fmt(f.maximum)}")
    return f"{text} (default {_fmt(f.default)}; {', '.join(limits)})"


def _fmt(x) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Delivery Lab's deterministic message-delivery simulator, headless.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run one simulation and print its summary or its events",
        description="Run one simulation. Every setting defaults to the schema's default; "
                    "one seed gives one event stream.",
        epilog="Faults: drop|duplicate:KIND:N, delay:KIND:N:+T, crash|restart:consumer|producer@T "
               "(see docs/faults.md). Exit status 2 names a refused flag.",
    )
    _setting_flags(run)
    run.add_argument(UNTIL_FLAG, metavar="T", dest="until",
                     help="Stop at simulated time T ms (required with --messages 0, which keeps "
                          "sending; optional otherwise).")
    run.add_argument("--json", action="store_true", dest="as_json",
                     help="Print one JSON summary object.")
    run.add_argument("--events", action="store_true",
                     help="Print the event stream as JSON lines (with --json, the summary "
                          "follows as the last line).")
    _protocol_flags(run)
    _option_flags(run)
    run.set_defaults(run_parser=run)
    shape = sub.add_parser(
        "manifest",
        help="print the protocol's manifest (lanes, nodes, links, packet kinds, event types) "
             "as JSON",
        description="Print the manifest a page draws from (docs/protocols.md).")
    _protocol_flags(shape)
    shape.set_defaults(run_parser=shape)
    sweep = sub.add_parser(
        "sweep",
        help="vary one setting across a range for several semantics and print the rates",
        description="Run the classic model for every value of one setting, every semantics and "
                    "several seeds, and print per value and semantics the mean lost, "
                    "duplicated, transmissions and out-of-order rates per message with a 95%% "
                    "confidence interval, beside the closed form where one holds "
                    "(docs/sweeps.md). Every other setting is a flag, as for run.",
    )
    _setting_flags(sweep)
    sweep.add_argument("--vary", metavar="SETTING=SPEC", required=True,
                       help="The setting to vary and its values: A:B:N (N values from A to B) "
                            "or a,b,c. One of: " + ", ".join(SWEEPABLE) + ".")
    sweep.add_argument("--semantics-list", metavar="S,S", dest="semantics_list",
                       default=",".join(SEMANTICS),
                       help="The semantics to run each value under (default all three).")
    sweep.add_argument("--seeds", metavar="K", default="3",
                       help="Runs per value and semantics, seeds S, S+1, ... (default 3).")
    sweep.add_argument("--jobs", metavar="N", default=None,
                       help="Processes to run the points in (default: every core).")
    sweep.add_argument("--csv", action="store_true", help="Print CSV instead of a table.")
    sweep.set_defaults(run_parser=sweep)
    return parser


def _setting_flags(parser: argparse.ArgumentParser) -> None:
    """A flag for every setting of the schema (the run's, and a sweep's base)."""
    for f in FIELDS:
        if f.name in LATENCY_FIELDS:
            if f.name == "latency_min":
                lo, hi = FIELD_BY_NAME["latency_min"], FIELD_BY_NAME["latency_max"]
                parser.add_argument(
                    LATENCY_FLAG, metavar="MIN:MAX", dest="latency",
                    help="One-way latency drawn uniformly from [MIN, MAX] ms; a single number "
                         f"means a fixed latency (default {_fmt(lo.default)}:{_fmt(hi.default)}; "
                         f"each from {_fmt(lo.minimum)} to {_fmt(lo.maximum)}).")
            continue
        if f.kind == "options":
            continue  # each protocol's options get flags of their own (_option_flags)
        if f.kind == "faults":
            parser.add_argument(FAULT_FLAG, metavar="SPEC", dest="faults", action="append",
                             help="A scheduled fault, repeatable: drop:data:3, drop:ack:1, "
                                  "delay:data:2:+1500, crash:consumer@4000 (docs/faults.md).")
            continue
        metavar = ("{" + ",".join(f.choices) + "}" if f.choices
                   else METAVARS.get(f.name, METAVARS[f.kind]))
        parser.add_argument(flag_for(f.name), dest=f.name, metavar=metavar, help=_help(f))



def _protocol_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", metavar="NAME", default=None,
                        help="The protocol to run: " + ", ".join(protocols.names()) + " "
                             "(default: classic, also called plain: the model of producer, "
                             "network and consumer; the others are protocol presets with a "
                             "broker, docs/presets.md).")
    parser.add_argument("--protocol-module", metavar="MODULE", action="append", default=[],
                        dest="protocol_modules",
                        help="Import MODULE first so the protocols it defines register "
                             "(repeatable).")


def _option_flags(parser: argparse.ArgumentParser) -> None:
    """A flag for each option of each built-in protocol (``--qos``, ``--auto-ack``, ...): the
    run refuses one its protocol does not have."""
    owners: dict[str, list[str]] = {}
    fields: dict[str, Field] = {}
    for name in protocols.names():
        for f in protocols.get(name).options:
            owners.setdefault(f.name, []).append(name)
            fields.setdefault(f.name, f)
    group = parser.add_argument_group("protocol options (each for the protocols named)")
    for name, f in fields.items():
        flag = flag_for(name)
        whose = f" [--protocol {' / '.join(owners[name])}]"
        if f.kind == "bool":
            group.add_argument(flag, dest=f"option_{name}", default=None,
                               action=argparse.BooleanOptionalAction,
                               help=f.help.replace("%", "%%") + whose)
            continue
        metavar = ("{" + ",".join(map(str, f.choices)) + "}" if f.choices
                   else METAVARS.get(f.kind, "X"))
        group.add_argument(flag, dest=f"option_{name}", metavar=metavar, default=None,
                           help=_help(f) + whose)


def options_from_args(args: argparse.Namespace, protocol) -> dict:
    """The protocol options given as flags; a flag of another protocol is refused."""
    mine = {f.name: f for f in protocol.options}
    out: dict = {}
    for key, value in vars(args).items():
        if not key.startswith("option_") or value is None:
            continue
        name = key[len("option_"):]
        f = mine.get(name)
        if f is None:
            raise FlagError(flag_for(name), f"is not an option of --protocol {protocol.name}")
        out[name] = value if f.kind in ("bool", "choice") else _number(flag_for(name), value)
    return out


def protocol_from_args(args: argparse.Namespace):
    for module in args.protocol_modules:
        try:
            protocols.load(module)
        except ImportError as exc:
            raise FlagError("--protocol-module", f"cannot import {module!r}: {exc}") from None
    try:
        return protocols.get(args.protocol)
    except KeyError:
        raise FlagError("--protocol", f"unknown protocol {args.protocol!r}; known: "
                                      f"{', '.join(protocols.names())}") from None


class FlagError(Exception):
    """A flag's value was refused; ``flag`` names it."""

    def __init__(self, flag: str, message: str):
        super().__init__(f"{flag}: {message}")
        self.flag = flag
        self.message = message


def _number(flag: str, text: str) -> int | float:
    """Read a number as typed; the schema decides whether it must be whole and in range."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise FlagError(flag, f"must be a number, not {text!r}") from None


def _latency(text: str) -> dict:
    parts = text.split(":")
    if len(parts) == 1:
        parts = [text, text]
    if len(parts) != 2 or not all(parts):
        raise FlagError(LATENCY_FLAG, f"expected MIN:MAX such as 300:900, not {text!r}")
    return {"latency_min": _number(LATENCY_FLAG, parts[0]),
            "latency_max": _number(LATENCY_FLAG, parts[1])}


def config_from_args(args: argparse.Namespace, protocol=None) -> Config:
    """Turn parsed flags into a validated Config; raise FlagError naming the flag.
    ``protocol`` (the run's) takes the protocol option flags."""
    data: dict = {}
    if protocol is not None:
        options = options_from_args(args, protocol)
        if options:
            data["options"] = options
    for f in FIELDS:
        if f.name in LATENCY_FIELDS or f.kind == "options":
            continue
        value = getattr(args, f.name, None)
        if value is None:
            continue
        if f.kind == "faults" or f.kind == "choice":
            data[f.name] = value
        else:
            data[f.name] = _number(flag_for(f.name), value)
    if args.latency is not None:
        data.update(_latency(args.latency))
    try:
        return Config.from_dict(data)
    except ConfigError as exc:
        raise FlagError(flag_for(exc.field), _message(exc)) from None


def _message(exc: ConfigError) -> str:
    """The schema's message, worded for the flag that carries it."""
    if exc.field == "latency_min":
        return f"MIN {exc.message}"
    if exc.field == "latency_max":
        return "MAX must be at least MIN" if "latency_min" in exc.message else \
            f"MAX {exc.message}"
    return exc.message


def until_from_args(args: argparse.Namespace, config: Config) -> float | None:
    until = None
    if args.until is not None:
        until = float(_number(UNTIL_FLAG, args.until))
        if not math.isfinite(until) or until < 0 or until > MAX_TIME:
            raise FlagError(UNTIL_FLAG, f"must be a time from 0 to {MAX_TIME} ms")
    if config.messages == 0 and until is None:
        raise FlagError("--messages", f"0 keeps sending forever; add {UNTIL_FLAG} T to end "
                                      "the run at simulated time T")
    return until


def iter_events(sim: Simulation, until: float | None) -> Iterator[dict]:
    """Every event of the run, as it happens, without keeping the history."""
    if until is None:
        while True:
            batch = sim.step()
            if not batch:
                return
            yield from batch
    while True:
        t = sim.next_time()
        if t is None or t > until:
            break
        yield from sim.run_until(t)
    yield from sim.run_until(until)


def trace_header(protocol: str, config: Config, log: tuple = ()) -> dict:
    """The first line of a trace: what it is, and the run specification of the run whose events
    follow (its protocol, settings and live changes: docs/events.md, "Traces")."""
    from .runspec import RunSpec

    return {"trace": TRACE_FORMAT, "v": TRACE_VERSION, "protocol": protocol,
            "run": RunSpec(config, tuple(log), None, protocol).to_text()}


def dump(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def format_table(config: Config, summary: dict, until: float | None,
                 notes: list[dict] = ()) -> str:
    head = (f"{config.semantics}, ordering {config.ordering}, "
            f"{config.messages or 'unlimited'} messages, seed {config.seed}")
    if until is not None:
        head += f", stopped at t={_fmt(until)} ms"
    rows = []
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        elif isinstance(value, float):
            value = _fmt(round(value, 3))
        rows.append((key, str(value), LABELS.get(key, "")))
    kw = max((len(r[0]) for r in rows), default=0)
    vw = max((len(r[1]) for r in rows), default=0)
    lines = [head, ""]
    lines += [f"  {k:<{kw}}  {v:>{vw}}  {label}".rstrip() for k, v, label in rows]
    for note in notes:
        lines += ["", f"{note['level']} ({flag_for(note['field'])}): {note['text']}"]
    return "\n".join(lines) + "\n"


def run_command(args: argparse.Namespace, out: IO[str]) -> int:
    protocol = protocol_from_args(args)
    config = config_from_args(args, protocol)
    until = until_from_args(args, config)
    # a summary of a whole run needs no events at all (the summary-only run, counting.py)
    whole = not args.events and until is None
    try:
        # checks the faults' node and packet names; a summary alone needs no sentences
        sim = Simulation(config, protocol, narrate=args.events, counts_only=whole)
    except ConfigError as exc:
        raise FlagError(flag_for(exc.field), _message(exc)) from None
    if args.events:
        write = out.write
        write(dump(trace_header(protocol.name, config)) + "\n")
        for ev in iter_events(sim, until):
            write(dump(ev) + "\n")
    elif whole:
        sim.finish()
    else:
        for _ in iter_events(sim, until):
            pass
    summary = sim.summary()
    if args.as_json:
        out.write(dump(summary) + "\n")
    elif not args.events and protocol.name == "classic":
        out.write(format_table(config, summary, until, advice(config)))
    elif not args.events:
        width = max(map(len, summary))
        out.write("".join(f"{k:<{width}}  {v}\n" for k, v in summary.items()))
    out.flush()
    return 0


def sweep_command(args: argparse.Namespace, out: IO[str]) -> int:
    """``sweep``: every point in a process pool of ``--jobs`` (every core by default)."""
    import csv
    import multiprocessing

    from . import sweep as S

    setting, sep, spec = args.vary.partition("=")
    if not sep:
        raise FlagError("--vary", "expected SETTING=SPEC, e.g. loss=0:0.5:6")
    config = config_from_args(args)
    base = {k: v for k, v in config.to_dict().items() if k not in ("options",)}
    base.pop(setting, None)
    semantics = [s for s in args.semantics_list.split(",") if s]
    try:
        values = S.values_of(spec, setting)
        seeds = int(args.seeds)
    except ConfigError as exc:
        raise FlagError("--vary", exc.message) from None
    except ValueError:
        raise FlagError("--seeds", f"must be a whole number, not {args.seeds!r}") from None
    jobs = os.cpu_count() or 1
    if args.jobs is not None:
        if not args.jobs.isdigit() or not 1 <= int(args.jobs) <= 256:
            raise FlagError("--jobs", "must be a whole number from 1 to 256")
        jobs = int(args.jobs)
    try:
        if jobs > 1:
            with multiprocessing.get_context("spawn").Pool(jobs) as pool:
                # one point at a time: points differ in cost, so chunks would leave cores idle
                rows = S.sweep(base, setting, values, semantics, seeds,
                               lambda fn, jobs: pool.map(fn, jobs, chunksize=1))
        else:
            rows = S.sweep(base, setting, values, semantics, seeds)
    except ConfigError as exc:
        flag = {"semantics": "--semantics-list", "seeds": "--seeds"}.get(exc.field, "--vary")
        raise FlagError(flag, exc.message) from None
    if args.csv:
        csv.writer(out, lineterminator="\n").writerows(S.csv_rows(rows, setting))
    else:
        cells = S.table(rows, setting)
        widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
        for r in cells:
            out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                      + "\n")
    out.flush()
    return 0


def main(argv: list[str] | None = None, out: IO[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command not in ("run", "manifest", "sweep"):
        parser.print_help(sys.stderr)
        return 2
    out = out or sys.stdout
    try:
        if args.command == "manifest":
            out.write(json.dumps(protocol_from_args(args).manifest(), indent=1) + "\n")
            return 0
        if args.command == "sweep":
            return sweep_command(args, out)
        return run_command(args, out)
    except FlagError as exc:
        args.run_parser.error(str(exc))  # prints the usage line and exits with status 2
    except BrokenPipeError:
        # The reader stopped early (e.g. `| head`): not an error of the run.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0
