"""The Kafka preset held against the documentation: every fault case of ``kafka_cases.py`` gives
the packets on each hop, the log and what the consumer's application processes that Kafka's
documentation, KIP-98 and librdkafka's idempotent producer say it must; and the rules around
them (the partition's window of 5 batches, epochs, the in-flight cap, request timeouts, broker
and producer restarts, commits before or after processing) hold in the model."""

from __future__ import annotations

import pytest

from simulator import Config, ConfigError, Simulation
from simulator.cli import main as cli_main
from simulator.protocols import get
from simulator.protocols.kafka.partition import (
    APPENDED,
    DUPLICATE,
    INVALID_EPOCH,
    OUT_OF_ORDER,
    Partition,
)
from tests.kafka_cases import CASES, outcome
from tests.kafka_sim import refusal_seed, run_case, wire

# The packets of each case on hop 1 | hop 2, in the order they go on the wire. Produce[R eEsS]
# is record R's batch at epoch E with sequence S (none without idempotence); ``again`` a resend;
# ProduceResponse[R @O] the offset it was written at, ``dup@O`` a retry found among the last 5
# batches (written nothing, answered with the first offset); ✗ lost on the wire, † died with
# its connection. As the sources have it: a resend after a lost connection keeps PID, epoch and
# sequence (KIP-98); a retry whose sequence the partition has is answered with its offset and
# not written again; without idempotence it is written again (Kafka docs, Design 4.6); a new
# producer gets a new PID and its resend is a new record; a batch that skips a sequence is
# refused with OUT_OF_ORDER_SEQUENCE_NUMBER, and librdkafka drains, bumps its own epoch (no
# request: the broker sees it in the next batch) and sends both again from sequence 0
# (librdkafka INTRODUCTION.md, rdkafka_idempotence.c); the consumer fetches from its position,
# commits the next offset to read, and a new consumer reads on from the committed offset
# (OffsetFetch).
WIRE = {
    "nothing-lost": (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0] ProduceResponse[1 @0] "
        "Produce[2 e0s1] ProduceResponse[2 @1] Produce[3 e0s2] ProduceResponse[3 @2]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] Fetch[@1] "
        "OffsetCommit[1] FetchResponse[2] OffsetCommitResponse[1] Fetch[@2] OffsetCommit[2] "
        "FetchResponse[3] OffsetCommitResponse[2] Fetch[@3] OffsetCommit[3] "
        "OffsetCommitResponse[3]"),
    "produce-lost-idempotent": (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0]✗ Produce[1 e0s0 again] "
        "ProduceResponse[1 @0]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] Fetch[@1] "
        "OffsetCommit[1] OffsetCommitResponse[1]"),
    "produce-lost-not-idempotent": (
        "Produce[1]✗ Produce[1 again] ProduceResponse[1 @0]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] Fetch[@1] "
        "OffsetCommit[1] OffsetCommitResponse[1]"),
    "response-lost-idempotent": (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0] ProduceResponse[1 @0]✗ "
        "Produce[1 e0s0 again] ProduceResponse[1 dup@0]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] Fetch[@1] "
        "OffsetCommit[1] OffsetCommitResponse[1]"),
    "response-lost-not-idempotent": (
        "Produce[1] ProduceResponse[1 @0]✗ Produce[1 again] ProduceResponse[1 @1]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] Fetch[@1] "
        "OffsetCommit[1] OffsetCommitResponse[1] FetchResponse[1] Fetch[@2] OffsetCommit[2] "
        "OffsetCommitResponse[2]"),
    "producer-restart-idempotent": (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0] ProduceResponse[1 @0]† "
        "InitProducerId InitProducerIdResponse[1001 e0] Produce[1 e0s0 again] "
        "ProduceResponse[1 @1]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] Fetch[@1] "
        "OffsetCommit[1] OffsetCommitResponse[1] FetchResponse[1] Fetch[@2] OffsetCommit[2] "
        "OffsetCommitResponse[2]"),
    "producer-restart-not-idempotent": (
        "Produce[1] ProduceResponse[1 @0]† Produce[1 again] ProduceResponse[1 @1]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] Fetch[@1] "
        "OffsetCommit[1] FetchResponse[1] OffsetCommitResponse[1] Fetch[@2] OffsetCommit[2] "
        "OffsetCommitResponse[2]"),
    "sequence-gap-idempotent": (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0] ProduceResponse[1 @0] "
        "Produce[2 e0s1] ProduceResponse[2 NOT_ENOUGH_REPLICAS] Produce[3 e0s2] "
        "ProduceResponse[3 OUT_OF_ORDER_SEQUENCE_NUMBER] Produce[2 e1s0 again] "
        "Produce[3 e1s1 again] ProduceResponse[2 @1] ProduceResponse[3 @2]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] Fetch[@1] "
        "OffsetCommit[1] OffsetCommitResponse[1] FetchResponse[2] Fetch[@2] OffsetCommit[2] "
        "FetchResponse[3] OffsetCommitResponse[2] Fetch[@3] OffsetCommit[3] "
        "OffsetCommitResponse[3]"),
    "sequence-gap-not-idempotent": (
        "Produce[1] ProduceResponse[1 @0] Produce[2] ProduceResponse[2 NOT_ENOUGH_REPLICAS] "
        "Produce[3] Produce[2 again] ProduceResponse[3 @1] ProduceResponse[2 @2]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] Fetch[@1] "
        "OffsetCommit[1] FetchResponse[3] OffsetCommitResponse[1] Fetch[@2] OffsetCommit[2] "
        "FetchResponse[2] OffsetCommitResponse[2] Fetch[@3] OffsetCommit[3] "
        "OffsetCommitResponse[3]"),
    "first-batch-refused-idempotent": (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0] "
        "ProduceResponse[1 NOT_ENOUGH_REPLICAS] Produce[2 e0s1] ProduceResponse[2 @0]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[2] Fetch[@1] "
        "OffsetCommit[1] OffsetCommitResponse[1]"),
    "fetch-response-lost": (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0] ProduceResponse[1 @0]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1]✗ Fetch[@0] "
        "FetchResponse[1] Fetch[@1] OffsetCommit[1] OffsetCommitResponse[1]"),
    "consumer-crash-commit-before": (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0] ProduceResponse[1 @0]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] OffsetCommit[1] "
        "Fetch[@1] OffsetCommitResponse[1] OffsetFetch OffsetFetchResponse[1] Fetch[@1]"),
    "consumer-crash-commit-after": (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0] ProduceResponse[1 @0]",
        "OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] Fetch[@1]† "
        "OffsetCommit[1]† OffsetFetch OffsetFetchResponse[none] Fetch[@0] FetchResponse[1] "
        "Fetch[@1] OffsetCommit[1] OffsetCommitResponse[1]"),
}


