"""StreamWindow: the recent past of one epoch's stream, for late joiners and resyncs.

It keeps the last frames (for ``resync``) and the last events (for snapshots and catch-ups),
bounded by count.
Both are stored as JSON text, not as dicts: a thousand sessions would otherwise keep millions of
small objects, and every full garbage collection walks all of them (a pause every stream feels).
Text is not tracked by the collector. Each event is encoded once: a frame's text is put together
from its events' texts, and the frame goes on the wire as that text (``Encoded``,
``wire.TolerantPacket``), not encoded again.
"""

from __future__ import annotations

import json
from collections import deque

import orjson


class StreamWindow:
    def __init__(self, frames_kept: int, events_kept: int, recent: list[dict] | None = None):
        self.frames_kept = frames_kept
        self.max_frame_events = 2 * events_kept
        # (stream_seq, how many events, the run's seq after the frame, frame JSON)
        self.frames: deque[tuple[int, int, int, str]] = deque()
        self.frame_events = 0
        self.recent: deque[str] = deque((_text(e) for e in recent or ()), maxlen=events_kept)

    def keep(self, frame: dict) -> str:
        """Keep ``frame`` (and its events); its JSON text."""
        events = frame["events"]
        texts = [_text(e) for e in events]
        self.recent.extend(texts)
        rest = _text({k: v for k, v in frame.items() if k != "events"})
        text = '{"events":[' + ",".join(texts) + "]" + ("," + rest[1:] if rest != "{}" else "}")
        self.frames.append((frame["stream_seq"], len(events), frame["seq"], text))
        self.frame_events += len(events)
        while len(self.frames) > 1 and (len(self.frames) > self.frames_kept
                                        or self.frame_events > self.max_frame_events):
            self.frame_events -= self.frames.popleft()[1]
        return text

    def copy(self) -> StreamWindow:
        """An independent window holding what this one holds (the texts are shared)."""
        other = StreamWindow.__new__(StreamWindow)
        other.frames_kept = self.frames_kept
        other.max_frame_events = self.max_frame_events
        other.frames = self.frames.copy()
        other.frame_events = self.frame_events
        other.recent = self.recent.copy()
        return other

    def frames_between(self, since: int, until: int) -> list[dict] | None:
        """Frames with ``since < stream_seq <= until``; None if some are no longer kept."""
        first = self.frames[0][0] if self.frames else until + 1
        if since + 1 < first:
            return None
        return [json.loads(text) for seq, _, _, text in self.frames if since < seq <= until]

    def seq_after(self, stream_seq: int) -> int | None:
        """The run's last event seq once frame ``stream_seq`` was applied; None if not known."""
        for kept, count, seq, _ in self.frames:
            if kept == stream_seq:
                return seq
            if kept == stream_seq + 1:
                return seq - count
        return None

    def events(self) -> list[dict]:
        """The kept events, oldest first."""
        return [json.loads(text) for text in self.recent]

    def first_event_seq(self) -> int | None:
        """Seq of the oldest kept event (None if none kept)."""
        return json.loads(self.recent[0])["seq"] if self.recent else None

    def events_after(self, seq: int) -> list[dict]:
        """The kept events with a seq above ``seq``, oldest first."""
        out = []
        for text in reversed(self.recent):
            event = json.loads(text)
            if event["seq"] <= seq:
                break
            out.append(event)
        return out[::-1]

    def start_of_last_instant(self) -> int | None:
        """Seq of the first kept event at the latest simulated instant (None if none kept)."""
        if not self.recent:
            return None
        last = json.loads(self.recent[-1])
        first = last["seq"]
        for text in reversed(self.recent):
            event = json.loads(text)
            if event["t"] != last["t"]:
                break
            first = event["seq"]
        return first


def _text(value) -> str:
    """Compact JSON, as ``json.dumps(value, separators=(",", ":"))`` writes it but for
    characters beyond ASCII, written as UTF-8 rather than escaped (orjson: about five times
    faster; ``tests/test_server_runtime.py`` holds what it decodes to equal)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class Encoded(dict):
    """A message (a frame) that carries its own JSON text, made once when it was kept: sent as
    that text. Change nothing in it afterwards."""

    __slots__ = ("json",)
