"""Sweeps (simulator/sweep.py and ``python -m simulator sweep``): the measured rates agree with
the closed forms of docs/sweeps.md within their statistical tolerance wherever those hold, no
curve is claimed where they do not (with the reason), and the command line prints the same
table whether it runs the points in one process or several."""

from __future__ import annotations

import csv
import io

import pytest

from simulator import sweep as S
from simulator.cli import main as cli_main
from simulator.config import ConfigError

QUIET = {"duplicate": 0.0, "messages": 8_000, "seed": 11}


@pytest.mark.parametrize(("loss", "ack_loss", "retries"),
                         [(0.1, 0.1, 5), (0.3, 0.2, 2), (0.5, 0.0, 1), (0.25, 0.4, 3)])
def test_measured_rates_agree_with_the_closed_form(loss, ack_loss, retries):
    base = {**QUIET, "ack_loss": ack_loss, "max_retries": retries}
    rows = S.sweep(base, "loss", [loss], ["at-most-once", "at-least-once", "exactly-once"], 4)
    for row in rows:
        assert row.expected is not None, row.why_not
        for rate in ("lost", "duplicated", "transmissions"):
            measured, expected = row.mean[rate], row.expected[rate]
            # four seeds of 8,000 messages: the 95% interval, widened to 3 of it, plus a floor
            # for rates near zero whose seeds agree exactly
            assert abs(measured - expected) <= 3 * row.half[rate] + 0.004, (
                row.semantics, rate, measured, expected, row.half[rate])


def test_the_closed_forms_are_the_derived_ones():
    got, _ = S.expected({"loss": 0.25, "ack_loss": 0.2, "max_retries": 2, "duplicate": 0},
                        "at-least-once")
    s = 1 - 0.75 * 0.8
    assert got["lost"] == pytest.approx(0.25 ** 3)
    assert got["transmissions"] == pytest.approx(1 + s + s * s)
    assert got["duplicated"] == pytest.approx(0.75 * (1 + s + s * s) - (1 - 0.25 ** 3))
    assert S.expected({"loss": 0.25, "duplicate": 0}, "at-most-once")[0] == {
        "lost": 0.25, "duplicated": 0.0, "transmissions": 1.0}
    assert S.expected({"loss": 0.25, "duplicate": 0}, "exactly-once")[0]["duplicated"] == 0.0


@pytest.mark.parametrize(("settings", "semantics", "why"), [
    ({"duplicate": 0.05}, "at-least-once", "duplicates"),
    ({"duplicate": 0, "process_fail": 0.1}, "at-least-once", "processing fails"),
    ({"duplicate": 0, "faults": ["crash:consumer@3000"]}, "exactly-once", "scheduled faults"),
    ({"duplicate": 0, "ordering": "sequence"}, "at-least-once", "skip or hold"),
    ({"duplicate": 0, "max_retries": -1}, "at-least-once", "never gives up"),
    ({"duplicate": 0, "timeout": 1500}, "at-least-once", "after the timeout"),
    ({"duplicate": 0, "dedup_store": "memory"}, "exactly-once", "forgets"),
])
def test_no_curve_is_claimed_where_its_conditions_do_not_hold(settings, semantics, why):
    got, reason = S.expected(settings, semantics)
    assert got is None and why in reason


def test_the_timing_condition_is_real():
    """With a timeout shorter than the longest round trip, late answers make resends the
    closed form does not count: the measured transmissions exceed it, which is why the sweep
    draws no curve there."""
    base = {**QUIET, "ack_loss": 0.1, "timeout": 1000, "max_retries": 3}
    row, = S.sweep(base, "loss", [0.1], ["at-least-once"], 2)
    assert row.expected is None
    would, _ = S.expected({**base, "timeout": 5000, "loss": 0.1}, "at-least-once")
    assert row.mean["transmissions"] > would["transmissions"] + 0.05


def test_values_are_read_and_checked_by_the_schema():
    assert S.values_of("0:0.5:6", "loss") == [0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert S.values_of("1,3,3,5", "max_retries") == [1, 3, 5]
    for spec, setting in (("0:2:3", "loss"), ("a:b:c", "loss"), ("0:1:1", "loss"),
                          ("1,2", "semantics"), ("", "loss")):
        with pytest.raises(ConfigError) as err:
            S.values_of(spec, setting)
        assert err.value.field in ("vary", "loss")


def test_the_command_line_prints_the_same_table_in_one_process_or_two(capsys):
    args = ["sweep", "--vary", "loss=0:0.4:3", "--messages", "2000", "--seeds", "2",
            "--duplicate", "0", "--csv"]
    assert cli_main([*args, "--jobs", "1"]) == 0
    one = capsys.readouterr().out
    assert cli_main([*args, "--jobs", "2"]) == 0
    assert capsys.readouterr().out == one
    rows = list(csv.reader(io.StringIO(one)))
    assert rows[0][:2] == ["loss", "semantics"] and len(rows) == 1 + 3 * 3
    assert {r[1] for r in rows[1:]} == {"at-most-once", "at-least-once", "exactly-once"}
    assert cli_main(["sweep", "--vary", "loss=0:0.2:2", "--messages", "500", "--seeds", "1",
                     "--jobs", "1"]) == 0
    table = capsys.readouterr().out
    assert "expected lost" in table and "the network duplicates" in table


def test_bad_sweep_flags_are_refused_by_name(capsys):
    for argv, flag in ((["--vary", "semantics=0:1:2"], "--vary"),
                       (["--vary", "loss"], "--vary"),
                       (["--vary", "loss=0:0.2:2", "--seeds", "x"], "--seeds"),
                       (["--vary", "loss=0:0.2:2", "--jobs", "0"], "--jobs"),
                       (["--vary", "loss=0:0.2:2", "--semantics-list", "maybe"],
                        "--semantics-list")):
        with pytest.raises(SystemExit):
            cli_main(["sweep", *argv, "--messages", "100"])
        assert f"{flag}:" in capsys.readouterr().err
