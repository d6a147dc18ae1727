"""What the page draws for the classic model: lanes, marks, how each event type is drawn, and
what else the page needs to know of this protocol (``PAGE``).

Pure data, sent to the page in the manifest (docs/protocols.md, "What the page reads from the
manifest").

``LANES`` are the timeline's columns, in order (``id``, ``label``).

A mark (``MARKS``, in the legend's order) names a ``shape`` and a ``fill`` the page knows how to
draw (static/js/glyphs.js) and a palette ``color`` (a colour name of that palette); ``label`` and
``help`` are the legend's words; ``observer`` marks what only an observer can know (the
producer's view hides it); ``offset`` moves the mark sideways from its lane's centre so marks of
one instant do not overlap (pixels at normal size). ``arrow`` is the line style of the arrows of
the packets its event puts on the wire (``solid``, ``dashed``, ``thin``, ``thin-dashed``,
``dotted``, drawn in the mark's colour); ``cuts`` names the mark whose arrow this one ends (a
loss: the legend draws that arrow cut short, this mark at its end); ``line`` marks a line rather
than a glyph (``crossing``: the halo on arrows that cross; ``config``: a setting changed, across
all lanes). ``overview`` says the mark is kept, as a small square, when the timeline is zoomed
out to thousands of events (in ``overview_color`` when given, else its own).

An event type (``EVENT_TYPES``) names its ``mark`` and its ``name`` (the details box and the text
view); its ``variants`` give another mark: the first whose ``when`` fields all match the event
(a list means "one of"). A view that does not see a variant's mark (an ``observer`` mark in the
producer's view) skips that variant; ``note`` is added to the event's name where the variant
applies, and ``hidden_text`` replaces the event's sentence where it is skipped (``{msg}`` is the
message). ``packet`` says whether the event puts a packet on the wire (``start``) or ends its
flight (``end``, with ``lost`` when the packet was lost: its arrow stops there); ``in_flight``
matches the packets of a snapshot's in-flight list that such an event put on the wire (they are
drawn in its style). ``crossing`` marks the arrivals checked for reordering. ``link`` joins an
event to its ``cause`` by a dotted line in ``link_color``: ``cause`` from the cause's mark,
``wait`` down the event's own lane from the cause's time (the wait that ended in a timeout).
``line: config`` draws the event as a labelled line across all lanes (its ``changes`` are the
settings it changed); ``downtime`` starts (``start``) or ends (``end``) the shading of a node's
lane; ``observer`` marks event types only an observer can know.

``PAGE`` (merged into the manifest): ``lens`` is the partial view the page offers beside the
observer's (the node whose knowledge it shows, its label and sentence, and the lanes that node
sees; the others are dimmed); ``hindsight`` says which event explains which (``event`` explains
its cause, an event of type ``explains``, by its ``field``), the mark the explained event takes
for each verdict in the observer's view, and the words for verdicts and their ``detail``;
``open_heads`` are the packet kinds whose arrows end in a small open head (answers);
``mechanisms`` are the panels of mechanisms a setting turns on (``setting`` = ``value``), and
the event types that show a mechanism was in use in a trace.
"""

from __future__ import annotations

LANES: tuple[dict, ...] = (
    {"id": "producer", "label": "Producer"},
    {"id": "network", "label": "Network"},
    {"id": "consumer", "label": "Consumer"},
    {"id": "app", "label": "Application"},
)

