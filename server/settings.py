"""Server settings: every knob in one place, read from environment variables.

Each setting has a default sized for one machine serving a classroom. ``Settings.from_env`` refuses
a bad value with a message naming the variable, so a typo never starts a server with a surprise.
The full list with meanings is in docs/server.md.
"""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
from dataclasses import dataclass, field, fields, replace
from urllib.parse import urlsplit, urlunsplit

from simulator.config import MAX_MESSAGES
from simulator.sweep import MAX_POINTS

ASYNC_MODES = ("eventlet", "gevent", "threading")


class SettingsError(ValueError):
    """An environment variable holds a value the server cannot use."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    async_mode: str = "eventlet"
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    # Extra origins allowed to open a websocket, besides the page's own origin.
    allowed_origins: tuple[str, ...] = ()
    # The page's own public origin(s), e.g. https://lab.example.org. When set, a websocket is
    # same-origin only if its Origin is one of these (the Host header is not trusted); when
    # unset, a server on a loopback address accepts only loopback origins on its port.
    public_origins: tuple[str, ...] = ()
    # Connection cap of the eventlet/gevent server (eventlet's own default is 1024).
    max_connections: int = 5000
    # Sessions (runs) one client address may own at once, attached or waiting to be resumed.
    max_sessions_per_client: int = 20
    # Sessions the whole server keeps at once; a new one first ends the longest detached one.
    max_sessions: int = 2000
    # Packets waiting in one connection's send queue before its frames are skipped (it resyncs
    # when it reads again) instead of piling up in memory.
    send_queue_max: int = 64
    # A session that sent no frame for this long tells its clients where its stream stands, so a
    # client that lost the last frame of a run notices the gap.
    heartbeat_s: float = 2.0
    # Engine.IO's keep-alive: a client that answers no ping for interval + timeout is closed.
    ping_interval_s: float = 25.0
    ping_timeout_s: float = 20.0
    # Controls per second per connection (token bucket: sustained rate and burst).
    control_rate: float = 20.0
    control_burst: int = 40
    # Largest control payload, in bytes of JSON; the transport refuses far larger messages.
    max_payload_bytes: int = 16_384
    # A long answer (a resync's frames or catch-up) is sent in parts of about this many bytes.
    max_message_bytes: int = 262_144
    # A run stops at whichever comes first.
    max_run_messages: int = 10_000
    max_run_time_ms: float = 3_600_000.0
    max_run_events: int = 200_000
    # Live changes (configure, inject) one run may take: its log is replayed by every step back.
    max_live_changes: int = 1_000
    # Replay time (step back, catch-up) one session may spend: seconds per second, and at once.
    replay_rate: float = 0.02
    replay_burst_s: float = 1.0
    # Worker processes that replay (step back, catch-up), so replays never take the interpreter
    # from the event loop; 0 replays in the server's own process.
    replay_workers: int = 1
    # A run rebuilt in a worker comes back as bytes, read back on the event loop (a typical
    # run's in about a millisecond; a swamped consumer's thousands of waiting messages take up
    # to a few hundred). One that would hold the loop longer than this is replayed in the
    # server's process instead, sharing the interpreter with the loop.
    max_loop_pause_s: float = 0.1
    # Sweeps (docs/protocol.md, "Sweeps"): worker processes that run sweep points, shared by
    # every session's sweep in turn (at least 1: a point never runs in the server's process);
    # runs one sweep may ask for (values x semantics x seeds); messages in each of them.
    sweep_workers: int = field(default_factory=lambda: max(1, (os.cpu_count() or 1) - 1))
    max_sweep_runs: int = 300
    max_sweep_messages_per_run: int = 20_000
    # What a session keeps for late joiners: recent events (snapshot) and recent frames (resync).
    events_kept: int = 500
    frames_kept: int = 300
    frame_rate: float = 30.0
    max_events_per_frame: int = 500
    # How long a session without any connection waits to be resumed before it is reaped.
    session_ttl_s: float = 300.0
    # Rooms (docs/rooms.md): rooms one server holds, students (and their forks) one room holds,
    # and how long a room nobody is connected to waits for its presenter before it ends.
    max_rooms: int = 50
    max_room_students: int = 400
    room_ttl_s: float = 1800.0
    # Wrong join codes one client address may try: a burst, then this many a second.
    join_rate: float = 0.2
    join_burst: int = 20
    # The protocol new sessions run (docs/protocols.md), and Python modules to import first:
    # each registers the protocols it defines (e.g. PROTOCOL_MODULES=mylab.relay).
    protocol: str = "classic"
    protocol_modules: tuple[str, ...] = ()
    # The folder of lesson files (docs/lessons.md); empty: the project's lessons/.
    lessons_dir: str = ""
    # Several processes (README, "Deploying several processes"): the Redis URL that joins their
    # Socket.IO servers (empty: one process on its own); the reverse proxies whose
    # X-Forwarded-For names the client (empty: trust none); a name for this process in its logs.
    socketio_message_queue: str = field(default="", repr=False)  # may hold a password
    trusted_proxies: tuple[str, ...] = ()
    instance: str = ""
    # How long a process's hold on a run lasts unless renewed (server/runstore.py): a process
    # that dies hands its runs on after at most this long.
    lease_ms: int = 3000
    # Start the shared frame ticker on the first connection (tests drive it by hand).
    autostart_ticker: bool = True

    @property
    def engine_buffer_bytes(self) -> int:
        """The transport's hard cap: a message beyond it closes the connection."""
        return 4 * self.max_payload_bytes

    def limits(self) -> dict:
        """The limits a client may want to know, sent in the ``session`` message."""
        return {
            "speed_min": SPEED_MIN, "speed_max": SPEED_MAX,
            "control_rate": self.control_rate, "control_burst": self.control_burst,
            "max_payload_bytes": self.max_payload_bytes,
            "max_run_messages": self.max_run_messages, "max_run_time_ms": self.max_run_time_ms,
            "max_run_events": self.max_run_events, "max_live_changes": self.max_live_changes,
            "events_kept": self.events_kept, "frames_kept": self.frames_kept,
            "frame_rate": self.frame_rate, "session_ttl_s": self.session_ttl_s,
            "max_sessions_per_client": self.max_sessions_per_client,
            "heartbeat_s": self.heartbeat_s, "max_message_bytes": self.max_message_bytes,
            "max_rooms": self.max_rooms, "max_room_students": self.max_room_students,
            "room_ttl_s": self.room_ttl_s,
            "max_sweep_runs": self.max_sweep_runs,
            "max_sweep_messages_per_run": self.max_sweep_messages_per_run,
        }

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> Settings:
        """Defaults, then environment variables (upper-case field names), then ``overrides``."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name = f.name.upper()
            if name in environ and f.name != "autostart_ticker":
                values[f.name] = _parse(name, f.type, environ[name])
        values.update(overrides)
        settings = replace(cls(), **values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.async_mode not in ASYNC_MODES:
            raise SettingsError(f"ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}")
        if not 0 < self.port < 65536:
            raise SettingsError("PORT must be between 1 and 65535")
        positive = ("max_connections", "max_sessions_per_client", "max_sessions",
                    "send_queue_max", "heartbeat_s", "lease_ms", "max_message_bytes",
                    "ping_interval_s", "ping_timeout_s", "replay_rate", "replay_burst_s",
                    "control_rate", "control_burst", "max_loop_pause_s",
                    "max_payload_bytes", "max_run_messages", "max_run_time_ms", "max_run_events",
                    "max_live_changes", "events_kept", "frames_kept", "frame_rate",
                    "max_events_per_frame", "session_ttl_s", "max_rooms", "max_room_students",
                    "room_ttl_s", "join_rate", "join_burst")
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name.upper()} must be greater than 0")
        if not 0 <= self.replay_workers <= 64:
            raise SettingsError("REPLAY_WORKERS must be between 0 and 64")
        if not 1 <= self.sweep_workers <= 64:
            raise SettingsError("SWEEP_WORKERS must be between 1 and 64")
        if not 1 <= self.max_sweep_runs <= MAX_POINTS:
            raise SettingsError(f"MAX_SWEEP_RUNS must be between 1 and {MAX_POINTS}")
        if not MIN_SWEEP_MESSAGES <= self.max_sweep_messages_per_run <= MAX_MESSAGES:
            raise SettingsError(f"MAX_SWEEP_MESSAGES_PER_RUN must be between "
                                f"{MIN_SWEEP_MESSAGES} and {MAX_MESSAGES}")
        if self.frame_rate > 120:
            raise SettingsError("FRAME_RATE must be at most 120")
        if len(self.secret_key) < 16:
            raise SettingsError("SECRET_KEY must be at least 16 characters")
        for origin in self.allowed_origins:
            if origin != "*" and "://" not in origin:
                raise SettingsError(f"ALLOWED_ORIGINS: {origin!r} is not scheme://host[:port]")
        from simulator import protocols

        for module in self.protocol_modules:
            try:
                protocols.load(module)
            except ImportError as exc:
                raise SettingsError(f"PROTOCOL_MODULES: cannot import {module!r} ({exc})") \
                    from None
        if self.protocol not in protocols.names():
            raise SettingsError(f"PROTOCOL must be one of {', '.join(protocols.names())}")
        for origin in self.public_origins:
            if "://" not in origin or origin == "*":
                raise SettingsError(f"PUBLIC_ORIGINS: {origin!r} is not scheme://host[:port]")
        if self.socketio_message_queue:
            _check_queue_url(self.socketio_message_queue)
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(f"TRUSTED_PROXIES: {proxy!r} is not an IP address or "
                                    "network (e.g. 127.0.0.1 or 10.0.0.0/8)") from None
        if len(self.instance) > 64 or not self.instance.isprintable():
            raise SettingsError("INSTANCE must be at most 64 printable characters")


SPEED_MIN = 0.1
SPEED_MAX = 50.0
MIN_SWEEP_MESSAGES = 100  # a sweep's runs send at least this many messages each


QUEUE_SCHEMES = ("redis", "rediss")


def _check_queue_url(url: str) -> None:
    """A Redis URL Flask-SocketIO's message queue can use: redis:// or rediss://, a valid port."""
    try:
        shown = redact_url(url)
        parts = urlsplit(url)
    except ValueError:
        raise SettingsError("SOCKETIO_MESSAGE_QUEUE is not a URL (e.g. redis://127.0.0.1:6379/0)"
                            ) from None
    if parts.scheme not in QUEUE_SCHEMES:
        raise SettingsError(f"SOCKETIO_MESSAGE_QUEUE must be a redis:// or rediss:// URL "
                            f"(e.g. redis://127.0.0.1:6379/0), not {shown!r}")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise SettingsError(f"SOCKETIO_MESSAGE_QUEUE: {shown!r} has a bad port") from None
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise SettingsError(f"SOCKETIO_MESSAGE_QUEUE: the database in {shown!r} must be a "
                            "number (redis://host:port/0)")


def redact_url(url: str) -> str:
    """``url`` fit for an error message or a log: its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _parse(name: str, kind: str, raw: str):
    raw = raw.strip()
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
    except ValueError:
        raise SettingsError(f"{name} must be a {'whole ' if kind == 'int' else ''}number, "
                            f"not {raw!r}") from None
    if kind == "tuple[str, ...]":
        return tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    return raw
