"""The real server's headers and origin checks, as a browser or an attacker's page meets them."""

from __future__ import annotations

import urllib.request

import pytest
import websocket
from conftest import run_server

pytestmark = pytest.mark.live


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, dict(r.headers)


@pytest.mark.parametrize("async_mode", ["eventlet", "gevent"])
def test_the_socket_endpoint_carries_the_security_headers_and_refuses_a_rebound_origin(
        async_mode):
    with run_server(async_mode) as url:
        status, headers = _get(url + "/socket.io/?EIO=4&transport=polling")
        assert status == 200
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        status, headers = _get(url + "/")
        assert headers["Cache-Control"] == "no-cache"
        port = url.rsplit(":", 1)[1]
        ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        own = websocket.create_connection(ws_url, origin=url, timeout=5)
        assert own.recv().startswith("0{")  # the Engine.IO handshake: accepted
        own.close()
        # a page on a hostile name that resolves to this server (DNS rebinding)
        with pytest.raises(websocket.WebSocketException):
            ws = websocket.create_connection(ws_url, origin=f"http://evil.example:{port}",
                                             host=f"evil.example:{port}", timeout=5)
            ws.recv()


def test_public_origins_replace_the_host_header_as_the_servers_own():
    with run_server("eventlet", extra_env={"PUBLIC_ORIGINS": "https://lab.example.org"}) as url:
        ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        ws = websocket.create_connection(ws_url, origin="https://lab.example.org", timeout=5)
        assert ws.recv().startswith("0{")
        ws.close()
        with pytest.raises(websocket.WebSocketException):
            ws = websocket.create_connection(ws_url, origin=url, timeout=5)
            ws.recv()
