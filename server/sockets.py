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

A session's sweep (``sweep_start``, ``sweep_cancel``) is checked here and handed to the sweep
pool (``sweeps.py``), whose runners emit its progress, rows and end to the session's room.

With several processes, a connection whose run another process holds (a student of a room
presented there, above all) is relayed (``relay.py``): checked here, each control forwarded and
its answer returned as the acknowledgement; the holding process attaches the connection as one
of its own and sends what it would send it through the relay (``_emit_everywhere``, ``_join``).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque

from flask import current_app, request
from flask_socketio import SocketIO

from simulator import schema

from . import chunks, validation
from . import errors as E
from .registry import SessionRegistry, _plausible
from .relay import CONTROL_TIMEOUT_S, Relay, RelayTimeout
from .rooms import BROADCAST_EVERY_S, Room, normalise_code
from .sweeps import SweepPool, plan_of
from .tcp import set_nodelay
from .wire import Unreadable

log = logging.getLogger(__name__)
YIELD_EVERY = 25  # sessions advanced between two yields to the event loop
REAP_EVERY_S = 5.0
LEASE_TICK_S = 0.5  # (several processes) how often leases are renewed, positions written

NEW_EPOCH = ("start", "reset", "step_back", "open_run")
ACTIONS = {
    "start": lambda r, p: r.start(p.get("config", {}), p.get("protocol")),
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
    "share": lambda r, p: r.share(p.get("position")),
    "get_manifest": lambda r, p: {"manifest": _manifest_of(p["protocol"])},
    "compare": lambda r, p: r.compare(p["columns"]),
}


def _manifest_of(name: str) -> dict:
    """The manifest of the protocol ``name`` (a trace of another protocol is drawn with it)."""
    from simulator import protocols

    from .runtime import _protocol_name

    return protocols.get(_protocol_name(name)).manifest()
def protocol_list() -> list[dict]:
    """The protocols a run may name, for the page's preset picker."""
    from simulator import protocols

    return [{"name": n, "title": protocols.get(n).title,
             "family": protocols.get(n).page.get("preset", {}).get("family", "")}
            for n in protocols.names()]


# what a follower may send about the run it watches
READ_CONTROLS = ("resync", "get_snapshot", "share", "get_manifest", "compare")
PRESENTER_CONTROLS = ("room_open", "room_close", "room_ask", "room_reveal", "room_release",
                      "room_call_back", "room_focus", "room_lesson")
STUDENT_CONTROLS = ("room_vote", "room_explore", "room_follow")
# a session's own sweeps (server/sweeps.py): never a follower's, not even on its fork
SWEEP_CONTROLS = ("sweep_start", "sweep_cancel")
FOLLOWING = ("You are following the presenter's run: only the presenter can change it. "
             "When the presenter releases the class, you get a run of your own to explore.")


def channel(room: Room) -> str:
    """The Socket.IO room of everybody in ``room`` (presenter, students, screens)."""
    return f"room:{room.code}"