def test_the_table_covers_every_case():
    assert set(WIRE) == {c.id for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_fault_case(case):
    seen, events, _ = run_case(case)
    assert seen.outcome(case.messages) == case.expect == outcome(case.processed,
                                                                 case.messages), case.cite
    assert (seen.log, seen.processed) == (case.log, case.processed), case.cite
    assert (seen.requests, seen.producer_ids) == (case.requests, case.producer_ids)
    hops = wire(events)
    assert (" ".join(hops[1]), " ".join(hops[2])) == WIRE[case.id], case.cite


def _kafka(messages=1, faults=(), seed=7, interval=400.0, process_time=50.0, **options):
    opts = {"hop1_loss": 0, "hop2_loss": 0, **options}
    return Simulation(Config.from_dict({"seed": seed, "messages": messages, "interval": interval,
                                        "process_time": process_time, "faults": list(faults),
                                        "options": opts}), "kafka")


def _types(events, type_):
    return [ev for ev in events if ev["type"] == type_]


# --- the partition's rules ----------------------------------------------------------------------
def test_the_partition_remembers_the_last_5_batches_of_each_producer():
    part = Partition()
    pid, epoch = part.init_producer_id()
    for seq in range(7):
        assert part.check(pid, epoch, seq)[0] == APPENDED
        part.append(100 + seq, pid, epoch, seq)
    # the last five (sequences 2..6) are answered with their offsets, written nothing
    for seq in range(2, 7):
        assert part.check(pid, epoch, seq) == (DUPLICATE, seq, None)
    # older than the window: too old to tell, refused (as Kafka's checkSequence does)
    assert part.check(pid, epoch, 1) == (OUT_OF_ORDER, None, 7)
    # a gap
    assert part.check(pid, epoch, 9) == (OUT_OF_ORDER, None, 7)
    assert part.check(pid, epoch, 7)[0] == APPENDED
    assert [r.msg for r in part.log] == [100 + s for s in range(7)]


def test_epochs_and_producer_ids():
    part = Partition()
    # a producer without a transactional id gets a new PID at epoch 0 every time it asks
    pid, epoch = part.init_producer_id()
    assert epoch == 0 and part.init_producer_id() == (pid + 1, 0)
    part.append(1, pid, 0, 0)
    # the producer bumps its own epoch: the partition sees it in the next batch, which must
    # start at sequence 0; the new epoch's window starts afresh
    assert part.check(pid, 1, 1) == (OUT_OF_ORDER, None, 0)
    assert part.check(pid, 1, 0)[0] == APPENDED
    part.append(2, pid, 1, 0)
    assert part.producers[pid].batches == [(0, 1)]
    assert part.check(pid, 0, 1) == (INVALID_EPOCH, None, None)  # an older epoch
    # a PID the partition holds nothing for may start anywhere
    assert part.check(pid + 1, 0, 41)[0] == APPENDED
    assert part.check(None, None, None)[0] == APPENDED  # no idempotence: always written


def test_five_requests_in_flight_all_retried_are_answered_from_the_window():
    """A lost answer drops the connection; the five requests in flight are all sent again in
    order with their sequences, and each is found among the last 5 batches: written once."""
    sim = _kafka(messages=5, interval=20, faults=["drop:ProduceResponse:1:hop=1"])
    events = sim.run()
    assert " ".join(wire(events)[1]) == (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0] Produce[2 e0s1] "
        "Produce[3 e0s2] Produce[4 e0s3] Produce[5 e0s4] ProduceResponse[1 @0]✗ "
        "ProduceResponse[2 @1]† ProduceResponse[3 @2]† ProduceResponse[4 @3]† "
        "ProduceResponse[5 @4]† Produce[1 e0s0 again] Produce[2 e0s1 again] "
        "Produce[3 e0s2 again] Produce[4 e0s3 again] Produce[5 e0s4 again] "
        "ProduceResponse[1 dup@0] ProduceResponse[2 dup@1] ProduceResponse[3 dup@2] "
        "ProduceResponse[4 dup@3] ProduceResponse[5 dup@4]")
    summary = sim.summary()
    assert summary["duplicates_avoided"] == 5 and summary["log_end"] == 5
    assert summary["once"] == 5


