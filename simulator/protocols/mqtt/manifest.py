"""What the page draws for an MQTT run (the keys are those of the classic model's manifest,
``simulator/protocols/classic/manifest.py``; docs/protocols.md tells what each means).

Every packet is drawn with its protocol name as its label (``label: "kind"``), its arrow in the
style of its kind; the broker has a lane of its own between the two hops, and each hop a
network lane where its losses are drawn."""

from __future__ import annotations

from .. import brokered

LANES = brokered.lanes("publisher", "Publisher", "subscriber", "Subscriber")
LINK_LANES = brokered.link_lanes("publisher", "subscriber")

MARKS: dict[str, dict] = {
    "publish": {"shape": "circle", "fill": "solid", "color": "blue", "arrow": "solid",
                "label": "PUBLISH", "help": "a message sent at QoS 0, 1 or 2"},
    "publish_dup": {"shape": "diamond", "fill": "solid", "color": "orange", "arrow": "dashed",
                    "label": "PUBLISH, DUP=1",
                    "help": "the same message resent under the same packet id"},
    "puback": {"shape": "check", "fill": "open", "color": "green", "arrow": "thin",
               "label": "PUBACK", "help": "QoS 1: the receiver has it (and passed it on)"},
    "pubrec": {"shape": "bookmark", "fill": "outline", "color": "yellow", "arrow": "thin",
               "label": "PUBREC", "help": "QoS 2, step 2: received and remembered"},
    "pubrel": {"shape": "tag", "fill": "outline", "color": "blue", "arrow": "thin-dashed",
               "label": "PUBREL", "help": "QoS 2, step 3: the sender releases the message"},
    "pubcomp": {"shape": "square", "fill": "outline", "color": "green", "arrow": "thin",
                "label": "PUBCOMP", "help": "QoS 2, step 4: complete; the packet id is free"},
    "connect": {"shape": "circular_arrow", "fill": "open", "color": "white", "arrow": "dotted",
                "label": "CONNECT", "help": "a client connects (again)"},
    "connack": {"shape": "chevron", "fill": "open", "color": "white", "arrow": "dotted",
                "label": "CONNACK", "help": "the broker accepts; says whether a session is "
                                            "present"},
    "arrive_ignored": {"shape": "arrowhead", "fill": "struck", "color": "white", "offset": -16,
                       "label": "Repeat not passed on",
                       "help": "QoS 2: a PUBLISH whose packet id is still held is answered, "
                               "not passed on again"},
    "session_lost": {"shape": "envelope", "fill": "struck", "color": "vermillion",
                     "overview": True, "offset": -18, "label": "Session discarded",
                     "help": "a clean session (or a broker without persistence) forgets what "
                             "was in flight"},
    "queued": {"shape": "hourglass", "fill": "solid", "color": "yellow", "offset": 18,
               "label": "Waits for a connection",
               "help": "kept in the session until the client is connected again"},
    "not_sent": {"shape": "octagon", "fill": "bar", "color": "vermillion", "overview": True,
                 "label": "QoS 0 not sent", "help": "no connection: a QoS 0 message is not kept"},
    "route": {"shape": "chevron", "fill": "open", "color": "green", "offset": 18,
              "label": "Passed on by the broker",
              "help": "into the subscriber's queue, at the lower of publish and subscription QoS"},
    "discard": {"shape": "square", "fill": "struck", "color": "vermillion", "overview": True,
                "label": "Dropped by the broker",
                "help": "no subscription, or QoS 0 for a subscriber that is away"},
    "timeout": {"shape": "stopwatch", "fill": "hands", "color": "yellow", "offset": -18,
                "label": "Wait over (3.1.1 retry)",
                "help": "an old 3.1.1 client resends inside a live connection"},
    **brokered.marks("publish", "packet", "message", "a packet reached the node"),
}


EVENT_TYPES: dict[str, dict] = {
    **brokered.EVENT_TYPES,
    **brokered.processed(),
    "publish": brokered.packet("PUBLISH", "publish", variants=[
        {"when": {"dup": True}, "mark": "publish_dup", "note": "DUP=1"}]),
    "puback": brokered.packet("PUBACK", "puback"),
    "pubrec": brokered.packet("PUBREC", "pubrec"),
    "pubrel": brokered.packet("PUBREL", "pubrel"),
    "pubcomp": brokered.packet("PUBCOMP", "pubcomp"),
    "connect": brokered.packet("CONNECT", "connect"),
    "connack": brokered.packet("CONNACK", "connack"),
    "arrive": {"mark": "arrive", "name": "Arrives", "packet": "end",
               "variants": [{"when": {"duplicate": True}, "mark": "arrive_ignored",
                             "note": "a repeat, not passed on"}]},
    "session_lost": {"mark": "session_lost", "name": "Session discarded"},
    "queued": {"mark": "queued", "name": "Waits for a connection"},
    "not_sent": {"mark": "not_sent", "name": "QoS 0 not sent"},
    "route": {"mark": "route", "name": "Passed on by the broker"},
    "discard": {"mark": "discard", "name": "Dropped by the broker"},
    "timeout": {"mark": "timeout", "name": "Wait over", "link": "wait", "link_color": "yellow"},
}

PAGE: dict = {
    "lens": brokered.lens("publisher", "Publisher"),
    "open_heads": ["PUBACK", "PUBREC", "PUBCOMP", "CONNACK"],
    "mechanisms": [],
    "preset": {
        "family": "MQTT",
        "honest": "QoS is a promise between two neighbours, one hop at a time: QoS 2 is "
                  "exactly once on each hop, not end to end. The broker between them stores "
                  "and forwards; a clean session, a broker that restarts without persistence "
                  "or an application that crashes after its client acknowledged can still "
                  "lose a message.",
        "simplifies": "Simplified here: a lost packet drops its connection a round trip "
                      "after it was sent (TCP would notice by keep-alive or retransmission "
                      "timeouts, later); the network's random losses never take CONNECT or "
                      "CONNACK; the subscription is renewed as part of each connect; "
                      "each hop's latency is fixed, as TCP keeps order within a connection; a "
                      "persistent broker keeps everything across a restart (a real one saves "
                      "to disk at intervals).",
    },
}
