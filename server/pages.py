"""HTTP routes (the page, a health check) and the security headers on every response."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify, render_template

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
    return render_template("index.html")


@pages.get("/healthz")
def healthz():
    registry = current_app.extensions["delivery_lab"].registry
    return jsonify(status="ok", sessions=len(registry.sessions),
                   connections=len(registry.by_sid),
                   async_mode=registry.settings.async_mode)


def install(app: Flask) -> None:
    app.register_blueprint(pages)

    @app.after_request
    def secure(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
