"""What the page draws for an AMQP run (the keys are those of the classic model's manifest;
docs/protocols.md tells what each means).

Every frame is drawn with its AMQP method name as its label (``label: "kind"``). ``basic.ack``
goes both ways: from the broker it is a publisher confirm (hop 1), from the consumer its
acknowledgement (hop 2); each has a mark of its own. The broker has a lane between the two hops,
and each hop a network lane where its losses are drawn."""

from __future__ import annotations

from .. import brokered

LANES = brokered.lanes("publisher", "Publisher", "consumer", "Consumer")
LINK_LANES = brokered.link_lanes("publisher", "consumer")

MARKS: dict[str, dict] = {
    "publish": {"shape": "circle", "fill": "solid", "color": "blue", "arrow": "solid",
                "label": "basic.publish", "help": "the publisher sends a message to the exchange"},
    "republish": {"shape": "diamond", "fill": "solid", "color": "orange", "arrow": "dashed",
                  "label": "basic.publish again",
                  "help": "published again: not confirmed when its connection dropped, or "
                          "nacked; a new delivery tag, and to the broker a new message"},
    "confirm": {"shape": "check", "fill": "open", "color": "green", "arrow": "thin",
                "label": "basic.ack (confirm)",
                "help": "the broker has taken responsibility for the message"},
    "confirm_multiple": {"shape": "check", "fill": "double", "color": "green", "arrow": "thin",
                         "label": "basic.ack, multiple=true",
                         "help": "one confirm for every delivery tag up to this one"},
    "nack": {"shape": "octagon", "fill": "outline", "color": "violet", "arrow": "thin-dashed",
             "label": "basic.nack", "help": "the broker did not take the message"},
    "return": {"shape": "tag", "fill": "outline", "color": "yellow", "arrow": "thin-dashed",
               "label": "basic.return",
               "help": "mandatory and unroutable: the message comes back to the publisher"},
    "deliver": {"shape": "circle", "fill": "ringed", "color": "blue", "arrow": "solid",
                "label": "basic.deliver", "help": "the broker sends a message to the consumer"},
    "redeliver": {"shape": "diamond", "fill": "ringed", "color": "orange", "arrow": "dashed",
                  "label": "basic.deliver, redelivered=true",
                  "help": "delivered before, requeued: it may have been seen"},
    "ack": {"shape": "square", "fill": "outline", "color": "green", "arrow": "thin",
            "label": "basic.ack (consumer)",
            "help": "the consumer is done with a delivery: the broker forgets the message"},
    "connection_open": {"shape": "circular_arrow", "fill": "open", "color": "white",
                        "arrow": "dotted", "label": "connection.open",
                        "help": "a client connects (again) and opens its channel"},
    "connection_open_ok": {"shape": "chevron", "fill": "open", "color": "white",
                           "arrow": "dotted", "label": "connection.open-ok",
                           "help": "the broker accepts: a new channel, delivery tags from 1"},
    "arrive_redelivered": {"shape": "arrowhead", "fill": "ringed", "color": "orange",
                           "label": "Arrives, redelivered=true",
                           "help": "a delivery that may have been seen before"},
    "queued": {"shape": "hourglass", "fill": "solid", "color": "yellow", "offset": 18,
               "label": "Waits at the publisher",
               "help": "no connection to publish on, or as many messages unconfirmed as it "
                       "keeps open"},
    "route": {"shape": "chevron", "fill": "open", "color": "green", "offset": 18,
              "label": "Into the queue", "help": "the exchange routed it to the queue"},
    "unroutable": {"shape": "square", "fill": "struck", "color": "vermillion",
                   "overview": True, "offset": 18, "label": "Unroutable: dropped",
                   "help": "no queue bound for it, and not mandatory: dropped, yet confirmed"},
    "unroutable_returned": {"shape": "tag", "fill": "struck", "color": "yellow", "offset": 18,
                            "label": "Unroutable: returned",
                            "help": "no queue bound for it; mandatory: sent back"},
    "rejected": {"shape": "octagon", "fill": "bar", "color": "vermillion", "overview": True,
                 "offset": 18, "label": "Queue full: refused",
                 "help": "the queue length limit with overflow reject-publish"},
    "disk_write": {"shape": "bookmark", "fill": "solid", "color": "white", "offset": -18,
                   "label": "Written to disk",
                   "help": "persistent messages in a durable queue, a batch at a time"},
    "requeue": {"shape": "circular_arrow", "fill": "solid", "color": "orange", "offset": -18,
                "label": "Requeued",
                "help": "unacknowledged deliveries go back in their places, marked redelivered"},
    "discarded": {"shape": "envelope", "fill": "struck", "color": "vermillion",
                  "overview": True, "offset": -18, "label": "Buffered deliveries dropped",
                  "help": "their channel closed before the application started on them"},
    "cannot_ack": {"shape": "check", "fill": "struck", "color": "vermillion", "offset": -18,
                   "label": "Ack impossible",
                   "help": "processed, but the delivery's channel is closed: it will come again"},
    **brokered.marks("publish", "frame", "message", "a frame reached the node",
                     handed_over=False),
}


