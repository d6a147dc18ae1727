"""What the page draws for an MQTT run (the keys are those of the classic model's manifest,
``simulator/protocols/classic/manifest.py``; docs/protocols.md tells what each means).

Every packet is drawn with its protocol name as its label (``label: "kind"``), its arrow in the
style of its kind; the broker has a lane of its own between the two hops, and each hop a
network lane where its losses are drawn."""

from __future__ import annotations

LANES: tuple[dict, ...] = (
    {"id": "publisher", "label": "Publisher"},
    {"id": "net1", "label": "Hop 1"},
    {"id": "broker", "label": "Broker"},
    {"id": "net2", "label": "Hop 2"},
    {"id": "subscriber", "label": "Subscriber"},
    {"id": "app", "label": "Application"},
)

LINK_LANES = {("publisher", "broker"): "net1", ("broker", "publisher"): "net1",
              ("broker", "subscriber"): "net2", ("subscriber", "broker"): "net2"}

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
    "arrive": {"shape": "arrowhead", "fill": "solid", "color": "blue", "offset": -16,
               "label": "Arrives", "help": "a packet reached the node"},
    "arrive_ignored": {"shape": "arrowhead", "fill": "struck", "color": "white", "offset": -16,
                       "label": "Repeat not passed on",
                       "help": "QoS 2: a PUBLISH whose packet id is still held is answered, "
                               "not passed on again"},
    "drop": {"shape": "cross", "fill": "open", "color": "vermillion", "cuts": "publish",
             "overview": True, "label": "Lost",
             "help": "lost on the wire: over TCP that ends the connection"},
    "disconnect": {"shape": "bar", "fill": "post", "color": "vermillion", "overview": True,
                   "label": "Connection dropped",
                   "help": "both sides see the connection closed; in-flight packets die"},
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
    "app_receive": {"shape": "arrowhead", "fill": "open", "color": "blue", "offset": -18,
                    "label": "Handed to the application",
                    "help": "the client library passes the message on"},
    "app_receive_dup": {"shape": "arrowhead", "fill": "ringed", "color": "violet",
                        "offset": -18, "label": "Handed over again",
                        "help": "the application gets this message a second time"},
    "process": {"shape": "square", "fill": "solid", "color": "green", "label": "Processed",
                "help": "the application applied the message"},
    "dup_processed": {"shape": "square", "fill": "double", "color": "violet",
                      "label": "Duplicate processed", "help": "applied a second time"},
    "timeout": {"shape": "stopwatch", "fill": "hands", "color": "yellow", "offset": -18,
                "label": "Wait over (3.1.1 retry)",
                "help": "an old 3.1.1 client resends inside a live connection"},
    "crash": {"shape": "bolt", "fill": "solid", "color": "vermillion", "overview": True,
              "label": "Crash", "help": "a node lost its memory; its lane is shaded until restart"},
    "restart": {"shape": "circular_arrow", "fill": "solid", "color": "green", "label": "Restart",
                "help": "the node is back"},
    "fault": {"shape": "asterisk", "fill": "open", "color": "white", "offset": 16,
              "label": "Injected fault", "help": "a fault you or the schedule caused"},
    "config": {"shape": "line", "fill": "dashed", "color": "white", "line": "config",
               "label": "Setting changed", "help": "a labelled line across all lanes"},
}


def _packet(kind: str, mark: str, **more) -> dict:
    return {"mark": mark, "name": kind, "packet": "start", "label": "kind",
            "in_flight": {"kind": kind}, **more}


EVENT_TYPES: dict[str, dict] = {
    "publish": _packet("PUBLISH", "publish", variants=[
        {"when": {"dup": True}, "mark": "publish_dup", "note": "DUP=1"}]),
    "puback": _packet("PUBACK", "puback"),
    "pubrec": _packet("PUBREC", "pubrec"),
    "pubrel": _packet("PUBREL", "pubrel"),
    "pubcomp": _packet("PUBCOMP", "pubcomp"),
    "connect": _packet("CONNECT", "connect"),
    "connack": _packet("CONNACK", "connack"),
    "arrive": {"mark": "arrive", "name": "Arrives", "packet": "end",
               "variants": [{"when": {"duplicate": True}, "mark": "arrive_ignored",
                             "note": "a repeat, not passed on"}]},
    "drop": {"mark": "drop", "name": "Lost", "packet": "end", "lost": True},
    "disconnect": {"mark": "disconnect", "name": "Connection dropped"},
    "session_lost": {"mark": "session_lost", "name": "Session discarded"},
    "queued": {"mark": "queued", "name": "Waits for a connection"},
    "not_sent": {"mark": "not_sent", "name": "QoS 0 not sent"},
    "route": {"mark": "route", "name": "Passed on by the broker"},
    "discard": {"mark": "discard", "name": "Dropped by the broker"},
    "app_receive": {"mark": "app_receive", "name": "Handed to the application",
                    "variants": [{"when": {"duplicate": True}, "mark": "app_receive_dup",
                                  "note": "again"}]},
    "process": {"mark": "process", "name": "Processed",
                "variants": [{"when": {"duplicate": True}, "mark": "dup_processed",
                              "note": "duplicate"}]},
    "timeout": {"mark": "timeout", "name": "Wait over", "link": "wait", "link_color": "yellow"},
    "crash": {"mark": "crash", "name": "Crash", "downtime": "start"},
    "restart": {"mark": "restart", "name": "Restart", "downtime": "end"},
    "config_change": {"mark": None, "name": "Setting changed", "line": "config"},
    "fault_injected": {"mark": "fault", "name": "Injected fault"},
}

PAGE: dict = {
    "lens": {"node": "publisher", "label": "Publisher's view", "lanes": ["publisher"],
             "says": "Publisher's view: only what the publisher can know; other lanes dimmed."},
    "open_heads": ["PUBACK", "PUBREC", "PUBCOMP", "CONNACK"],
    "mechanisms": [],
    "preset": {
        "family": "MQTT",
        "honest": "QoS is a promise between two neighbours, one hop at a time: QoS 2 is "
                  "exactly once on each hop, not end to end. The broker between them stores "
                  "and forwards; a clean session, a broker that restarts without persistence "
                  "or an application that crashes after its client acknowledged can still "
                  "lose a message.",
        "simplifies": "Simplified here: a lost packet drops its connection at once (TCP would "
                      "notice by keep-alive or a reset, a little later); CONNECT and CONNACK "
                      "are never lost; the subscription is renewed as part of each connect; "
                      "each hop's latency is fixed, as TCP keeps order within a connection; a "
                      "persistent broker keeps everything across a restart (a real one saves "
                      "to disk at intervals).",
    },
}
