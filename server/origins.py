"""Which pages may open a websocket: the server's own origin, plus a configured list."""

from __future__ import annotations

from collections.abc import Callable


def origin_check(extra: tuple[str, ...]) -> Callable[[str | None, dict], bool]:
    """A check for Engine.IO's ``cors_allowed_origins``: same origin, or one of ``extra``."""
    allowed = {o.rstrip("/").lower() for o in extra}
    anything = "*" in allowed

    def allow(origin: str | None, environ: dict) -> bool:
        if not origin:
            return True  # not a browser: nothing to protect against cross-site use
        origin = origin.rstrip("/").lower()
        host = environ.get("HTTP_HOST", "").lower()
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
        return anything or origin == own or origin in allowed

    return allow
