"""HTTP routes (the page, a health check) and the security headers on every response.

The headers are added by a WSGI middleware around the whole app, so the Socket.IO endpoint's own
responses (long-polling, the websocket handshake), which never pass through Flask, carry them too.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify, make_response, render_template

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

pages = Blueprint("pages", __name__)


@pages.get("/")
def index():
    response = make_response(render_template("index.html"))
    response.headers["Cache-Control"] = "no-cache"  # always revalidate: a new release shows
    return response


@pages.get("/healthz")
def healthz():
    registry = current_app.extensions["delivery_lab"].registry
    return jsonify(status="ok", sessions=len(registry.sessions),
                   connections=len(registry.by_sid),
                   async_mode=registry.settings.async_mode)


class SecureHeaders:
    """WSGI middleware: every response gets the security headers it does not set itself."""

    def __init__(self, app):
        self.app = app
        self.headers = [(k, v) for k, v in SECURITY_HEADERS.items()]

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            have = {name.lower() for name, _ in headers}
            headers = list(headers) + [(k, v) for k, v in self.headers if k.lower() not in have]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def install(app: Flask) -> None:
    """Register the routes; wrap the whole app (Socket.IO's endpoint included) in the headers."""
    app.register_blueprint(pages)
    app.wsgi_app = SecureHeaders(app.wsgi_app)