def _packet(kind: str, mark: str, sender: str | None = None, **more) -> dict:
    """``basic.ack`` goes both ways: its in-flight packets are told apart by their sender."""
    if sender is not None:
        more["in_flight"] = {"kind": kind, "from": sender}
    return brokered.packet(kind, mark, **more)


EVENT_TYPES: dict[str, dict] = {
    **brokered.EVENT_TYPES,
    **brokered.processed(),
    "connection_open": _packet("connection.open", "connection_open"),
    "connection_open_ok": _packet("connection.open-ok", "connection_open_ok"),
    "publish": _packet("basic.publish", "publish", variants=[
        {"when": {"republish": True}, "mark": "republish", "note": "again"}]),
    "confirm": _packet("basic.ack", "confirm", "broker", variants=[
        {"when": {"multiple": True}, "mark": "confirm_multiple", "note": "multiple=true"}]),
    "nack": _packet("basic.nack", "nack"),
    "return": _packet("basic.return", "return"),
    "deliver": _packet("basic.deliver", "deliver", variants=[
        {"when": {"redelivered": True}, "mark": "redeliver", "note": "redelivered=true"}]),
    "ack": _packet("basic.ack", "ack", "consumer"),
    "arrive": {"mark": "arrive", "name": "Arrives", "packet": "end",
               "variants": [{"when": {"redelivered": True}, "mark": "arrive_redelivered",
                             "note": "redelivered=true"}]},
    "queued": {"mark": "queued", "name": "Waits at the publisher"},
    "route": {"mark": "route", "name": "Into the queue"},
    "unroutable": {"mark": "unroutable", "name": "Unroutable",
                   "variants": [{"when": {"returned": True}, "mark": "unroutable_returned",
                                 "note": "returned"}]},
    "rejected": {"mark": "rejected", "name": "Queue full: refused"},
    "disk_write": {"mark": "disk_write", "name": "Written to disk"},
    "requeue": {"mark": "requeue", "name": "Requeued"},
    "discarded": {"mark": "discarded", "name": "Buffered deliveries dropped"},
    "cannot_ack": {"mark": "cannot_ack", "name": "Ack impossible"},
}

PAGE: dict = {
    "lens": brokered.lens("publisher", "Publisher"),
    "open_heads": ["basic.ack", "basic.nack", "basic.return", "connection.open-ok"],
    "mechanisms": [],
    "preset": {
        "family": "AMQP 0-9-1",
        "honest": "Each hop has its own guarantee. Publisher confirms make the publishing hop "
                  "at least once: what is not confirmed when its connection drops is published "
                  "again, so a lost confirm makes a duplicate, and that copy arrives with "
                  "redelivered=false. Manual acks make the consumer's hop at least once: "
                  "unacknowledged deliveries are requeued and come again with "
                  "redelivered=true, which only hints that the message may have been seen. "
                  "Automatic ack is at most once: the broker forgets a message as it sends it. "
                  "Nothing here is exactly once end to end: the consumer needs idempotent "
                  "processing or deduplication for that.",
        "simplifies": "Simplified here: a lost frame drops its connection (TCP would notice "
                      "by heartbeat or a reset, a little later); connection.open and "
                      "connection.open-ok stand for the whole opening (connection, channel, "
                      "confirm.select, basic.qos, basic.consume) and no hop loses them; the "
                      "exchange, the queue and its binding are declared again by the clients "
                      "as they connect, so they exist after a restart (a transient queue comes "
                      "back empty); one publisher, one queue, one consumer; each hop's latency "
                      "is fixed, as TCP keeps order; persistent messages are written to disk in "
                      "batches 25 ms after the first one and confirmed after the write, and "
                      "what was written survives a restart; basic.nack only comes from a queue "
                      "length limit with overflow reject-publish, and the publisher publishes a "
                      "nacked message again after the timeout; the consumer acks each delivery "
                      "alone, right after processing it; when its channel closes, its client "
                      "drops the deliveries the application has not started.",
    },
}