class LiveServer:
    """The socket side of the app: handlers, the shared frame ticker, the session registry."""

    def __init__(self, socketio: SocketIO, registry: SessionRegistry):
        self.socketio = socketio
        self.registry = registry
        self.settings = registry.settings
        self._ticker_started = False
        self._ticker_lock = threading.Lock()
        self.stopping = False  # handing everything over to other processes: refuse connects
        # Everything is sent to this process's own connections, never through the Socket.IO
        # message queue (which would hand every message to every process, and lose the first
        # ones a process sends before it has subscribed). With several processes, what goes to
        # a connection of another process (a student following a presenter held here) goes
        # through the relay (relay.py, ``enable_relay``) to that process alone.
        self._local_emit = functools.partial(socketio.emit, ignore_queue=True)
        self.emit = self._local_emit
        self.relay = None
        self.app = None
        self.remote: dict[str, str] = {}  # connection of another process here -> that process
        self.remote_in: dict[str, set[str]] = {}  # such a connection -> its Socket.IO rooms
        self.remote_rooms: dict[str, dict[str, set[str]]] = {}  # room -> process -> connections
        self.relayed: dict[str, str] = {}  # a connection here served by another process
        self._gone: deque[str] = deque(maxlen=1000)  # remote connections detached already
        self._bodies: dict[str, object] = {}  # control name -> what it does (for the relay)
        self.sweeps = SweepPool(socketio, self.settings.sweep_workers,
                                self.settings.protocol_modules,
                                alive=lambda runtime: registry.sessions.get(runtime.token)
                                is runtime)
        self._register()

    # --- the stream ---------------------------------------------------------------------------
    def pump(self) -> int:
        """One tick: advance every watched session and emit its frames; how many were sent."""
        sent = 0
        for i, (runtime, frames) in enumerate(self.registry.tick(), 1):
            skip = self._lagging(runtime)
            for frame in frames:
                self.emit("frame", frame, to=runtime.token, skip_sid=skip)
                sent += 1
            if i % YIELD_EVERY == 0:
                self.socketio.sleep(0)  # let queued frames reach their sockets
        return sent

    def beat(self) -> int:
        """Tell the clients of every quiet session where its stream stands; how many beats."""
        beats = 0
        for runtime, position in self.registry.quiet(self.settings.heartbeat_s):
            self.emit("heartbeat", position, to=runtime.token,
                               skip_sid=self._lagging(runtime))
            beats += 1
        return beats

    def _lagging(self, runtime) -> list[str]:
        """The connections of ``runtime`` whose send queue is full: frames skip them."""
        return self._lagging_of(list(runtime.sids))

    def _lagging_of(self, sids) -> list[str]:
        server = self.socketio.server
        eio = server.eio
        out = []
        for sid in sids:
            sock = eio.sockets.get(server.manager.eio_sid_from_sid(sid, "/"))
            if sock is not None and sock.queue.qsize() >= self.settings.send_queue_max:
                out.append(sid)
        return out

    def run_ticker(self) -> None:
        interval = 1.0 / self.settings.frame_rate
        next_reap = time.monotonic() + REAP_EVERY_S
        next_beat = time.monotonic() + self.settings.heartbeat_s / 2
        next_lease = time.monotonic()
        while True:
            started = time.monotonic()
            try:
                if self.stopping:
                    self.socketio.sleep(interval)
                    continue
                if self.registry.mover is not None and started >= next_lease:
                    self.keep_leases()
                    next_lease = started + LEASE_TICK_S
                self.pump()
                self.pump_rooms()
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

    def pump_rooms(self) -> int:
        """Send each room whose counts changed its state (at most every ``BROADCAST_EVERY_S``),
        and its presenter the live tally; how many rooms were sent."""
        now = time.monotonic()
        sent = 0
        for room in list(self.registry.rooms.by_code.values()):
            if room.dirty and now - room.last_broadcast >= BROADCAST_EVERY_S:
                self._broadcast(room)
                sent += 1
        return sent

    def _broadcast(self, room: Room) -> None:
        room.dirty = False
        room.last_broadcast = time.monotonic()
        self.emit("room", room.public(), to=channel(room))
        if room.tally_dirty:
            room.tally_dirty = False
            presenters = list(room.presenter_sids)
            if presenters:
                self.emit("room_tally", room.results(), to=presenters)

    # --- handlers -----------------------------------------------------------------------------
    def _register(self) -> None:
        sio = self.socketio
        sio.on_event("connect", self.on_connect)
        sio.on_event("disconnect", self.on_disconnect)
        for name in ACTIONS:
            sio.on_event(name, self._control(name))
        for name in (*PRESENTER_CONTROLS, *STUDENT_CONTROLS):
            sio.on_event(name, self._room_control(name))
        for name in SWEEP_CONTROLS:
            sio.on_event(name, self._sweep_control(name))
        sio.on_event("*", self.on_unknown)

    def on_connect(self, auth=None):
        if self.stopping:
            return self._refuse_connect(E.ProtocolError(E.MOVED, "this server process is "
                                                        "stopping; reconnecting to another"))
        self._ensure_ticker()
        set_nodelay(request.environ)
        auth = auth if isinstance(auth, dict) else {}
        try:
            if self.relay is not None and self._relay_connect(auth):
                return True  # served by the process that holds its run
            self._admit(auth)
        except E.ProtocolError as exc:
            return self._refuse_connect(exc)
        return True

    def _admit(self, auth: dict) -> None:
        """Attach connection ``request.sid`` to its session (``{token?}``, a new one without),
        or as a student (``{room, member?}``) or a projector screen (``{room, view:
        "screen"}``) of a room; ``ProtocolError`` if it may not."""
        if "room" in auth:
            return self._admit_follower(auth)
        sid = request.sid
        runtime, resumed = self.registry.attach(sid, auth.get("token"),
                                                request.remote_addr or "")
        self._join(runtime.token, sid)
        session = {
            "token": runtime.token, "resumed": resumed, "schema": schema(),
            "limits": self.settings.limits(), "manifest": runtime.manifest(),
            "protocols": protocol_list(),
        }
        room = self.registry.rooms.of_presenter(runtime.token)
        if room is not None:  # the presenter, back (a reload, a lost network)
            self._join(channel(room), sid)
            room.note_presence()
            session["room"] = self._presenter_view(room)
        self.emit("session", session, to=sid)
        if not resumed:
            with runtime.lock:
                snapshot = runtime.snapshot()
            self.emit("snapshot", snapshot, to=sid)

    def _admit_follower(self, auth: dict) -> None:
        sid = request.sid
        view = auth.get("view", "student")
        if view not in ("student", "screen"):
            raise E.ProtocolError(E.INVALID_VALUE, "view must be student or screen", "view")
        room, member, runtime, resumed = self.registry.follow(
            sid, auth.get("room"), auth.get("member"), view == "screen",
            request.remote_addr or "")
        self._join(runtime.token, sid)
        self._join(channel(room), sid)
        if member is not None:
            self._join(f"members:{room.code}", sid)
            if not resumed and self.registry.mover is not None:
                self._persist_room(room)  # (several processes) a new member outlives us
        info = {**room.public(), "role": view}
        if member is not None:
            info["you"] = room.you(member)
        self.emit("session", {
            "token": None, "resumed": resumed, "schema": schema(),
            "limits": self.settings.limits(), "manifest": runtime.manifest(), "room": info,
        }, to=sid)
        if not resumed:
            with runtime.lock:
                snapshot = runtime.snapshot()
            self.emit("snapshot", snapshot, to=sid)

    def _refuse_connect(self, exc: E.ProtocolError):
        self.emit("error", exc.to_dict(), to=request.sid)
        self._close_soon(request.sid)
        return False

    def _presenter_view(self, room: Room) -> dict:
        return {**room.public(), "role": "presenter", "tally": room.results(),
                "join_path": f"/room/{room.code}", "qr_path": f"/room/{room.code}/qr.svg",
                "screen_path": f"/room/{room.code}/screen"}

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
        owner = self.relayed.pop(request.sid, None)
        if owner is not None:  # served by another process: it forgets the connection
            self.relay.send(owner, {"op": "detach", "sid": request.sid})
        self.registry.detach(request.sid)

    def on_unknown(self, event, *args):
        if args and isinstance(args[0], Unreadable):
            return self._refuse(E.ProtocolError(args[0].code, args[0].reason))
        return self._refuse(E.ProtocolError(E.UNKNOWN_EVENT,
                                            f"unknown event {str(event)[:40]!r}"))

    def _handler(self, name: str, body):
        """The handler of control ``name``: rate limit, payload checks, then ``body(payload)``
        (its answer, acknowledged with ``ok``); every refusal answered alike."""

        def handle(*args):
            try:
                self.registry.allow(request.sid)
                payload = validation.check(name, validation.payload_of(
                    args, self.settings.max_payload_bytes))
                owner = self.relayed.get(request.sid)
                if owner is not None:  # its run is held by another process: it answers
                    answer = self._forward(owner, name, payload)
                else:
                    answer = {"ok": True, **body(payload)}
                parts = chunks.split(answer, self.settings.max_message_bytes)
                if parts:  # they follow the acknowledgement, in order
                    self.socketio.start_background_task(self._send_parts, request.sid, parts)
                return answer
            except E.ProtocolError as exc:
                return self._refuse(exc)
            except Exception:
                log.exception("control %s failed", name)
                return self._refuse(E.ProtocolError(E.INTERNAL, "the server could not do that"))

        self._bodies[name] = body
        handle.__name__ = f"on_{name}"
        return handle

    def _control(self, name: str):
        action = ACTIONS[name]

        def run(payload: dict) -> dict:
            runtime = self.registry.runtime_of(request.sid)
            followed = self.registry.follower(request.sid)
            if followed is not None and name not in READ_CONTROLS and (
                    followed[1] is None or runtime is followed[0].runtime):
                raise E.ProtocolError(E.READ_ONLY, FOLLOWING)
            with runtime.lock:
                answer = action(runtime, payload)
                snapshot = runtime.snapshot() if name in NEW_EPOCH else None
                if self.registry.mover is not None and followed is None:
                    self._persist(runtime)  # (several processes) written before acknowledged
            if snapshot is not None:  # emitted with the lock released (see the docstring)
                self.emit("snapshot", snapshot, to=runtime.token)
            return answer

        return self._handler(name, run)

    def _persist(self, runtime) -> None:
        """Write the session's record in Redis (moving.py); a run another process took over
        meanwhile is dropped here and its tabs sent to reconnect (this control refused)."""
        try:
            self.registry.mover.persist(runtime)
        except E.ProtocolError:
            self.socketio.start_background_task(self._send_away, [runtime])
            raise

    def _send_away(self, runtimes) -> None:
        """Sessions another process holds now: forget them, tell their tabs to reconnect (to
        it), and close their connections."""
        self._tell_to_reconnect([sid for runtime in runtimes
                                 for sid in self.registry.drop(runtime)])

    def _tell_to_reconnect(self, sids: list[str], reason: str = "moved") -> None:
        """Tell connections ``sids`` (here, or of other processes attached here) that their run
        is going elsewhere (``moving``), then close them: they reconnect, and come back through
        whichever process holds it."""
        if not sids:
            return
        self.emit("moving", {"reason": reason}, to=sids)
        self.socketio.sleep(0.05)  # the message reaches the sockets before they close
        self._disconnect(sids)

    def keep_leases(self) -> None:
        """(Several processes) renew this process's leases, write where each stream stands;
        send away the sessions whose lease another process took."""
        lost = self.registry.mover.tick(self.registry.sessions)
        if lost:
            self._send_away(lost)
        self.registry.rooms.keep()
        if self.relay is not None:
            self._check_processes()

    def hand_over(self) -> int:
        """This process stops (several processes): refuse new connections, write every record
        and hand every lease back, tell every tab to reconnect (to another process)."""
        self.stopping = True
        mover = self.registry.mover
        n = mover.hand_over(self.registry.sessions) if mover is not None else 0
        self._local_emit("moving", {"reason": "stopping"})  # (closed as the process exits)
        if self.remote:  # connections of other processes attached here
            self._tell_to_reconnect(list(self.remote), "stopping")
        return n

    # --- several processes: connections served by the process that holds their run ------------
    def enable_relay(self, relay: Relay, app) -> None:
        """(Several processes) serve connections whose run another process holds through it,
        and connections of other processes whose run this one holds (relay.py)."""
        self.relay, self.app = relay, app
        self.emit = self.sweeps.emit = self._emit_everywhere
        relay.handle = self._on_relayed
        relay.serve = self._serve
        # what was sent to the connections served elsewhere while the channel was down is lost
        # (frames, and the rooms they are in): they reconnect, and start whole again
        relay.on_lost = lambda: self.socketio.start_background_task(
            self._tell_to_reconnect, list(self.relayed))

    def _emit_everywhere(self, event: str, data, to=None, skip_sid=None) -> None:
        """Send to this process's connections named by ``to`` and, through the relay, to the
        connections of other processes attached here that it names (by connection or by
        Socket.IO room); a broadcast (``to`` None) stays here."""
        self._local_emit(event, data, to=to, skip_sid=skip_sid)
        if to is None or not self.remote:
            return
        per: dict[str, list[str]] = {}
        for name in ([to] if isinstance(to, str) else to):
            holder = self.remote.get(name)
            if holder is not None:
                per.setdefault(holder, []).append(name)
                continue
            for holder in self.remote_rooms.get(name, ()):
                per.setdefault(holder, []).append(name)
        for holder, targets in per.items():
            self.relay.send(holder, {"op": "emit", "event": event, "data": data, "to": targets,
                                     "lag": event in ("frame", "heartbeat")})

    def _join(self, room: str, sid: str) -> None:
        holder = self.remote.get(sid)
        if holder is None:
            self.socketio.server.enter_room(sid, room, namespace="/")
            return
        self.remote_in.setdefault(sid, set()).add(room)
        self.remote_rooms.setdefault(room, {}).setdefault(holder, set()).add(sid)
        self.relay.send(holder, {"op": "enter", "sid": sid, "room": room})

    def _leave(self, room: str, sid: str) -> None:
        holder = self.remote.get(sid)
        if holder is None:
            self.socketio.server.leave_room(sid, room, namespace="/")
            return
        self._unlist(sid, holder, room)
        self.relay.send(holder, {"op": "leave", "sid": sid, "room": room})

    def _unlist(self, sid: str, holder: str, room: str) -> None:
        self.remote_in.get(sid, set()).discard(room)
        members = self.remote_rooms.get(room, {})
        members.get(holder, set()).discard(sid)
        if not members.get(holder, True):
            del members[holder]
        if not members:
            self.remote_rooms.pop(room, None)

    def _disconnect(self, sids: list[str]) -> None:
        """Close connections ``sids``: this process's, and (one message per process) those of
        other processes attached here."""
        per: dict[str, list[str]] = {}
        for sid in sids:
            holder = self.remote.get(sid)
            if holder is None:
                self.socketio.server.disconnect(sid, namespace="/", ignore_queue=True)
            else:
                per.setdefault(holder, []).append(sid)
        for holder, theirs in per.items():
            self.relay.send(holder, {"op": "disconnect", "sids": theirs})

    def _forget_remote(self, sid: str) -> None:
        """A connection of another process is gone: out of its rooms and the registry."""
        holder = self.remote.pop(sid, None)
        self._gone.append(sid)
        if holder is not None:
            for room in list(self.remote_in.pop(sid, ())):
                self._unlist(sid, holder, room)
        self.registry.detach(sid)

    # (the process a connection reached)
    def _relay_connect(self, auth: dict) -> bool:
        """Serve connection ``request.sid`` through the process that holds the run it names,
        if another one does; whether it does. ``ProtocolError`` if that process refuses it."""
        owner = self._owner_elsewhere(auth)
        if owner is None:
            return False
        sid = request.sid
        self.relayed[sid] = owner
        try:
            answer = self.relay.call(owner, {"op": "connect", "sid": sid, "auth": auth,
                                             "client": request.remote_addr or ""})
        except RelayTimeout:  # gone, or paused: its lease runs out, and this process takes over
            self.relayed.pop(sid, None)
            return False
        if not answer.get("ok"):
            self.relayed.pop(sid, None)
            raise _refusal(answer)
        self.registry.limit(sid)  # its controls are counted here, where it reached
        return True

    def _owner_elsewhere(self, auth: dict) -> str | None:
        """The other process that holds the run ``auth`` names (a session's, or a room's
        presenter's), if one does."""
        registry = self.registry
        store = registry.mover.store
        if "room" in auth:
            code = normalise_code(auth.get("room"))
            if code is None or code in registry.rooms.by_code:
                return None
            token = store.room_presenter(code)
        else:
            token = auth.get("token")
            token = token if _plausible(token) else None
        if token is None or token in registry.sessions:
            return None
        held = store.holder_of(token)
        return None if held is None or held[0] == store.holder else held[0]

    def _forward(self, owner: str, name: str, payload: dict) -> dict:
        try:
            answer = self.relay.call(owner, {"op": "control", "sid": request.sid, "name": name,
                                             "payload": payload}, CONTROL_TIMEOUT_S)
        except RelayTimeout:
            raise E.ProtocolError(E.BUSY, "the server process running this run did not "
                                  "answer; try again") from None
        if not answer.get("ok"):
            refusal = _refusal(answer)
            if refusal.code == E.MOVED:  # its run left that process: reconnect to reach it
                self.socketio.start_background_task(self._tell_to_reconnect, [request.sid])
            raise refusal
        return answer

    def _on_relayed(self, message: dict) -> None:
        """What another process sends (in order): to this process's connections it serves,
        or about connections of it attached here."""
        op = message.get("op")
        if op == "emit":
            to = message["to"]
            skip = None
            if message.get("lag"):
                manager = self.socketio.server.manager
                skip = self._lagging_of({sid for room in to
                                         for sid, _ in manager.get_participants("/", room)})
            self._local_emit(message["event"], message["data"], to=to, skip_sid=skip)
        elif op in ("enter", "leave"):
            sid = message["sid"]
            if sid in self.relayed:
                server = self.socketio.server
                (server.enter_room if op == "enter" else server.leave_room)(
                    sid, message["room"], namespace="/")
        elif op == "disconnect":
            self.socketio.start_background_task(self._close_relayed, message["sids"])
        elif op == "detach":
            self._forget_remote(message["sid"])

    def _close_relayed(self, sids: list[str]) -> None:
        self.socketio.sleep(0.05)  # what was sent before reaches the sockets first
        for sid in sids:
            if sid in self.relayed:
                self.socketio.server.disconnect(sid, namespace="/", ignore_queue=True)

    # (the process that holds the run)
    def _serve(self, message: dict) -> dict:
        """Attach a connection of another process, or run one of its controls, as if it were
        one of ours: the answer goes back as its acknowledgement (a refusal is not emitted
        here; its own process does that)."""
        sid, holder = message["sid"], message["from"]
        environ = {"REMOTE_ADDR": message.get("client") or "127.0.0.1"}
        with self.app.test_request_context("/", environ_base=environ):
            request.sid, request.namespace = sid, "/"
            try:
                if message["op"] == "connect":
                    if self.stopping:
                        raise E.ProtocolError(E.MOVED, "this server process is stopping; "
                                              "reconnecting to another")
                    if sid in self._gone:
                        raise E.ProtocolError(E.INVALID_STATE, "that connection is gone")
                    self.remote[sid] = holder
                    try:
                        self._admit(message["auth"] if isinstance(message["auth"], dict)
                                    else {})
                    except Exception:
                        self._forget_remote(sid)
                        raise
                    self._ensure_ticker()
                    return {"ok": True}
                if self.remote.get(sid) != holder:
                    raise E.ProtocolError(E.MOVED, "this connection's run is no longer "
                                          "here; reconnecting")
                return {"ok": True, **self._bodies[message["name"]](message["payload"])}
            except E.ProtocolError as exc:
                return {"ok": False, "error": exc.to_dict()}

    def _check_processes(self) -> None:
        """Forget the connections of processes that are gone; send the connections served by
        a process that is gone to reconnect (its runs are taken over wherever they land)."""
        holders = set(self.remote.values()) | set(self.relayed.values())
        if not holders:
            return
        alive = self.relay.listening(holders)
        for sid, holder in list(self.remote.items()):
            if holder not in alive:
                self._forget_remote(sid)
        away = [sid for sid, holder in self.relayed.items() if holder not in alive]
        if away:
            log.warning("%d connections were served by a process that is gone", len(away))
            self.socketio.start_background_task(self._tell_to_reconnect, away)

    def _persist_room(self, room: Room) -> None:
        """Write the room's run's record, the room's state with it (several processes)."""
        runtime = room.runtime
        if self.registry.sessions.get(runtime.token) is runtime:
            with runtime.lock:
                self._persist(runtime)

    def _room_control(self, name: str):
        act = getattr(self, f"_{name}")

        def run(payload: dict) -> dict:
            followed = self.registry.follower(request.sid)
            if name in PRESENTER_CONTROLS:
                if followed is not None:
                    raise E.ProtocolError(E.READ_ONLY, "only the presenter can do that")
                room = self.registry.room_of_presenter(request.sid)
                if room is None and name != "room_open":
                    raise E.ProtocolError(E.NOT_IN_ROOM, "this session presents no room; open "
                                          "one first (room_open)")
                answer = act(room, payload)
                room = room or self.registry.room_of_presenter(request.sid)
            else:
                if followed is None or followed[1] is None:
                    raise E.ProtocolError(E.NOT_IN_ROOM, "only a student in a room can do "
                                          "that")
                room = followed[0]
                answer = act(room, followed[1], payload)
            if self.registry.mover is not None and room is not None:
                self._persist_room(room)  # (several processes) written before acknowledged
            return answer

        return self._handler(name, run)

    def _sweep_control(self, name: str):
        """``sweep_start`` and ``sweep_cancel``: the session's one sweep, run by the sweep
        workers; its progress, rows and end are emitted to the session's connections by the
        runners (server/sweeps.py)."""

        def run(payload: dict) -> dict:
            if self.registry.follower(request.sid) is not None:
                raise E.ProtocolError(E.READ_ONLY, "a sweep is run by a session of its own; "
                                      "a follower of a room cannot start or cancel one")
            runtime = self.registry.runtime_of(request.sid)
            if name == "sweep_cancel":
                return {"cancelled": self.sweeps.cancel(runtime)}
            plan = plan_of(payload, self.settings)
            sweep = self.sweeps.start(runtime, plan)
            return {"sweep": sweep.id, **plan.answer()}

        return self._handler(name, run)

    # --- the presenter's room controls (each gets the room, None for room_open) --------------
    def _room_open(self, room: Room | None, payload: dict) -> dict:
        runtime = self.registry.runtime_of(request.sid)
        room = self.registry.rooms.open(runtime)
        for sid in list(room.presenter_sids):
            self._join(channel(room), sid)
        room.note_presence()
        return {"room": self._presenter_view(room)}

    def _room_close(self, room: Room, payload: dict) -> dict:
        self.registry.rooms.close(room)
        with room.runtime.lock:  # what a follower may carry on with in the explorer
            run = room.runtime.run_spec().to_text()
        self.emit("room", {**room.public(), "closed": True, "run": run},
                           to=channel(room))
        followers = [sid for sid, (r, _) in self.registry.followers.items() if r is room]
        self._disconnect(followers)  # Socket.IO's goodbye: their pages do not reconnect
        for sid in list(room.presenter_sids):
            self._leave(channel(room), sid)
        return {"closed": room.code}

    def _room_ask(self, room: Room, payload: dict) -> dict:
        source = payload.get("source")
        if source is not None:
            self._check_lesson(source["lesson"], source["step"], "source")
        question = self.registry.rooms.ask(room, payload["text"], payload["choices"],
                                           payload.get("correct"), source)
        self._broadcast(room)
        return {"question": question}

    def _room_reveal(self, room: Room, payload: dict) -> dict:
        results = self.registry.rooms.reveal(room)
        self._broadcast(room)
        return {"results": results}

    def _room_release(self, room: Room, payload: dict) -> dict:
        runtime = room.runtime
        with runtime.lock:
            self.registry.rooms.release(room)
            frames = runtime.take_outbox()  # the pause: sent now, before anyone forks
        for frame in frames:
            self.emit("frame", frame, to=runtime.token)
        self._broadcast(room)
        return {"release": room.release}

    def _room_call_back(self, room: Room, payload: dict) -> dict:
        moved = self.registry.rooms.call_back(room)
        sids = [sid for member in moved for sid in member.sids]
        self._broadcast(room)
        if sids:  # their pages show another run now: the room's, from a snapshot
            self._move(sids, room.runtime, {"watching": "room", "then": "snapshot"}, True)
        return {"moved": len(sids)}

    def _room_focus(self, room: Room, payload: dict) -> dict:
        room.focus = {"message": payload.get("message"), "packet": payload.get("packet")}
        self.emit("room_focus", room.focus, to=channel(room))
        return {}

    def _room_lesson(self, room: Room, payload: dict) -> dict:
        lesson, step = payload["lesson"], payload.get("step")
        if lesson is None:
            room.lesson = None
        else:
            found = self._check_lesson(lesson, step, "lesson")
            room.lesson = {"lesson": lesson, "step": step or found.steps[0].id}
        self._broadcast(room)
        return {"lesson": room.lesson}

    def _check_lesson(self, lesson: str, step: str | None, field: str):
        lessons = current_app.extensions.get("delivery_lab_lessons", {})
        found = lessons.get(lesson)
        if found is None:
            raise E.ProtocolError(E.INVALID_VALUE, f"no lesson {lesson[:40]!r}", field)
        if step is not None and step not in {s.id for s in found.steps}:
            raise E.ProtocolError(E.INVALID_VALUE, f"lesson {lesson!r} has no step "
                                  f"{step[:40]!r}", "step" if field == "lesson" else field)
        return found

    # --- a student's room controls ------------------------------------------------------------
    def _room_vote(self, room: Room, member, payload: dict) -> dict:
        self.registry.rooms.vote(room, member, payload["question"], payload["choice"])
        return {"you": room.you(member)}

    def _room_explore(self, room: Room, member, payload: dict) -> dict:
        wanted = payload.get("release", room.release)
        if room.mode == "released" and member.watching == wanted:
            return {"you": room.you(member)}  # already there: nothing to move
        fork, made = self.registry.rooms.fork_for(room, member, self.registry.fork_maker(room),
                                                  payload.get("release"))
        # a new fork goes on from the frame the page holds; a kept one is shown afresh
        watch = {"watching": member.watch_name(), "epoch": fork.epoch,
                 "stream_seq": fork.emitted_seq, "then": "continue" if made else "snapshot"}
        if made:  # no snapshot will name the run this page now shows: the watch does
            with fork.lock:
                watch["run"] = fork.run_spec().to_text()
        self._move(list(member.sids), fork, watch, snapshot=not made)
        return {"you": room.you(member), "watch": watch}

    def _room_follow(self, room: Room, member, payload: dict) -> dict:
        """Leave one's fork (it is kept) and follow the presenter's run again."""
        if member.watching is not None:
            member.watching = None
            self._move(list(member.sids), room.runtime, {"watching": "room", "then": "snapshot"},
                       snapshot=True)
        return {"you": room.you(member)}

    def _move(self, sids: list[str], runtime, watch: dict, snapshot: bool) -> None:
        """Move connections ``sids`` to ``runtime``'s stream; tell them with ``watch`` (one
        message for all of them), then send its snapshot if ``snapshot``."""
        if not sids:
            return
        for sid in sids:
            old = self.registry.move(sid, runtime)
            if old is not None and old is not runtime:
                self._leave(old.token, sid)
            self._join(runtime.token, sid)
        self.emit("watch", watch, to=sids)
        if snapshot:
            with runtime.lock:
                picture = runtime.snapshot()
            self.emit("snapshot", picture, to=sids)

    def _send_parts(self, sid: str, parts: list[dict]) -> None:
        for part in parts:
            self.emit("answer_part", part, to=sid)
            self.socketio.sleep(0)

    def _refuse(self, exc: E.ProtocolError) -> dict:
        error = exc.to_dict()
        self.emit("error", error, to=request.sid)
        return {"ok": False, "error": error}


def _refusal(answer: dict) -> E.ProtocolError:
    """The refusal another process answered, to be answered here alike."""
    error = answer.get("error") or {}
    return E.ProtocolError(str(error.get("code") or E.INTERNAL),
                           str(error.get("message") or "refused"), error.get("field"))
