"""The plumbing of the fault-injecting TCP proxies the real-broker tests put between a client
library and its broker (``tests/mqtt_real.py``, ``tests/amqp_real.py``): a loopback listener
that forwards each client connection to the broker, two pump threads per connection, and a cut
that closes both sockets at once, as a TCP connection that loses a packet dies. What a proxy
reads in the byte stream (MQTT packets, AMQP frames), records and loses is its own
(``ForwardingProxy._pump``)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Link:
    """One client connection and its upstream connection to the broker."""

    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self.lock = threading.Lock()  # held while forwarding, so a cut forwards nothing after
        self.closed = False

    def cut(self) -> None:
        self.closed = True
        for s in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()


class ForwardingProxy:
    """Listens on a free loopback port and forwards every connection to ``target_port``;
    ``_pump(link, src, dst, to_broker)`` moves one direction's bytes (a subclass reads them)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.lock = threading.Lock()
        self.last_event = time.monotonic()  # last packet, connection or close seen
        self.links: list[Link] = []
        self.stopping = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _touch(self) -> None:
        with self.lock:
            self.last_event = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the proxy last saw a packet, a connection or a close."""
        with self.lock:
            return time.monotonic() - self.last_event

    def snapshot(self) -> list:
        with self.lock:
            return list(self.wire)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                self._touch()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = Link(client, upstream)
            with self.lock:
                if self.stopping:
                    link.cut()
                    return
                self.links.append(link)
                self.last_event = time.monotonic()
            threading.Thread(target=self._pump, args=(link, client, upstream, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(link, upstream, client, False),
                             daemon=True).start()

    def _pump(self, link: Link, src: socket.socket, dst: socket.socket, to_broker: bool) -> None:
        raise NotImplementedError

    def close(self) -> None:
        with self.lock:
            self.stopping = True
            links = list(self.links)
        with contextlib.suppress(OSError):
            self.listener.close()
        for link in links:
            with link.lock:
                link.cut()
