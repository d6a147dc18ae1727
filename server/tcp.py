"""Switch off Nagle's algorithm on a client's socket.

A refused control is answered with two small messages (the ``error`` event and the
acknowledgement); with Nagle on, the second waits for the client's delayed ACK, about 40 ms.
The servers do not expose their accepted sockets, so this digs the socket out of the WSGI
environment the way the websocket layer itself does; where it cannot, nothing changes.
"""

from __future__ import annotations

import contextlib
import socket


def set_nodelay(environ: dict) -> bool:
    sock = _socket_of(environ)
    if sock is None:
        return False
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True
    return False


def _socket_of(environ: dict):
    with contextlib.suppress(Exception):
        if "eventlet.input" in environ:
            return environ["eventlet.input"].get_socket()
        if "werkzeug.socket" in environ:
            return environ["werkzeug.socket"]
        stream = environ.get("wsgi.input")
        stream = getattr(stream, "rfile", stream)
        return stream.raw._sock
    return None
