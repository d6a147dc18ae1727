"""A TCP proxy for tests that cuts, freezes and delays connections at random.

It sits between real clients and the real server on 127.0.0.1. Each accepted connection is
forwarded by two threads (one per direction). A chaos thread, seeded so a failure can be
replayed, picks a live connection every so often and cuts it (both sockets closed at once),
freezes it (nothing forwarded for a while: the peers' buffers fill) or slows it (every chunk
held back). It stops by itself when told to, and ``close()`` ends everything.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time


class Link:
    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self.frozen_until = 0.0
        self.slow_until = 0.0
        self.closed = False

    def cut(self) -> None:
        if self.closed:
            return
        self.closed = True
        for s in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


class ChaosProxy:
    def __init__(self, target_port: int, port: int = 0, seed: int = 1):
        self.target_port = target_port
        self.rng = random.Random(seed)
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.links: list[Link] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.chaos_on = threading.Event()
        self.counts = {"cut": 0, "freeze": 0, "slow": 0, "accepted": 0}
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._chaos, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            link = Link(client, upstream)
            with self.lock:
                self.links.append(link)
                self.counts["accepted"] += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(link, a, b), daemon=True).start()

    def _pump(self, link: Link, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not link.closed:
                while time.monotonic() < link.frozen_until and not link.closed:
                    time.sleep(0.02)
                data = src.recv(65536)
                if not data:
                    break
                if time.monotonic() < link.slow_until:
                    time.sleep(0.15)
                while time.monotonic() < link.frozen_until and not link.closed:
                    time.sleep(0.02)
                dst.sendall(data)
        except OSError:
            pass
        link.cut()

    def _chaos(self) -> None:
        rng = self.rng
        while not self.stopping.is_set():
            time.sleep(rng.uniform(0.4, 1.2))
            if not self.chaos_on.is_set():
                continue
            with self.lock:
                live = [link for link in self.links if not link.closed]
            if not live:
                continue
            link = rng.choice(live)
            action = rng.choice(("cut", "freeze", "slow"))
            if action == "cut":
                link.cut()
            elif action == "freeze":
                link.frozen_until = time.monotonic() + rng.uniform(0.5, 2.5)
            else:
                link.slow_until = time.monotonic() + rng.uniform(0.5, 2.0)
            self.counts[action] += 1

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        with self.lock:
            for link in self.links:
                link.cut()