def test_the_producer_keeps_at_most_max_in_flight_requests_on_the_wire():
    for cap in (1, 3, 5):
        events = _kafka(messages=12, interval=20, max_in_flight_requests=cap).run()
        open_, most = 0, 0
        for ev in events:
            if ev["type"] == "produce":
                open_ += 1
                most = max(most, open_)
            elif ev["type"] == "arrive" and ev["kind"] == "ProduceResponse":
                open_ -= 1
        assert most == cap
        waits = _types(events, "queued")
        assert waits and "the most it keeps open" in waits[0]["text"]


def test_an_idempotent_producer_may_keep_at_most_5_requests_in_flight():
    with pytest.raises(ConfigError) as err:
        _kafka(max_in_flight_requests=6)
    assert err.value.field == "options.max_in_flight_requests"
    assert "at most 5" in err.value.message and "last 5 batches" in err.value.message
    assert _kafka(max_in_flight_requests=6, idempotent=False).run()


def test_a_request_that_times_out_closes_the_connection_and_the_retry_is_found():
    """The answer is held up longer than the request timeout (the run's ``timeout``): the
    producer gives up on the connection, sends the record again, and the broker finds it."""
    sim = _kafka(faults=["delay:ProduceResponse:1:hop=1:+3000"])
    events = sim.run()
    timeout = _types(events, "request_timeout")
    assert len(timeout) == 1 and timeout[0]["t"] == 500 + 2000
    assert "ProduceResponse[1 dup@0]" in wire(events)[1]
    assert sim.summary()["once"] == 1 and sim.summary()["request_timeouts"] == 1


