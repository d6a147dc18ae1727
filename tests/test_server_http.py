"""HTTP side: the health check, the page, static files, and the security headers on each."""

from __future__ import annotations

import pytest

from server import create_app
from server.origins import origin_check


@pytest.fixture
def http():
    return create_app(async_mode="threading", autostart_ticker=False).test_client()


def test_healthz_answers_ok(http):
    r = http.get("/healthz")
    assert r.status_code == 200 and r.json["status"] == "ok"
    assert r.json["sessions"] == 0


@pytest.mark.parametrize("path", ["/healthz", "/static/vendor/socket.io.esm.min.js", "/nothing"])
def test_every_response_carries_a_strict_content_security_policy(http, path):
    r = http.get(path)
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_static_modules_are_served_as_javascript(http):
    r = http.get("/static/vendor/socket.io.esm.min.js")
    assert r.status_code == 200 and "javascript" in r.content_type


def test_the_page_is_served_at_the_root(http):
    r = http.get("/")
    assert r.status_code == 200 and "text/html" in r.content_type


def test_the_debugger_is_never_on():
    app = create_app(async_mode="threading", autostart_ticker=False)
    assert app.debug is False


ENV = {"HTTP_HOST": "127.0.0.1:5000", "wsgi.url_scheme": "http"}


@pytest.mark.parametrize(("origin", "allowed"), [
    ("http://127.0.0.1:5000", True),
    ("http://127.0.0.1:5001", False),
    ("https://127.0.0.1:5000", False),
    ("http://evil.example", False),
    ("https://lab.example", True),
    (None, True),
])
def test_websocket_origins_are_the_pages_own_or_listed(origin, allowed):
    assert origin_check(("https://lab.example",))(origin, ENV) is allowed
