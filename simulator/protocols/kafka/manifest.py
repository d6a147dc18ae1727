"""What the page draws for a Kafka run (the keys are those of the classic model's manifest,
``simulator/protocols/classic/manifest.py``; docs/protocols.md tells what each means).

Every packet is drawn with its Kafka API name as its label (``label: "kind"``); the broker (the
partition's leader, with its log) has a lane of its own between the two hops, and each hop a
network lane where its losses are drawn."""

from __future__ import annotations

from .. import brokered

LANES = brokered.lanes("producer", "Producer", "consumer", "Consumer")
LINK_LANES = brokered.link_lanes("producer", "consumer")

MARKS: dict[str, dict] = {
    "produce": {"shape": "circle", "fill": "solid", "color": "blue", "arrow": "solid",
                "label": "Produce", "help": "a batch with one record (and, with idempotence, "
                                            "its PID, epoch and sequence number)"},
    "produce_retry": {"shape": "diamond", "fill": "solid", "color": "orange", "arrow": "dashed",
                      "label": "Produce, sent again",
                      "help": "a record not acknowledged, sent again"},
    "produce_response": {"shape": "check", "fill": "open", "color": "green", "arrow": "thin",
                         "label": "ProduceResponse",
                         "help": "written (or found already written): its offset"},
    "produce_error": {"shape": "octagon", "fill": "outline", "color": "vermillion",
                      "arrow": "thin", "label": "ProduceResponse with an error",
                      "help": "nothing written: NOT_ENOUGH_REPLICAS or "
                              "OUT_OF_ORDER_SEQUENCE_NUMBER"},
    "init_producer_id": {"shape": "circular_arrow", "fill": "open", "color": "white",
                         "arrow": "dotted", "label": "InitProducerId",
                         "help": "the producer asks for a producer id"},
    "init_producer_id_response": {"shape": "chevron", "fill": "open", "color": "white",
                                  "arrow": "dotted", "label": "InitProducerId response",
                                  "help": "a new PID, at epoch 0; sequences start at 0"},
    "fetch": {"shape": "tag", "fill": "outline", "color": "blue", "arrow": "thin-dashed",
              "label": "Fetch", "help": "the consumer asks for records from its position"},
    "fetch_response": {"shape": "envelope", "fill": "solid", "color": "blue", "arrow": "solid",
                       "label": "FetchResponse", "help": "records from the log, with offsets"},
    "offset_commit": {"shape": "bookmark", "fill": "outline", "color": "green",
                      "arrow": "thin-dashed", "label": "OffsetCommit",
                      "help": "the consumer commits the next offset to read"},
    "offset_commit_response": {"shape": "square", "fill": "outline", "color": "green",
                               "arrow": "thin", "label": "OffsetCommit response",
                               "help": "the group's committed offset is stored"},
    "offset_fetch": {"shape": "bookmark", "fill": "outline", "color": "white",
                     "arrow": "dotted", "label": "OffsetFetch",
                     "help": "a starting consumer asks for its group's committed offset"},
    "offset_fetch_response": {"shape": "square", "fill": "outline", "color": "white",
                              "arrow": "dotted", "label": "OffsetFetch response",
                              "help": "where the consumer reads on from"},
    "append": {"shape": "bar", "fill": "solid", "color": "green", "label": "Written to the log",
               "help": "the broker writes the record at the next offset"},
    "append_dup": {"shape": "bar", "fill": "double", "color": "violet",
                   "label": "Written again: a duplicate in the log",
                   "help": "the log now holds this record twice (a retry without idempotence, "
                           "or under a new PID)"},
    "dedup": {"shape": "rings", "fill": "open", "color": "white", "label": "Duplicate avoided",
              "help": "a retried batch matches one of the producer's last 5: nothing written, "
                      "answered with its first offset"},
    "reject": {"shape": "octagon", "fill": "bar", "color": "vermillion",
               "label": "Refused by the broker",
               "help": "NOT_ENOUGH_REPLICAS: too few in-sync replicas; nothing written"},
    "reject_order": {"shape": "octagon", "fill": "struck", "color": "yellow",
                     "label": "Out of order: refused",
                     "help": "the sequence is not the next one expected from this producer"},
    "connect": {"shape": "circular_arrow", "fill": "open", "color": "green", "offset": 18,
                "label": "Connected", "help": "a client (re)connects to the broker"},
    "queued": {"shape": "hourglass", "fill": "solid", "color": "yellow", "offset": 18,
               "label": "Waits in the producer",
               "help": "produced, not sent yet: no connection or PID, a drain, or a full window"},
    "drain": {"shape": "circle", "fill": "pause", "color": "yellow", "offset": -18,
              "label": "Draining",
              "help": "after an error the idempotent producer waits for every answer first"},
    "epoch_bump": {"shape": "circular_arrow", "fill": "open", "color": "yellow", "offset": -18,
                   "label": "Epoch bumped",
                   "help": "drained after an out-of-order answer: the producer raises its own "
                           "epoch and numbers what is not acknowledged again from 0"},
    "request_timeout": {"shape": "stopwatch", "fill": "hands", "color": "yellow", "offset": -18,
                        "label": "Request timed out",
                        "help": "no answer in time: the producer closes the connection"},
    "fatal": {"shape": "octagon", "fill": "solid", "color": "vermillion", "overview": True,
              "label": "Fatal producer error",
              "help": "the producer's sequence disagrees with the broker's; a new producer "
                      "takes over"},
    **brokered.marks("produce", "packet", "record", "a request or response reached the node"),
}


