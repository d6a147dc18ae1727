"""Which pages may open a websocket: the server's own origin, plus a configured list.

The server's own origin is what a browser's ``Origin`` header says when the page was loaded from
this server. Comparing it with the request's ``Host`` header is not enough: a page on a hostile
domain that resolves to this server's address (DNS rebinding) sends its own name as both. So:

- with ``PUBLIC_ORIGINS`` set, the own origins are exactly those;
- else, for a server listening on a loopback address, the loopback origins on its port
  (``http://127.0.0.1:PORT``, ``http://localhost:PORT``, ``http://[::1]:PORT``);
- else (listening on a public address with no public origin configured) the ``Host`` header is
  the only clue, and it is used: set ``PUBLIC_ORIGINS`` in that case (docs/server.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def _norm(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def own_origins(host: str, port: int, public: tuple[str, ...]) -> set[str] | None:
    """The origins that count as the server's own; None: trust the Host header."""
    if public:
        return {_norm(o) for o in public}
    if is_loopback(host):
        return {f"http://{name}:{port}" for name in LOOPBACK_NAMES}
    return None


def origin_check(extra: tuple[str, ...], own: set[str] | None = None
                 ) -> Callable[[str | None, dict], bool]:
    """A check for Engine.IO's ``cors_allowed_origins``: the own origins, or one of ``extra``."""
    allowed = {_norm(o) for o in extra}
    anything = "*" in allowed

    def allow(origin: str | None, environ: dict) -> bool:
        if not origin:
            return True  # not a browser: nothing to protect against cross-site use
        origin = _norm(origin)
        if anything or origin in allowed:
            return True
        if own is not None:
            return origin in own
        host = environ.get("HTTP_HOST", "").lower()
        return origin == f"{environ.get('wsgi.url_scheme', 'http')}://{host}"

    return allow