def test_a_broker_restart_keeps_the_log_the_offsets_and_the_sequence_state():
    sim = _kafka(messages=5, interval=300, faults=["crash:broker@1000", "restart:broker@2500"])
    events = sim.run()
    crash = _types(events, "crash")[0]
    assert "survive the restart" in crash["text"]
    summary = sim.summary()
    assert (summary["once"], summary["log_end"], summary["lost"]) == (5, 5, 0)
    # record 1 was written before the crash; its resend after the restart is found
    assert summary["duplicates_avoided"] == 1
    assert [r.msg for r in sim.nodes["broker"].partition.log] == [1, 2, 3, 4, 5]


def test_a_producer_restart_gets_a_new_pid_and_says_what_the_application_sends_again():
    case = next(c for c in CASES if c.name == "producer-restart-idempotent")
    _, events, sim = run_case(case)
    crash = _types(events, "crash")[0]
    assert "PID 1000" in crash["text"] and "sends it again after its restart" in crash["text"]
    assert sim.nodes["producer"].pids == [1000, 1001]
    log = sim.nodes["broker"].partition.log
    assert [(r.msg, r.pid, r.seq) for r in log] == [(1, 1000, 0), (1, 1001, 0)]
    dup = _types(events, "append")[1]
    assert dup["duplicate"] is True and "a duplicate" in dup["text"]


def test_the_epoch_bump_drains_first_and_shows_in_the_panels():
    case = next(c for c in CASES if c.name == "sequence-gap-idempotent")
    _, events, sim = run_case(case)
    drain = _types(events, "drain")
    assert len(drain) == 1 and drain[0]["in_flight"] == 1  # record 3 was still on its way
    order = [ev["type"] for ev in events
             if ev["type"] in ("drain", "reject", "epoch_bump", "init_producer_id")]
    assert order == ["init_producer_id", "reject", "drain", "reject", "epoch_bump"]
    bump = _types(events, "epoch_bump")[0]
    assert (bump["pid"], bump["epoch"]) == (1000, 1) and "(2, 3)" in bump["text"]
    rows = dict(sim.view()["panels"][0]["rows"])
    assert rows["Producer id"] == "PID 1000, epoch 1"
    assert rows["Next sequence"] == "2"
    broker = dict(sim.view()["panels"][1]["rows"])
    assert broker["Last 5 batches per producer"] == (
        "PID 1000 epoch 1: seq 0 → offset 1, seq 1 → offset 2")


def test_a_later_acknowledgement_takes_a_refused_first_batch_as_delivered():
    """A new PID's first batch is refused while the second is on its way; the partition holds
    nothing for that PID, so it writes the second (Kafka's checkSequence); librdkafka takes the
    acknowledgement of sequence 1 as one for sequence 0 too and reports record 1 delivered: it
    is lost, and nobody is told."""
    case = next(c for c in CASES if c.name == "first-batch-refused-idempotent")
    _, events, sim = run_case(case)
    ack = [ev for ev in events if ev["type"] == "arrive" and ev.get("implied")]
    assert len(ack) == 1 and ack[0]["implied"] == [1] and ack[0]["msg"] == 2
    assert "reports it delivered" in ack[0]["text"]
    assert sim.nodes["producer"].acked == {1, 2}
    summary = sim.summary()
    assert (summary["lost"], summary["implicit_acks"], summary["in_play"]) == (1, 1, 0)