MARKS: dict[str, dict] = {
    "send": {"shape": "circle", "fill": "solid", "color": "blue", "arrow": "solid", "label": "Send",
             "help": "first transmission of a message"},
    "retry": {"shape": "diamond", "fill": "solid", "color": "orange", "arrow": "dashed",
              "label": "Retry", "help": "a resend, linked to the timeout (or nack) that caused it"},
    "drop": {"shape": "cross", "fill": "open", "color": "vermillion", "cuts": "send",
             "overview": True, "label": "Drop",
             "help": "the network lost the packet: its arrow ends in an X"},
    "timeout": {"shape": "stopwatch", "fill": "hands", "color": "yellow", "overview": True,
                "offset": -18, "label": "Timeout",
                "help": "no answer in time: the producer cannot tell why (all it knows)"},
    "timeout_processed": {"shape": "stopwatch", "fill": "check", "color": "green", "observer": True,
                          "overview": True, "offset": -18, "label": "Timeout: it was processed",
                          "help": "in hindsight the message had been processed; its answer was "
                                  "lost or slow"},
    "timeout_lost": {"shape": "stopwatch", "fill": "cross", "color": "vermillion", "observer": True,
                     "overview": True, "offset": -18, "label": "Timeout: it was lost",
                     "help": "in hindsight nothing that was sent got processed"},
    "timeout_late": {"shape": "stopwatch", "fill": "dots", "color": "blue", "observer": True,
                     "overview": True, "offset": -18, "label": "Timeout: it was late",
                     "help": "in hindsight a copy was still on its way and was processed after"},
    "timeout_explained": {"shape": "eye", "fill": "dot", "color": "white", "observer": True,
                          "offset": -34, "label": "Timeout explained",
                          "help": "when the observer learned what a timeout really was"},
    "deliver": {"shape": "arrowhead", "fill": "solid", "color": "blue", "label": "Delivered",
                "help": "a data packet reached the consumer"},
    "deliver_dup": {"shape": "arrowhead", "fill": "ringed", "color": "violet",
                    "label": "Duplicate delivery", "help": "this message id arrived before"},
    "ack": {"shape": "circle", "fill": "outline", "color": "green", "arrow": "thin", "label": "Ack",
            "help": "the consumer answers"},
    "ack_deliver": {"shape": "check", "fill": "open", "color": "green", "offset": 0,
                    "label": "Ack received", "help": "the producer knows the message got through"},
    "false_done": {"shape": "check", "fill": "struck", "color": "vermillion", "observer": True,
                   "label": "False “done”",
                   "help": "an ack for a message that was never processed; the producer believes "
                           "it"},
    "ack_lost": {"shape": "circle", "fill": "cross", "color": "vermillion", "cuts": "ack",
                 "overview": True, "overview_color": "green", "label": "Lost ack",
                 "help": "the answer was lost"},
    "nack": {"shape": "bar", "fill": "solid", "color": "violet", "arrow": "thin-dashed",
             "label": "Nack", "help": "a definitive failure answer"},
    "nack_deliver": {"shape": "bar", "fill": "post", "color": "vermillion", "offset": 0,
                     "label": "Nack received", "help": "the producer learns the message failed"},
    "net_duplicate": {"shape": "rings", "fill": "open", "color": "violet", "arrow": "dotted",
                      "label": "Network duplicate", "help": "the network made an extra copy"},
    "process": {"shape": "square", "fill": "solid", "color": "green", "label": "Processed",
                "help": "the application applied the message"},
    "dup_processed": {"shape": "square", "fill": "double", "color": "violet",
                      "label": "Duplicate processed",
                      "help": "applied a second time (two squares)"},
    "dup_discarded": {"shape": "square", "fill": "struck", "color": "white", "overview": True,
                      "offset": 18, "label": "Discarded by dedup",
                      "help": "recognised and not applied again (struck)"},
    "dedup_record": {"shape": "bookmark", "fill": "solid", "color": "white", "offset": -18,
                     "label": "Dedup key recorded",
                     "help": "the consumer writes the message id down, as a step of its own"},
    "process_fail": {"shape": "triangle", "fill": "solid", "color": "vermillion",
                     "label": "Processing failed", "help": "the application failed the message"},
    "held": {"shape": "hourglass", "fill": "solid", "color": "yellow", "offset": 18,
             "label": "Held", "help": "reorder buffer waits for an earlier number"},
    "released": {"shape": "chevron", "fill": "open", "color": "green", "offset": 32,
                 "label": "Released", "help": "passed on in order"},
    "gap_skip": {"shape": "chevron", "fill": "double", "color": "vermillion", "offset": 18,
                 "label": "Gap skipped",
                 "help": "the buffer gave up waiting: the missing numbers are lost"},
    "stale_drop": {"shape": "chevron", "fill": "struck", "color": "white", "offset": 18,
                   "label": "Stale dropped", "help": "its number was already passed"},
    "transition_applied": {"shape": "tag", "fill": "solid", "color": "green", "offset": 18,
                           "label": "Transition applied", "help": "state machine accepted it"},
    "transition_parked": {"shape": "tag", "fill": "pause", "color": "yellow", "offset": 18,
                          "label": "Transition parked", "help": "too early; kept until valid"},
    "transition_rejected": {"shape": "tag", "fill": "struck", "color": "vermillion", "offset": 18,
                            "label": "Transition rejected", "help": "can never apply"},
    "give_up": {"shape": "octagon", "fill": "bar", "color": "vermillion", "overview": True,
                "offset": -50, "label": "Give up", "help": "the producer stops trying"},
    "dead_letter": {"shape": "envelope", "fill": "outline", "color": "orange", "overview": True,
                    "offset": -50, "label": "Dead letter",
                    "help": "failed every attempt: put aside for a person, not retried"},
    "crash": {"shape": "bolt", "fill": "solid", "color": "vermillion", "overview": True,
              "label": "Crash", "help": "a node lost its memory; its lane is shaded until restart"},
    "restart": {"shape": "circular_arrow", "fill": "open", "color": "green", "label": "Restart",
                "help": "the node is back"},
    "fault": {"shape": "asterisk", "fill": "open", "color": "white", "offset": 16,
              "label": "Injected fault", "help": "a fault you or the schedule caused"},
    "crossing": {"shape": "line", "fill": "halo", "color": "yellow", "line": "crossing",
                 "label": "Reordering",
                 "help": "a message that arrived after a later one: crossing arrows are "
                         "highlighted"},
    "config": {"shape": "line", "fill": "dashed", "color": "white", "line": "config",
               "label": "Setting changed", "help": "a labelled line across all lanes"},
}

