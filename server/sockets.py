"""Socket.IO handlers: validate, delegate to the session runtime, answer.

Every control is rate limited, size checked, shape checked, then handed to the session's
``SessionRuntime`` under its lock. The answer is the acknowledgement (``{"ok": true, ...}``); a
refusal is answered with ``{"ok": false, "error": ...}`` and the same error as an ``error``
event, and leaves the session as it was. Frames are emitted by one shared ticker for all sessions.

Nothing is ever emitted while a session's lock is held: Engine.IO may close a connection that
missed its pings while sending, and that runs the disconnect handler, which takes the same lock.
A connection whose send queue is full (a client too slow to read) has its frames skipped rather
than queued; it sees the gap when it reads again and resyncs. A session that sent no frame for
``heartbeat_s`` sends a ``heartbeat`` naming its stream position, so a client that lost the last
frame of a run notices.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import request
from flask_socketio import SocketIO, join_room

from simulator import schema

from . import chunks, validation
from . import errors as E
from .registry import SessionRegistry
from .tcp import set_nodelay
from .wire import Unreadable

log = logging.getLogger(__name__)
YIELD_EVERY = 25  # sessions advanced between two yields to the event loop
REAP_EVERY_S = 5.0

NEW_EPOCH = ("start", "reset", "step_back", "open_run")
ACTIONS = {
    "start": lambda r, p: r.start(p.get("config", {})),
    "pause": lambda r, p: r.pause(),
    "resume": lambda r, p: r.resume(),
    "step": lambda r, p: r.step(),
    "step_back": lambda r, p: r.step_back(p.get("to_seq")),
    "reset": lambda r, p: r.reset(p.get("seed")),
    "set_speed": lambda r, p: r.set_speed(p["speed"]),
    "configure": lambda r, p: r.configure(p),
    "inject": lambda r, p: r.inject(p),
    "get_snapshot": lambda r, p: {"snapshot": r.snapshot()},
    "resync": lambda r, p: r.resync(p["epoch"], p["since"], p.get("seq")),
    "play_until": lambda r, p: r.play_until(p["until"]),
    "open_run": lambda r, p: r.open_run(p["run"], p.get("position")),
}


class LiveServer:
    """The socket side of the app: handlers, the shared frame ticker, the session registry."""

    def __init__(self, socketio: SocketIO, registry: SessionRegistry):
        self.socketio = socketio
        self.registry = registry
        self.settings = registry.settings
        self._ticker_started = False
        self._ticker_lock = threading.Lock()
        self._register()

    # --- the stream ---------------------------------------------------------------------------
    def pump(self) -> int:
        """One tick: advance every watched session and emit its frames; how many were sent."""
        sent = 0
        for i, (runtime, frames) in enumerate(self.registry.tick(), 1):
            skip = self._lagging(runtime)
            for frame in frames:
                self.socketio.emit("frame", frame, to=runtime.token, skip_sid=skip)
                sent += 1
            if i % YIELD_EVERY == 0:
                self.socketio.sleep(0)  # let queued frames reach their sockets
        return sent

    def beat(self) -> int:
        """Tell the clients of every quiet session where its stream stands; how many beats."""
        beats = 0
        for runtime, position in self.registry.quiet(self.settings.heartbeat_s):
            self.socketio.emit("heartbeat", position, to=runtime.token,
                               skip_sid=self._lagging(runtime))
            beats += 1
        return beats

    def _lagging(self, runtime) -> list[str]:
        """The connections of ``runtime`` whose send queue is full: frames skip them."""
        server = self.socketio.server
        eio = server.eio
        out = []
        for sid in list(runtime.sids):
            sock = eio.sockets.get(server.manager.eio_sid_from_sid(sid, "/"))
            if sock is not None and sock.queue.qsize() >= self.settings.send_queue_max:
                out.append(sid)
        return out

    def run_ticker(self) -> None:
        interval = 1.0 / self.settings.frame_rate
        next_reap = time.monotonic() + REAP_EVERY_S
        next_beat = time.monotonic() + self.settings.heartbeat_s / 2
        while True:
            started = time.monotonic()
            try:
                self.pump()
                if started >= next_beat:
                    self.beat()
                    next_beat = started + self.settings.heartbeat_s / 2
                if started >= next_reap:
                    self.registry.reap()
                    next_reap = started + REAP_EVERY_S
            except Exception:  # one bad tick must not stop every stream
                log.exception("frame ticker failed")
            self.socketio.sleep(max(0.002, interval - (time.monotonic() - started)))

    def _ensure_ticker(self) -> None:
        if not self.settings.autostart_ticker:
            return
        with self._ticker_lock:
            if not self._ticker_started:
                self._ticker_started = True
                self.socketio.start_background_task(self.run_ticker)

    # --- handlers -----------------------------------------------------------------------------
    def _register(self) -> None:
        sio = self.socketio
        sio.on_event("connect", self.on_connect)
        sio.on_event("disconnect", self.on_disconnect)
        for name in ACTIONS:
            sio.on_event(name, self._control(name))
        sio.on_event("*", self.on_unknown)

    def on_connect(self, auth=None):
        self._ensure_ticker()
        set_nodelay(request.environ)
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            runtime, resumed = self.registry.attach(request.sid, token, request.remote_addr or "")
        except E.ProtocolError as exc:
            self.socketio.emit("error", exc.to_dict(), to=request.sid)
            self._close_soon(request.sid)
            return False
        join_room(runtime.token)
        self.socketio.emit("session", {
            "token": runtime.token, "resumed": resumed, "schema": schema(),
            "limits": self.settings.limits(), "manifest": runtime.manifest(),
        }, to=request.sid)
        if not resumed:
            with runtime.lock:
                snapshot = runtime.snapshot()
            self.socketio.emit("snapshot", snapshot, to=request.sid)
        return True

    def _close_soon(self, sid: str) -> None:
        """Close the transport of a refused connection once its refusal has been sent."""
        eio_sid = self.socketio.server.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is None:
            return

        def close():
            self.socketio.sleep(0.2)
            self.socketio.server.eio.disconnect(eio_sid)

        self.socketio.start_background_task(close)

    def on_disconnect(self, reason=None):
        self.registry.detach(request.sid)

    def on_unknown(self, event, *args):
        if args and isinstance(args[0], Unreadable):
            return self._refuse(E.ProtocolError(args[0].code, args[0].reason))
        return self._refuse(E.ProtocolError(E.UNKNOWN_EVENT,
                                            f"unknown event {str(event)[:40]!r}"))

    def _control(self, name: str):
        action = ACTIONS[name]

        def handle(*args):
            try:
                self.registry.allow(request.sid)
                payload = validation.check(name, validation.payload_of(
                    args, self.settings.max_payload_bytes))
                runtime = self.registry.runtime_of(request.sid)
                with runtime.lock:
                    answer = action(runtime, payload)
                    snapshot = runtime.snapshot() if name in NEW_EPOCH else None
                if snapshot is not None:  # emitted with the lock released (see the docstring)
                    self.socketio.emit("snapshot", snapshot, to=runtime.token)
                answer = {"ok": True, **answer}
                parts = chunks.split(answer, self.settings.max_message_bytes)
                if parts:  # they follow the acknowledgement, in order
                    self.socketio.start_background_task(self._send_parts, request.sid, parts)
                return answer
            except E.ProtocolError as exc:
                return self._refuse(exc)
            except Exception:
                log.exception("control %s failed", name)
                return self._refuse(E.ProtocolError(E.INTERNAL, "the server could not do that"))

        handle.__name__ = f"on_{name}"
        return handle

    def _send_parts(self, sid: str, parts: list[dict]) -> None:
        for part in parts:
            self.socketio.emit("answer_part", part, to=sid)
            self.socketio.sleep(0)

    def _refuse(self, exc: E.ProtocolError) -> dict:
        error = exc.to_dict()
        self.socketio.emit("error", error, to=request.sid)
        return {"ok": False, "error": error}