def test_a_head_of_line_out_of_order_answer_is_fatal_and_a_new_producer_sends_again():
    """As above, but record 2's answer is lost: both are sent again, and the partition, which
    wrote sequence 1 first, refuses sequence 0, the producer's oldest unacknowledged batch. For
    librdkafka that is a fatal error (the producer and the broker disagree); the application
    closes the producer and sends both records again with a new one: record 2 twice in the
    log."""
    seed = refusal_seed(2, ((1, 1),), attempts=3)
    sim = _kafka(messages=2, seed=seed, produce_errors=0.5,
                 faults=["drop:ProduceResponse:msg=2:hop=1"])
    events = sim.run()
    assert " ".join(wire(events)[1]) == (
        "InitProducerId InitProducerIdResponse[1000 e0] Produce[1 e0s0] "
        "ProduceResponse[1 NOT_ENOUGH_REPLICAS] Produce[2 e0s1] ProduceResponse[2 @0]✗ "
        "Produce[1 e0s0 again] Produce[2 e0s1 again] "
        "ProduceResponse[1 OUT_OF_ORDER_SEQUENCE_NUMBER] ProduceResponse[2 dup@0]† "
        "InitProducerId InitProducerIdResponse[1001 e0] Produce[1 e0s0 again] "
        "Produce[2 e0s1 again] ProduceResponse[1 @1] ProduceResponse[2 @2]")
    fatal = _types(events, "fatal")
    assert len(fatal) == 1 and "a new PID" in fatal[0]["text"]
    assert [r.msg for r in sim.nodes["broker"].partition.log] == [2, 1, 2]
    s = sim.summary()
    assert (s["fatal_errors"], s["producer_ids"], s["once"], s["duplicated"]) == (1, 2, 1, 1)


def test_commit_before_never_repeats_and_commit_after_never_loses_whenever_it_crashes():
    """Kafka docs, Design 4.6: save the position, then process: a crash in between loses the
    record (at most once); process, then save the position: a crash in between processes it
    again (at least once). The consumer crashes at every 100 ms of the run."""
    seen = {"before": set(), "after": set()}
    for at in range(1000, 4000, 100):
        for commit in ("before", "after"):
            sim = _kafka(messages=6, interval=300, commit=commit, process_time=400,
                         faults=[f"crash:consumer@{at}", f"restart:consumer@{at + 600}"])
            events = sim.run()
            s = sim.summary()
            assert s["in_play"] == 0 and s["once"] + s["duplicated"] + s["lost"] == 6
            if commit == "before":
                assert s["duplicated"] == 0, at
            else:
                assert s["lost"] == 0, at
            seen[commit].add("lost" if s["lost"] else "duplicated" if s["duplicated"]
                             else "once")
            crash = _types(events, "crash")[0]
            assert "it will read on from the group's committed offset" in crash["text"]
    assert seen == {"before": {"lost", "once"}, "after": {"duplicated", "once"}}


def test_a_default_run_tells_the_idempotent_story_within_seconds():
    """The generic defaults (40 records 400 ms apart, seed 7): lost answers on hop 1 are
    retried; with idempotence the broker finds them, without it the log holds duplicates."""
    on = Simulation(Config(), "kafka")
    events = on.run()
    first = _types(events, "dedup")[0]
    assert first["t"] < 10_000
    s = on.summary()
    assert (s["published"], s["once"], s["duplicated"], s["lost"], s["in_play"]) == (
        40, 40, 0, 0, 0)
    assert s["log_duplicates"] == 0 and s["duplicates_avoided"] > 0
    off = Simulation(Config.from_dict({"options": {"idempotent": False}}), "kafka")
    off.run()
    s = off.summary()
    assert s["duplicated"] > 0 and s["log_duplicates"] == s["duplicated"] > 0
    assert s["lost"] == 0 and s["in_play"] == 0


