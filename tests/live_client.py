"""A small Socket.IO test client for the live server: a real python-socketio client over websocket
that records everything the server sends, in order, and can wait for it."""

from __future__ import annotations

import json
import threading
import time

import socketio


class LabClient:
    def __init__(self, url: str, token: str | None = None, origin: str | None = None,
                 transports=("websocket",), auth: dict | None = None):
        self.url = url
        self.received: list[tuple[str, object]] = []
        self._cond = threading.Condition()
        # ``origin`` stands in for the page a browser would send it from (default: same origin)
        # (the server's JSON is not re-checked for UTF-8 here: far faster for big frames)
        extra = {"skip_utf8_validation": True, **({"origin": origin} if origin else {})}
        self.sio = socketio.Client(reconnection=False, websocket_extra_options=extra)
        self.sio.on("*", self._record)
        self.sio.on("disconnect", lambda reason=None: self._record("disconnect", reason))
        auth = auth if auth is not None else {"token": token} if token else {}
        self.sio.connect(url, auth=auth, transports=list(transports),
                         wait_timeout=5)

    def _record(self, event, *args):
        with self._cond:
            self.received.append((event, args[0] if args else None))
            self._cond.notify_all()

    # --- sending ------------------------------------------------------------------------------
    def call(self, event: str, data=None, timeout: float = 10):
        """Emit and wait for the acknowledgement. ``None`` sends no argument, a tuple several."""
        return self.sio.call(event, data, timeout=timeout)

    # --- receiving ----------------------------------------------------------------------------
    def of(self, name: str) -> list:
        with self._cond:
            return [data for event, data in self.received if event == name]

    def wait_for(self, predicate, timeout: float = 10, what: str = "condition"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting for {what}"
                self._cond.wait(left)

    def wait_event(self, name: str, timeout: float = 10, where=lambda data: True):
        return self.wait_for(lambda: next((d for e, d in self.received
                                           if e == name and where(d)), None),
                             timeout, what=name)

    def whole(self, answer: dict, timeout: float = 30) -> dict:
        """``answer`` with the parts that follow it (``answer_part``, docs/protocol.md) put back
        in, once they have all arrived, in order."""
        more = answer.get("more")
        if not more:
            return answer

        def parts():
            got = [p for p in self.of("answer_part") if p["id"] == more["id"]]
            return got if len(got) >= more["parts"] - 1 else None

        return assemble(answer, self.wait_for(parts, timeout, f"the parts of answer {more['id']}"))

    def session(self) -> dict:
        return self.wait_event("session")

    def close(self) -> None:
        """Drop the connection as a closing tab does: the server sees the socket close."""
        if self.sio.connected:
            self.sio.eio.disconnect(abort=True)


def assemble(answer: dict, parts: list[dict]) -> dict:
    """A long answer put back together: ``answer`` (which says ``more``) with the items of its
    ``answer_part`` messages (all of them, parts 2..n, in any order) appended in order."""
    more = answer["more"]
    got = sorted(parts, key=lambda p: p["part"])
    assert [p["part"] for p in got] == list(range(2, more["parts"] + 1))
    out = json.loads(json.dumps({k: v for k, v in answer.items() if k != "more"}))
    holder, key = (out, "frames") if more["field"] == "frames" else (out["catch_up"], "events")
    holder[key].extend(item for p in got for item in p["items"])
    return out


def merge(frames: list[dict], epoch: int) -> list[dict]:
    """The frames of ``epoch`` in stream order, each once (what a careful client keeps)."""
    by_seq = {}
    for frame in frames:
        if frame["epoch"] == epoch:
            by_seq.setdefault(frame["stream_seq"], frame)
    return [by_seq[k] for k in sorted(by_seq)]


def events_of(frames: list[dict]) -> list[dict]:
    return [event for frame in frames for event in frame["events"]]
