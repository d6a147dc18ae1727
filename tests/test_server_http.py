"""HTTP side: the health check, the page, static files, and the security headers on each."""

from __future__ import annotations

import pytest

from server import create_app
from server.origins import origin_check, own_origins


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


def test_the_page_is_served_at_the_root_and_always_revalidated(http):
    r = http.get("/")
    assert r.status_code == 200 and "text/html" in r.content_type
    assert r.headers["Cache-Control"] == "no-cache"


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


LOOPBACK = own_origins("127.0.0.1", 5000, ())


@pytest.mark.parametrize(("origin", "host", "allowed"), [
    ("http://127.0.0.1:5000", "127.0.0.1:5000", True),
    ("http://localhost:5000", "localhost:5000", True),
    # DNS rebinding: a hostile name resolved to this server sends its own name as Host too
    ("http://evil.example:5000", "evil.example:5000", False),
    ("http://127.0.0.1:5001", "127.0.0.1:5000", False),
])
def test_a_loopback_server_trusts_loopback_origins_not_the_host_header(origin, host, allowed):
    env = {"HTTP_HOST": host, "wsgi.url_scheme": "http"}
    assert origin_check((), LOOPBACK)(origin, env) is allowed


def test_configured_public_origins_are_the_only_own_origins():
    own = own_origins("0.0.0.0", 5000, ("https://lab.example.org",))
    check = origin_check((), own)
    assert check("https://lab.example.org", {"HTTP_HOST": "lab.example.org"})
    assert not check("https://evil.example", {"HTTP_HOST": "evil.example",
                                              "wsgi.url_scheme": "https"})
    # without them, a server on a public address can only go by the Host header
    assert own_origins("0.0.0.0", 5000, ()) is None