EVENT_TYPES: dict[str, dict] = {
    **brokered.EVENT_TYPES,
    **brokered.processed("process_record"),
    "produce": brokered.packet("Produce", "produce", variants=[
        {"when": {"retry": True}, "mark": "produce_retry", "note": "sent again"}]),
    "produce_response": brokered.packet("ProduceResponse", "produce_response", variants=[
        {"when": {"error": ["NOT_ENOUGH_REPLICAS", "OUT_OF_ORDER_SEQUENCE_NUMBER",
                            "INVALID_PRODUCER_EPOCH"]},
         "mark": "produce_error", "note": "error"}]),
    "init_producer_id": brokered.packet("InitProducerId", "init_producer_id"),
    "init_producer_id_response": brokered.packet("InitProducerIdResponse",
                                                 "init_producer_id_response"),
    "fetch": brokered.packet("Fetch", "fetch"),
    "fetch_response": brokered.packet("FetchResponse", "fetch_response"),
    "offset_commit": brokered.packet("OffsetCommit", "offset_commit"),
    "offset_commit_response": brokered.packet("OffsetCommitResponse", "offset_commit_response"),
    "offset_fetch": brokered.packet("OffsetFetch", "offset_fetch"),
    "offset_fetch_response": brokered.packet("OffsetFetchResponse", "offset_fetch_response"),
    "arrive": {"mark": "arrive", "name": "Arrives", "packet": "end"},
    "append": {"mark": "append", "name": "Written to the log", "packet": "end",
               "variants": [{"when": {"duplicate": True}, "mark": "append_dup",
                             "note": "a duplicate in the log"}]},
    "dedup": {"mark": "dedup", "name": "Duplicate avoided", "packet": "end"},
    "reject": {"mark": "reject", "name": "Refused by the broker", "packet": "end",
               "variants": [{"when": {"error": "OUT_OF_ORDER_SEQUENCE_NUMBER"},
                             "mark": "reject_order", "note": "out of order"}]},
    "connect": {"mark": "connect", "name": "Connected"},
    "queued": {"mark": "queued", "name": "Waits in the producer"},
    "drain": {"mark": "drain", "name": "Draining"},
    "epoch_bump": {"mark": "epoch_bump", "name": "Epoch bumped"},
    "request_timeout": {"mark": "request_timeout", "name": "Request timed out", "link": "wait",
                        "link_color": "yellow"},
    "fatal": {"mark": "fatal", "name": "Fatal producer error"},
}

PAGE: dict = {
    "lens": brokered.lens("producer", "Producer"),
    "open_heads": ["ProduceResponse", "InitProducerIdResponse", "OffsetCommitResponse",
                   "OffsetFetchResponse"],
    "mechanisms": [],
    "preset": {
        "family": "Kafka",
        "honest": "Idempotence keeps a retry from writing a record twice, within one producer "
                  "session: the broker remembers the last 5 batches of each producer id and "
                  "answers a retry of one of them with the offset it has. A producer that "
                  "restarts gets a new id, and what it sends again is written again. What the "
                  "consumer's application sees is decided by when it commits its offset: "
                  "before processing, a crash loses a record; after, a crash processes one "
                  "twice.",
        "simplifies": "Simplified here: one partition on one broker, standing for the "
                      "partition's leader (its followers are not drawn; option produce_errors "
                      "stands for a leader with too few in-sync replicas); one record per batch; "
                      "a lost packet drops its connection at once, and connecting again takes "
                      "the reconnect delay with no packets drawn (no ApiVersions or Metadata); "
                      "the producer retries without end (no delivery.timeout.ms); the run's "
                      "timeout is its request timeout; the broker holds a fetch that finds "
                      "nothing until a record is written (no fetch.max.wait.ms); the consumer "
                      "reads its one partition by itself (no group rebalances); what a "
                      "crashed client had on the wire dies with its connection; transactions "
                      "and read_committed are not modelled; the log, the committed offsets and "
                      "the producers' sequence state survive a broker restart.",
    },
}