EVENT_TYPES: dict[str, dict] = {
    "send": {"mark": "send", "name": "Send", "packet": "start",
             "in_flight": {"kind": "data", "attempt": 1}},
    "retry": {"mark": "retry", "name": "Retry", "packet": "start", "in_flight": {"kind": "data"},
              "link": "cause", "link_color": "yellow"},
    "net_duplicate": {"mark": "net_duplicate", "name": "Network duplicate", "packet": "start"},
    "drop": {"mark": "drop", "name": "Drop", "packet": "end", "lost": True,
             "variants": [{"when": {"kind": ["ack", "nack"]}, "mark": "ack_lost"}]},
    "ack_drop": {"mark": "ack_lost", "name": "Ack lost", "packet": "end", "lost": True},
    "deliver": {"mark": "deliver", "name": "Delivered", "packet": "end", "crossing": True,
                "variants": [{"when": {"duplicate": True}, "mark": "deliver_dup",
                              "note": "duplicate"}]},
    "timeout": {"mark": "timeout", "name": "Timeout", "link": "wait", "link_color": "yellow"},
    "timeout_explained": {"mark": "timeout_explained", "name": "Timeout explained",
                          "observer": True, "link": "cause", "link_color": "white"},
    "ack_send": {"mark": "ack", "name": "Ack sent", "packet": "start",
                 "in_flight": {"kind": "ack"}},
    "nack": {"mark": "nack", "name": "Nack sent", "packet": "start",
             "in_flight": {"kind": "nack"}},
    "ack_deliver": {"mark": "ack_deliver", "name": "Answer received", "packet": "end",
                    "variants": [{"when": {"kind": "nack"}, "mark": "nack_deliver"},
                                 {"when": {"false_done": True}, "mark": "false_done",
                                  "note": "false “done”",
                                  "hidden_text": "An ack for message {msg} reached the producer: "
                                                 "it records the message as done."}]},
    "give_up": {"mark": "give_up", "name": "Give up"},
    "dead_letter": {"mark": "dead_letter", "name": "Dead-lettered"},
    "process": {"mark": "process", "name": "Processed",
                "variants": [{"when": {"duplicate": True}, "mark": "dup_processed",
                              "note": "duplicate"}]},
    "process_fail": {"mark": "process_fail", "name": "Processing failed"},
    "dedup_discard": {"mark": "dup_discarded", "name": "Discarded by dedup"},
    "dedup_record": {"mark": "dedup_record", "name": "Dedup key recorded"},
    "buffer": {"mark": "held", "name": "Held"},
    "release": {"mark": "released", "name": "Released"},
    "gap_skip": {"mark": "gap_skip", "name": "Gap skipped"},
    "stale_drop": {"mark": "stale_drop", "name": "Stale dropped"},
    "transition_applied": {"mark": "transition_applied", "name": "Transition applied"},
    "transition_parked": {"mark": "transition_parked", "name": "Transition parked"},
    "transition_rejected": {"mark": "transition_rejected", "name": "Transition rejected"},
    "crash": {"mark": "crash", "name": "Crash", "downtime": "start"},
    "restart": {"mark": "restart", "name": "Restart", "downtime": "end"},
    "config_change": {"mark": None, "name": "Setting changed", "line": "config"},
    "fault_injected": {"mark": "fault", "name": "Injected fault"},
}

PAGE: dict = {
    "lens": {"node": "producer", "label": "Producer's view", "lanes": ["producer"],
             "says": "Producer's view: only what the producer can know; other lanes dimmed."},
    "hindsight": {
        "event": "timeout_explained", "explains": "timeout", "field": "verdict",
        "marks": {"processed": "timeout_processed", "lost": "timeout_lost",
                  "late": "timeout_late"},
        "verdicts": {"processed": "it had been processed", "lost": "it was lost",
                     "late": "it was late, processed after"},
        "details": {"answer_lost": "its answer was lost",
                    "answer_slow": "its answer was still on its way",
                    "dropped": "the network dropped what was sent", "crash": "a crash lost it",
                    "skipped": "the reorder buffer skipped it", "failed": "processing failed",
                    "on_its_way": "a copy was still travelling",
                    "waiting": "a copy was waiting in the consumer"},
    },
    "open_heads": ["ack", "nack"],
    "mechanisms": [
        {"panel": "reorder", "setting": "ordering", "value": "sequence",
         "events": ["buffer", "release", "gap_skip", "stale_drop"]},
        {"panel": "dedup", "setting": "semantics", "value": "exactly-once",
         "events": ["dedup_discard", "dedup_record"]},
        {"panel": "machine", "setting": "ordering", "value": "state-machine",
         "events": ["transition_applied", "transition_parked", "transition_rejected"]},
    ],
}
