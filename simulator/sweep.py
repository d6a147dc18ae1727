"""Sweeps: one setting varied across a range, for several semantics, many messages per point.

A point is the classic model run to its end making no events (``counts_only``: the same model,
its counters alone, ``counting.py``) from the base settings with one setting changed and one
seed; a sweep runs every point (value x semantics x seed), across processes when asked, and
gives per value and semantics the mean of each rate per message over the seeds with a 95%
confidence interval, and the closed-form expectation where one exists (``expected``;
docs/sweeps.md derives it and its conditions).

Pure: no I/O, no clock; the same arguments give the same table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .config import FIELD_BY_NAME, SEMANTICS, Config, ConfigError

# What may be swept, and what each measures against.
SWEEPABLE = ("loss", "ack_loss", "timeout", "max_retries", "latency_max", "dedup_window",
             "duplicate", "process_fail", "interval")
RATES = ("lost", "duplicated", "transmissions", "out_of_order")
MAX_POINTS = 10_000


@dataclass(frozen=True)
class Point:
    value: float
    semantics: str
    seed: int


def run_point(base: dict, setting: str, point: Point) -> dict[str, float]:
    """One run of ``point``: the rates per message sent (lost, processed again, data packets
    sent, processed out of order)."""
    from .engine import Simulation

    config = Config.from_dict({**base, setting: point.value, "semantics": point.semantics,
                               "seed": point.seed})
    sim = Simulation(config, counts_only=True)
    sim.finish()
    s = sim.summary()
    sent = max(1, s["sent"])
    return {"lost": s["lost"] / sent, "duplicated": s["duplicates"] / sent,
            "transmissions": s["transmissions"] / sent,
            "out_of_order": s["out_of_order_processed"] / sent}


def _one(job: tuple) -> dict[str, float]:
    return run_point(*job)


@dataclass(frozen=True)
class Row:
    """The measured rates of one value and semantics: mean and 95% half-width over seeds, and
    the closed form (None where no closed form holds, with why)."""

    value: float
    semantics: str
    mean: dict
    half: dict
    expected: dict | None
    why_not: str


def values_of(spec: str, setting: str) -> list[float]:
    """``A:B:N`` (N evenly spaced values from A to B) or ``a,b,c``, each checked by the
    setting's schema (a ``ConfigError`` names the setting)."""
    field = FIELD_BY_NAME.get(setting)
    if setting not in SWEEPABLE or field is None:
        raise ConfigError("vary", f"{setting!r} cannot be swept; choose one of "
                                  f"{', '.join(SWEEPABLE)}")
    try:
        if ":" in spec:
            a, b, n = spec.split(":")
            count = int(n)
            if not 2 <= count <= 100:
                raise ConfigError("vary", "N must be from 2 to 100 values")
            lo, hi = float(a), float(b)
            values = [lo + (hi - lo) * i / (count - 1) for i in range(count)]
        else:
            values = [float(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise ConfigError("vary", f"{spec!r}: give A:B:N or a list a,b,c of numbers") from None
    if not values:
        raise ConfigError("vary", "no values")
    out = []
    for v in values:
        v = int(round(v)) if field.kind == "int" else round(v, 6)
        Config.from_dict({setting: v})  # the schema's range
        if v not in out:
            out.append(v)
    return out


def sweep(base: dict, setting: str, values: Iterable[float], semantics: Iterable[str],
          seeds: int, pool_map: Callable | None = None) -> list[Row]:
    """Every point, then a row per value and semantics. ``pool_map`` maps a function over jobs
    (a process pool's ``map``); without it, points run here, one after another."""
    values, semantics = list(values), list(semantics)
    for s in semantics:
        if s not in SEMANTICS:
            raise ConfigError("semantics", f"must be among {', '.join(SEMANTICS)}")
    if not 1 <= seeds <= 1000:
        raise ConfigError("seeds", "must be from 1 to 1000")
    first = int(base.get("seed", 1))
    points = [Point(v, s, first + k) for v in values for s in semantics for k in range(seeds)]
    if len(points) > MAX_POINTS:
        raise ConfigError("vary", f"at most {MAX_POINTS} runs (values x semantics x seeds)")
    Config.from_dict(base)
    jobs = [(base, setting, p) for p in points]
    results = list((pool_map or map)(_one, jobs))
    rows = []
    for v in values:
        for s in semantics:
            got = [r for p, r in zip(points, results, strict=True)
                   if p.value == v and p.semantics == s]
            mean = {k: sum(r[k] for r in got) / len(got) for k in RATES}
            half = {k: _half_width([r[k] for r in got]) for k in RATES}
            exp, why = expected({**base, setting: v}, s)
            rows.append(Row(v, s, mean, half, exp, why))
    return rows


def _half_width(xs: list[float]) -> float:
    """The 95% confidence half-width of the mean of ``xs`` (Student's t; 0 for one seed)."""
    n = len(xs)
    if n < 2:
        return 0.0
    m = sum(xs) / n
    var = sum((x - m) ** 2 for x in xs) / (n - 1)
    return _T95.get(n - 1, 1.96) * math.sqrt(var / n)


_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}


def expected(settings: dict, semantics: str) -> tuple[dict | None, str]:
    """The closed-form rates per message for ``settings`` under ``semantics``, or None and why
    none holds (docs/sweeps.md derives them). With data loss p, answer loss q and R retries:
    lost p^(R+1) (p at most once), data packets sent per message sum_{k=0..R} s^k with
    s = 1 - (1-p)(1-q), processed again (1-p) * that - (1 - p^(R+1)) under at-least-once, 0
    under exactly-once and at most once."""
    cfg = Config.from_dict(settings)
    if cfg.duplicate:
        return None, "the network duplicates"
    if cfg.process_fail:
        return None, "processing fails (nacks)"
    if cfg.faults:
        return None, "scheduled faults"
    if cfg.ordering != "none":
        return None, "a reorder buffer or state machine may skip or hold messages"
    if cfg.max_retries < 0:
        return None, "the producer never gives up"
    if cfg.messages == 0:
        return None, "the run keeps sending"
    shortest = cfg.timeout * (1 - cfg.backoff_jitter)  # the shortest wait for an answer
    if semantics != "at-most-once" and shortest <= 2 * cfg.latency_max + cfg.process_time:
        return None, "an answer can come after the timeout (a wait <= the longest round trip)"
    if semantics == "exactly-once" and (cfg.dedup_window or cfg.dedup_ttl or
                                        cfg.dedup_store == "memory" or
                                        cfg.dedup_record != "atomic"):
        return None, "the dedup store forgets, or records apart from the effect"
    p, q, r = cfg.loss, cfg.ack_loss, cfg.max_retries
    if semantics == "at-most-once":
        return {"lost": p, "duplicated": 0.0, "transmissions": 1.0}, ""
    s = 1 - (1 - p) * (1 - q)
    sends = sum(s ** k for k in range(r + 1))
    lost = p ** (r + 1)
    dup = (1 - p) * sends - (1 - lost) if semantics == "at-least-once" else 0.0
    return {"lost": lost, "duplicated": dup, "transmissions": sends}, ""


def table(rows: list[Row], setting: str) -> list[list[str]]:
    """The sweep as rows of text: a header, then per value and semantics the measured rates
    (mean ± half-width) and the closed form, or why there is none."""
    out = [[setting, "semantics", "lost", "duplicated", "transmissions", "out_of_order",
            "expected lost", "expected duplicated", "expected transmissions"]]
    for row in rows:
        cells = [_num(row.value), row.semantics]
        cells += [f"{row.mean[k]:.4f} ± {row.half[k]:.4f}" for k in RATES]
        if row.expected is None:
            cells += [f"- ({row.why_not})", "-", "-"]
        else:
            cells += [f"{row.expected[k]:.4f}" for k in ("lost", "duplicated", "transmissions")]
        out.append(cells)
    return out


def csv_rows(rows: list[Row], setting: str) -> list[list]:
    """The sweep as plain values for a CSV file: one row per value and semantics."""
    head = [setting, "semantics"] + [f"{k}_mean" for k in RATES] + [f"{k}_ci95" for k in RATES]
    head += ["expected_lost", "expected_duplicated", "expected_transmissions", "no_closed_form"]
    out: list[list] = [head]
    for row in rows:
        exp = row.expected or {}
        out.append([row.value, row.semantics, *[round(row.mean[k], 6) for k in RATES],
                    *[round(row.half[k], 6) for k in RATES],
                    *[round(exp[k], 6) if k in exp else "" for k in
                      ("lost", "duplicated", "transmissions")], row.why_not])
    return out


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
