"""The application factory: a Flask app with its Socket.IO server, sessions and routes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from flask import Flask
from flask_socketio import SocketIO

from . import gevent_ws, pages, wire
from .moving import Mover
from .offload import offloader, semaphore_for
from .origins import origin_check, own_origins
from .registry import SessionRegistry
from .relay import Relay
from .replays import ReplayWorkers
from .runstore import RunStore
from .scaleout import TrustedProxies
from .settings import Settings
from .sockets import LiveServer
from .wire import TolerantPacket

ROOT = Path(__file__).resolve().parent.parent


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    """Build the app. ``overrides`` replace settings (e.g. ``async_mode="threading"``).

    The Socket.IO server is ``app.extensions["socketio"]``; the live side (registry, ticker) is
    ``app.extensions["delivery_lab"]``.
    """
    settings = Settings.from_env() if settings is None else settings
    if overrides:
        settings = replace(settings, **overrides)
        settings.check()
    app = Flask(__name__, static_folder=str(ROOT / "static"),
                template_folder=str(ROOT / "templates"))
    app.config.update(SECRET_KEY=settings.secret_key, DEBUG=False)
    queue = {}
    if settings.socketio_message_queue:  # several processes, joined through Redis
        queue = {"message_queue": settings.socketio_message_queue}
    socketio = SocketIO(
        app, async_mode=settings.async_mode, **queue,
        cors_allowed_origins=origin_check(
            settings.allowed_origins,
            own_origins(settings.host, settings.port, settings.public_origins)),
        ping_interval=settings.ping_interval_s, ping_timeout=settings.ping_timeout_s,
        max_http_buffer_size=settings.engine_buffer_bytes,
        always_connect=True,  # so the first messages follow the connect, in order
        serializer=TolerantPacket,  # a message that cannot be read is still answered
        logger=False, engineio_logger=False,
    )
    if settings.async_mode == "gevent":
        gevent_ws.install(socketio)  # every websocket write complete, one frame at a time
    wire.install(socketio)  # binary, reserved and unreadable packets refused, never a traceback
    offload = offloader(settings.async_mode)
    if settings.replay_workers:
        offload = ReplayWorkers(settings.replay_workers, settings.protocol_modules,
                                semaphore_for(settings.async_mode), fallback=offload)
    registry = SessionRegistry(settings, offload=offload)
    if settings.socketio_message_queue:  # sessions named in Redis, movable between processes
        store = RunStore(settings.socketio_message_queue, holder=_holder(settings),
                         lease_ms=settings.lease_ms)
        registry.mover = Mover(store, sleep=socketio.sleep)
        registry.mover.extra = registry.room_state  # a room moves with its presenter's run
        registry.rooms.shared = store  # rooms counted, found and ended across processes
    live = app.extensions["delivery_lab"] = LiveServer(socketio, registry)
    if settings.socketio_message_queue:  # connections served by the process holding the run
        relay = Relay(settings.socketio_message_queue, holder=store.holder,
                      make_event=socketio.server.eio.create_event,
                      spawn=socketio.start_background_task)
        live.enable_relay(relay, app)
        relay.start()
    pages.install(app, Path(settings.lessons_dir) if settings.lessons_dir else ROOT / "lessons")
    if settings.trusted_proxies:  # outermost: every layer below sees the client's address
        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.trusted_proxies)
    return app


def _holder(settings: Settings) -> str:
    """This process's name on the leases it holds: its instance name, host and pid, and a
    random part (a restarted process is another holder)."""
    import os
    import secrets
    import socket

    name = settings.instance or socket.gethostname()
    return f"{name}:{os.getpid()}:{secrets.token_hex(4)}"
