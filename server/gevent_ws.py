"""Websockets under gevent: complete writes, one frame at a time, bounded reads.

Under gevent, Engine.IO serves websockets with simple-websocket's ``Server``, which writes each
frame with a single ``socket.send``. On a gevent socket that writes what fits in the kernel's send
buffer and returns the count, which simple-websocket 1.1.0 ignores (its issue #45): a message
larger than the buffer, or any message to a client whose buffer is full (a slow reader), is cut
short, and the client reads the next message's bytes as the rest of it. (Under eventlet, Engine.IO
uses eventlet's own websocket, which writes in full.)

``install(socketio)`` gives one Engine.IO server (this app's; nothing global is patched) a
websocket class whose connections:

- write every frame in full. A write that loops yields to the event loop between chunks, so each
  connection has a write lock, held from making a frame to its last byte: without it the reader
  greenlet, answering a ping or a close, would put its frame in the middle of a half-written one,
  and frames leave in the order the compressor (permessage-deflate) made them;
- end the connection when a write makes no progress for the Engine.IO ping interval plus timeout
  (what Engine.IO gives eventlet's socket), so a client that stops reading for good does not hold
  a writer and the messages queued behind it;
- read at most ``READ_AHEAD`` messages ahead of Engine.IO (simple-websocket's reader queues all
  it can read, so a fast sender piled its messages up in memory), and refuse a message longer
  than Engine.IO's limit before reading it in, as eventlet's websocket does;
- end the TCP connection with the websocket, so gevent's server does not read the client's late
  close frame as a next HTTP request (and log it).
"""

from __future__ import annotations

import contextlib
import errno
import socket

import simple_websocket
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI


class StalledWrite(TimeoutError):
    """The client took nothing from the connection for the whole stall timeout."""


class _CompleteWrites:
    """A connection's socket whose ``send`` writes every byte, under the connection's lock."""

    def __init__(self, sock, lock, stall_timeout: float):
        self._sock = sock
        self._lock = lock
        self._stall_timeout = stall_timeout
        self._broken = False

    def send(self, data) -> int:
        import gevent

        with self._lock:
            if self._broken:  # a frame was cut short: nothing after it can be read
                raise BrokenPipeError("the connection was cut off mid-frame")
            view = memoryview(data).cast("B")
            try:
                while view:
                    with gevent.Timeout(self._stall_timeout, StalledWrite):
                        sent = self._sock.send(view)
                    view = view[sent:]
            except BaseException:
                if view:
                    self._broken = True
                    with contextlib.suppress(OSError):
                        self._sock.shutdown(socket.SHUT_RDWR)  # the reader ends too
                raise
        return len(data)

    sendall = send

    def __getattr__(self, name):
        return getattr(self._sock, name)


class CompleteWriteServer(simple_websocket.Server):
    """simple-websocket's server side, writing every frame in full and one frame at a time, and
    reading no further ahead of Engine.IO than ``READ_AHEAD`` messages."""

    READ_AHEAD = 8

    def __init__(self, environ, stall_timeout: float = 45.0, **kwargs):
        import gevent.event
        import gevent.lock

        self.write_lock = gevent.lock.RLock()  # before the handshake, which already writes
        self.stall_timeout = stall_timeout
        self._taken = gevent.event.Event()
        super().__init__(environ, **kwargs)

    @property
    def sock(self):
        return self.__dict__.get("_complete_sock")

    @sock.setter
    def sock(self, sock):
        if sock is not None and not isinstance(sock, _CompleteWrites):
            sock = _CompleteWrites(sock, self.write_lock, self.stall_timeout)
        self.__dict__["_complete_sock"] = sock

    def send(self, data):
        with self.write_lock:
            super().send(data)

    def close(self, reason=None, message=None):
        with self.write_lock:
            try:
                super().close(reason=reason, message=message)
            except OSError:  # the peer is gone: closed is closed
                self.connected = False
        self._taken.set()

    def receive(self, timeout=None):
        try:
            return super().receive(timeout)
        finally:
            self._taken.set()

    def _handle_events(self):
        # answers to pings and closes are written here, by the connection's reader
        with self.write_lock:
            keep_going = super()._handle_events()
        # simple-websocket's reader reads all it can and queues every message: a client sending
        # faster than Engine.IO takes its messages would pile them up in memory. Wait for Engine.IO
        # instead; the client's sends then wait in its own buffers (TCP flow control).
        while keep_going and self.connected and len(self.input_buffer) >= self.READ_AHEAD:
            self._taken.clear()
            self._taken.wait(timeout=1.0)
        return keep_going


def install(socketio) -> bool:
    """Make ``socketio``'s Engine.IO server use ``CompleteWriteServer`` for its websockets.

    For ``async_mode="gevent"`` only; returns False (and changes nothing) where websockets are not
    simple-websocket's (another async mode, or gevent-websocket installed).
    """
    eio = socketio.server.eio
    base = eio._async.get("websocket")
    if eio.async_mode != "gevent" or not (isinstance(base, type)
                                           and issubclass(base, SimpleWebSocketWSGI)):
        return False
    stall_timeout = float(eio.ping_interval + eio.ping_timeout)
    # Engine.IO refuses a longer message only once it is whole; eventlet's websocket is told the
    # limit and never reads one in, and so is this one.
    max_message_size = int(eio.max_http_buffer_size)

    class CompleteWriteWSGI(base):
        def __call__(self, environ, start_response):
            self.ws = CompleteWriteServer(environ, stall_timeout=stall_timeout,
                                          **{"max_message_size": max_message_size,
                                             **self.server_args})
            ret = self.app(self)
            if self.ws.mode == "gunicorn":
                raise StopIteration()
            if self.ws.mode == "gevent":
                # The websocket is over (its close frame sent): so is the TCP connection. Else
                # gevent's server reads on for a next request, takes the client's late close
                # frame for one and logs it ("Invalid HTTP method: '\x88...'"). A broken pipe
                # is the one way to tell it so that it closes without a word.
                raise BrokenPipeError(errno.EPIPE, "the websocket is closed")
            return ret

    eio._async = {**eio._async, "websocket": CompleteWriteWSGI}
    return True