def test_nothing_sent_behind_a_lost_packet_gets_through():
    """Over TCP a packet sent after a lost one cannot arrive before it: once a Produce is lost,
    what the producer sends until the connection is seen closed dies with the connection, so
    the broker never sees a sequence skip ahead without a refused batch."""
    for seed in range(1, 25):
        sim = Simulation(Config.from_dict({"seed": seed, "options": {"hop1_loss": 0.2}}),
                         "kafka")
        sim.run()
        s = sim.summary()
        assert s["out_of_order"] == 0 and s["duplicated"] == 0, seed
        assert s["lost"] == 0 and s["in_play"] == 0, seed


def test_the_view_says_each_party_s_state():
    sim = _kafka(messages=3)
    sim.run(max_events=25)
    view = sim.view()
    for key in ("now", "in_flight", "nodes", "outcomes", "panels", "badges"):
        assert key in view
    assert [p["id"] for p in view["panels"]] == ["producer", "broker", "consumer"]
    assert view["nodes"] == {n: {"crashed": False} for n in ("producer", "broker", "consumer")}
    assert view["badges"]["broker"].startswith("log end ")
    for panel in view["panels"]:
        assert all(isinstance(label, str) and isinstance(value, str)
                   for label, value in panel["rows"])
    sim.run()
    view = sim.view()
    assert view["badges"] == {"broker": "log end 3 · lag 0"}
    broker = dict(view["panels"][1]["rows"])
    assert broker["Log (offset: record)"] == (
        "0: record 1 (PID 1000, epoch 0, seq 0); 1: record 2 (PID 1000, epoch 0, seq 1); "
        "2: record 3 (PID 1000, epoch 0, seq 2)")
    assert view["outcomes"] == {"published": 3, "once": 3, "duplicated": 0, "lost": 0,
                                "in_play": 0}


def test_the_manifest_draws_with_the_page_s_shapes_and_names_every_event_type():
    manifest = get("kafka").manifest()
    shapes = {"circle", "square", "diamond", "triangle", "octagon", "arrowhead", "hourglass",
              "tag", "stopwatch", "eye", "envelope", "bookmark", "bar", "bolt", "cross", "check",
              "chevron", "rings", "circular_arrow", "asterisk", "line"}
    fills = {"solid", "outline", "open", "double", "struck", "ringed", "post", "bar", "hands",
             "check", "cross", "dots", "dot", "pause", "dashed"}
    colours = {"blue", "orange", "vermillion", "yellow", "green", "violet", "white"}
    for name, mark in manifest["marks"].items():
        assert mark["shape"] in shapes and mark["fill"] in fills, name
        assert mark["color"] in colours, name
    assert [lane["id"] for lane in manifest["lanes"]] == [
        "producer", "net1", "broker", "net2", "consumer", "app"]
    for type_, meta in manifest["event_types"].items():
        assert meta.get("mark") is None or meta["mark"] in manifest["marks"], type_
        for variant in meta.get("variants", []):
            assert variant["mark"] in manifest["marks"], type_
        if meta.get("packet") == "start":
            assert meta["label"] == "kind" and meta["in_flight"]["kind"] in manifest[
                "packet_kinds"]
    assert manifest["packet_kinds"][0] == "Produce"
    assert manifest["preset"]["family"] == "Kafka"
    assert "ransactions" in manifest["preset"]["simplifies"]
    assert manifest["mechanisms"] == []
    events = Simulation(Config(), "kafka").run()
    assert {ev["type"] for ev in events} <= set(manifest["event_types"])


