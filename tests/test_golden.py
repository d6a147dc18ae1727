"""Golden event streams: every pinned run is byte-identical to its recorded hash."""

from __future__ import annotations

import json

import pytest
from golden_runs import FILE, LIVE, RUNS, digests


def test_every_golden_run_is_pinned():
    assert set(json.loads(FILE.read_text())) == set(RUNS) | set(LIVE)


def test_every_golden_stream_is_byte_identical():
    pinned = json.loads(FILE.read_text())
    now = digests()
    changed = [name for name in pinned if pinned[name] != now[name]]
    assert not changed, f"streams changed: {changed} (see tests/golden_runs.py)"


def test_the_golden_runs_cover_every_event_type():
    from golden_runs import stream

    from simulator import EVENT_TYPES
    seen = set()
    for name in [*RUNS, *LIVE]:
        seen |= {json.loads(line)["type"] for line in stream(name).splitlines()}
    missing = set(EVENT_TYPES) - seen
    if missing:
        pytest.fail(f"no golden run makes {sorted(missing)}")
