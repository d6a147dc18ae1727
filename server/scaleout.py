"""Several server processes behind a reverse proxy: the client's address, and the message queue.

Behind nginx every connection comes from nginx's address, so the per-address limits
(``MAX_SESSIONS_PER_CLIENT``, ``JOIN_RATE``) would count a whole lecture hall as one client.
``TrustedProxies`` takes the client's address from ``X-Forwarded-For`` (the right-most entry, the
one the proxy itself added) only for a request whose TCP peer is one of ``TRUSTED_PROXIES``;
anybody else who sends the header keeps their own address. It wraps the whole app, the Socket.IO
endpoint included, so the socket handlers' ``request.remote_addr`` is the forwarded address too.

``SOCKETIO_MESSAGE_QUEUE`` joins the processes' Socket.IO servers through Redis (Flask-SocketIO's
message queue); ``check_message_queue`` makes sure Redis answers before a process starts serving.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

from .settings import SettingsError, redact_url


class TrustedProxies:
    """WSGI middleware: Werkzeug's ``ProxyFix`` (one proxy: ``X-Forwarded-For`` and
    ``X-Forwarded-Proto``; the ``Host`` header is the proxy's to pass on as it came), applied
    only to requests from a trusted proxy. ``ProxyFix`` alone would believe anybody."""

    def __init__(self, app, proxies: Iterable[str]):
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)
        self.networks = tuple(ipaddress.ip_network(p, strict=False) for p in proxies)

    def trusts(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address((peer or "").split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self.trusts(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


def check_message_queue(url: str, timeout_s: float = 5.0) -> None:
    """Raise ``SettingsError`` unless the Redis server at ``url`` answers a ping."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise SettingsError(f"SOCKETIO_MESSAGE_QUEUE: no answer from "
                            f"{redact_url(url)} ({exc})") from None
    finally:
        client.close()