def test_the_same_seed_gives_the_same_run_and_each_record_draws_its_own_fates():
    def run(idempotent, seed=11):
        return Simulation(Config.from_dict({
            "seed": seed, "messages": 30, "interval": 4000,
            "options": {"idempotent": idempotent, "hop1_loss": 0.15, "hop2_loss": 0.15}}),
            "kafka").run()

    assert run(True) == run(True)
    assert run(True) != run(True, seed=12)
    # The first Produce of each record meets the same fate with idempotence or without (the
    # records far apart, so no loss of one takes another's packets with its connection).
    lost = {}
    for idempotent in (True, False):
        events = run(idempotent)
        first = {ev["packet"]: ev["msg"] for ev in events
                 if ev["type"] == "produce" and not ev["retry"]}
        lost[idempotent] = sorted(first[ev["packet"]] for ev in events
                                  if ev["type"] == "drop" and ev["packet"] in first
                                  and ev["reason"] == "loss")
    assert lost[True] and lost[True] == lost[False]


def test_a_run_replays_to_any_event_exactly():
    config = Config.from_dict({"messages": 12, "options": {"hop1_loss": 0.2, "hop2_loss": 0.2,
                                                           "produce_errors": 0.2}})
    whole = Simulation(config, "kafka").run()
    middle = Simulation.replay_events(config, [], 40, 90, protocol="kafka")
    assert middle == whole[40:90]
    sim = Simulation(config, "kafka")
    first = sim.run(max_events=55)
    assert first + sim.checkpoint().run() == whole
    # a replay may stop inside a happening: right after a record is processed, its commit is
    # made in the same instant and held back for the next step
    for ev in _types(whole, "process_record"):
        assert Simulation.replay_events(config, [], 0, ev["seq"],
                                        protocol="kafka") == whole[:ev["seq"]]


def test_options_are_checked_and_named():
    with pytest.raises(ConfigError) as err:
        _kafka(commit="sometimes")
    assert err.value.field == "options.commit"
    with pytest.raises(ConfigError) as err:
        _kafka(produce_errors=0.9)
    assert err.value.field == "options.produce_errors"
    with pytest.raises(ConfigError) as err:
        _kafka(qos=1)
    assert err.value.field == "options.qos" and "idempotent" in err.value.message
    with pytest.raises(ConfigError) as err:
        _kafka(faults=["drop:Produce:1:hop=3"])
    assert err.value.field == "faults[0]" and "hop must be 1 or 2" in err.value.message
    with pytest.raises(ConfigError) as err:
        _kafka(faults=["drop:PUBLISH:1"])
    assert err.value.field == "faults[0]" and "ProduceResponse" in err.value.message
    with pytest.raises(ConfigError) as err:
        _kafka(faults=["crash:subscriber@100"])
    assert err.value.field == "faults[0]"


def test_the_refusal_seed_refuses_exactly_the_request_it_names():
    seed = refusal_seed(3, ((2, 1),))
    events = _kafka(messages=3, seed=seed, produce_errors=0.5).run()
    assert [(ev["msg"], ev["attempt"]) for ev in _types(events, "reject")
            if ev["error"] == "NOT_ENOUGH_REPLICAS"] == [(2, 1)]


def test_the_cli_runs_the_preset_with_its_options(capsys):
    base = ["run", "--protocol", "kafka", "--messages", "1", "--hop1-loss", "0", "--hop2-loss",
            "0", "--fault", "drop:ProduceResponse:1:hop=1", "--json"]
    assert cli_main(base + ["--no-idempotent", "--commit", "after"]) == 0
    out = capsys.readouterr().out
    assert '"duplicated":1' in out and '"log_duplicates":1' in out
    assert cli_main(base + ["--idempotent", "--max-in-flight-requests", "3"]) == 0
    out = capsys.readouterr().out
    assert '"once":1' in out and '"duplicates_avoided":1' in out
    with pytest.raises(SystemExit):
        cli_main(["run", "--protocol", "kafka", "--max-in-flight-requests", "6"])
    assert "--max-in-flight-requests: an idempotent producer keeps at most 5" in (
        capsys.readouterr().err)
    with pytest.raises(SystemExit):
        cli_main(["run", "--protocol", "kafka", "--commit", "sometimes"])
    assert "--commit: must be one of after, before" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["run", "--no-idempotent"])
    assert "--idempotent: is not an option of --protocol classic" in capsys.readouterr().err
