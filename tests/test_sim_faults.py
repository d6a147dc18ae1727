"""Message-addressed faults: the same message is hit whatever the semantics or the retries."""

from __future__ import annotations

import pytest
from simhelpers import calm, of, run

from simulator import ConfigError, Simulation, parse_fault


def test_the_grammar_reads_message_and_attempt():
    f = parse_fault("drop:ack:msg=3:attempt=2")
    assert (f.action, f.kind, f.msg, f.attempt, f.nth) == ("drop", "ack", 3, 2, None)
    d = parse_fault("delay:data:msg=4:+1500")
    assert (d.msg, d.attempt, d.delay) == (4, None, 1500.0)
    for bad, says in (("drop:data:msg=0", "msg must be"), ("drop:data:msg=x", "msg must be"),
                      ("drop:ack:msg=3:attempt=0", "attempt must be"),
                      ("drop:data:msg=3:extra", "expected"), ("delay:data:msg=3", "expected")):
        with pytest.raises(ValueError, match=says):
            parse_fault(bad)


def test_a_message_fault_hits_that_message_under_every_semantics_while_n_shifts():
    # message 1's first data packet is dropped; under a semantics that resends, its retry
    # shifts the count of data packets, so "the 3rd data packet" is another message there
    hit = {}
    for semantics in ("at-most-once", "at-least-once", "exactly-once"):
        _, events = run(calm(semantics=semantics, messages=6,
                             faults=("drop:data:1", "drop:data:msg=4")))
        dropped = of(events, "drop", reason="scheduled")
        hit[semantics] = sorted(e["msg"] for e in dropped)
        assert any("the data packet of message 4, attempt 1" in e["text"]
                   for e in of(events, "fault_injected"))
    assert hit == {s: [1, 4] for s in hit}
    nth = {}
    for semantics in ("at-most-once", "at-least-once"):
        _, events = run(calm(semantics=semantics, interval=400.0, timeout=500.0,
                             faults=("drop:data:1", "drop:data:3")))
        nth[semantics] = sorted(e["msg"] for e in of(events, "drop", reason="scheduled"))
    assert nth["at-most-once"] != nth["at-least-once"], "the N-th packet is another message"


def test_an_attempt_names_the_retry():
    _, events = run(calm(messages=1, faults=("drop:ack:msg=1:attempt=1",
                                             "drop:ack:msg=1:attempt=2")))
    assert [e["attempt"] for e in of(events, "ack_drop")] == [1, 2]
    assert len(of(events, "retry")) == 2


def test_a_live_message_fault_on_a_packet_already_sent_is_refused():
    sim = Simulation(calm(messages=5))
    sim.run_until(250)  # messages 1..3 sent
    with pytest.raises(ConfigError, match="already sent"):
        sim.inject("drop:data:msg=2")
    sim.inject("drop:data:msg=5")
    events = sim.run()
    assert [e["msg"] for e in of(events, "drop", reason="scheduled")] == [5]
