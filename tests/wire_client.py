"""A raw Socket.IO client for wire-level tests: Engine.IO and Socket.IO packets written by hand over
a real websocket, so a test can send what no well-behaved client library would (reserved event
names, binary frames, broken headers) and see every byte the server sends back.

Single-threaded: nothing is read unless the test reads, which is how a slow reader is made.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import socket
import time
import urllib.request

import websocket
from live_client import assemble

# Engine.IO packet types (text frames start with one of these digits).
EIO_OPEN, EIO_CLOSE, EIO_PING, EIO_PONG, EIO_MESSAGE, EIO_UPGRADE, EIO_NOOP = "0123456"
_SIO = re.compile(r"^(\d)(?:(\d+)-)?(?:(/[^,]*),)?(\d*)(.*)$", re.S)


class Closed(Exception):
    """The server closed the connection (or it broke)."""


class Packet:
    """One Socket.IO packet received: ``kind`` (0..6), ``id`` (or None), ``data`` (parsed JSON)."""

    def __init__(self, kind: int, id: int | None, data):
        self.kind, self.id, self.data = kind, id, data

    @property
    def event(self) -> str | None:
        return self.data[0] if self.kind == 2 else None

    def __repr__(self) -> str:
        text = json.dumps(self.data)
        return f"Packet({self.kind}, {self.id}, {text[:80]}{'...' if len(text) > 80 else ''})"


def parse_message(text: str) -> Packet:
    """Parse the Socket.IO packet inside an Engine.IO message (``text`` without its ``4``).

    Raises ``ValueError`` when it is not a well-formed packet with a JSON payload.
    """
    match = _SIO.match(text)
    if not match:
        raise ValueError(f"not a Socket.IO packet: {text[:60]!r}")
    kind, attachments, _namespace, id_, rest = match.groups()
    if attachments:
        raise ValueError("the server sent a binary packet")
    data = json.loads(rest) if rest else None
    return Packet(int(kind), int(id_) if id_ else None, data)


def health(url: str) -> dict:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
        return json.load(r)


class RawClient:
    """One websocket to the server. ``connect=True`` also joins the namespace (``40``) and reads the
    ``session`` message; ``rcvbuf`` shrinks the socket's receive buffer (a slow reader's window)."""

    def __init__(self, url: str, auth: dict | None = None, connect: bool = True,
                 rcvbuf: int | None = None, timeout: float = 10, first_id: int = 1):
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        sockopt = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        if rcvbuf:
            sockopt.append((socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf))
        self.ws = websocket.create_connection(ws_url, timeout=timeout, sockopt=sockopt,
                                              skip_utf8_validation=True)
        self.packets: list[Packet] = []  # every Socket.IO packet received, in order
        self.raw: list[str | bytes] = []  # every Engine.IO message received, as sent
        self.pongs: list[bytes] = []  # payloads of websocket pongs received
        self.closed = False
        self._ids = itertools.count(first_id)  # acknowledgement ids of ``call``
        opening = self.ws.recv()
        assert opening.startswith(EIO_OPEN), opening
        self.handshake = json.loads(opening[1:])
        self.session = None
        if connect:
            self.send_text("40" + json.dumps(auth or {}))
            self.session = self.wait_event("session")

    # --- sending ------------------------------------------------------------------------------
    def send_text(self, text: str) -> None:
        """Send one Engine.IO packet as a text frame (``"42[...]"`` is a Socket.IO event)."""
        self._send(self.ws.send, text)

    def send_binary(self, data: bytes) -> None:
        self._send(self.ws.send_binary, data)

    def _send(self, send, data) -> None:
        try:
            send(data)
        except (websocket.WebSocketConnectionClosedException, OSError) as exc:
            self.closed = True
            raise Closed() from exc

    def ping(self, payload: bytes) -> None:
        """A websocket ping (not Engine.IO's): the server's websocket layer answers it."""
        self.ws.ping(payload)

    def emit(self, event, *args, id: int | None = None) -> None:
        self.send_text(f"42{'' if id is None else id}" + json.dumps([event, *args]))

    def call(self, event, *args, timeout: float = 10):
        """Emit with an acknowledgement id and return the acknowledgement's first argument."""
        id_ = next(self._ids)
        self.emit(event, *args, id=id_)
        packet = self.wait_for(lambda p: p.kind == 3 and p.id == id_, timeout, f"ack of {event}")
        return packet.data[0] if packet.data else None

    # --- receiving ----------------------------------------------------------------------------
    def read(self, timeout: float = 10) -> Packet | None:
        """Read one Engine.IO packet; answer pings; return the Socket.IO packet if it was one,
        ``None`` otherwise (or on timeout). Raises ``Closed`` once the connection is closed."""
        if self.closed:
            raise Closed()
        self.ws.settimeout(timeout)
        try:
            opcode, data = self.ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            return None
        except (websocket.WebSocketConnectionClosedException, OSError) as exc:
            self.closed = True
            raise Closed() from exc
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.closed = True
            raise Closed()
        if opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
            if opcode == websocket.ABNF.OPCODE_PONG:
                self.pongs.append(data)
            return None
        if opcode == websocket.ABNF.OPCODE_BINARY:
            self.raw.append(data)
            raise AssertionError(f"the server sent a binary frame: {data[:40]!r}")
        text = data.decode()
        self.raw.append(text)
        if text == EIO_PING:
            self.send_text(EIO_PONG)
            return None
        if text == EIO_CLOSE:
            self.closed = True
            raise Closed()
        if not text.startswith(EIO_MESSAGE):
            return None
        packet = parse_message(text[1:])
        self.packets.append(packet)
        return packet

    def wait_for(self, predicate, timeout: float = 10, what: str = "a packet") -> Packet:
        """Read until a packet matches ``predicate`` (packets read earlier count too)."""
        for packet in self.packets:
            if predicate(packet):
                return packet
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for {what}"
            packet = self.read(min(left, 1.0))
            if packet is not None and predicate(packet):
                return packet

    def wait_event(self, name: str, timeout: float = 10, where=lambda data: True):
        return self.wait_for(lambda p: p.event == name and where(p.data[1] if len(p.data) > 1
                                                                 else None),
                             timeout, name).data[1]

    def of(self, name: str) -> list:
        return [p.data[1] for p in self.packets if p.event == name]

    def whole(self, answer: dict, timeout: float = 60) -> dict:
        """``answer`` with the parts that follow it (``answer_part``, docs/protocol.md) put back
        in, once they have all arrived, in order."""
        more = answer.get("more")
        if not more:
            return answer
        ident, count = more["id"], more["parts"]

        def parts():
            return [d for d in self.of("answer_part") if d["id"] == ident]

        self.wait_for(lambda _: len(parts()) >= count - 1, timeout, f"the parts of answer {ident}")
        got = parts()
        assert [d["part"] for d in got] == list(range(2, count + 1))  # sent in order
        return assemble(answer, got)

    def wait_closed(self, timeout: float = 10) -> bool:
        """Read (and keep) everything until the server closes the connection; False on timeout."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(Closed):
            while time.monotonic() < deadline:
                self.read(min(1.0, max(0.01, deadline - time.monotonic())))
        return self.closed

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(Exception):
            self.ws.close(timeout=1)


# --- the server process -----------------------------------------------------------------------
def server_log(url: str, async_mode: str) -> str:
    """What the server started by ``conftest.run_server`` at ``url`` has logged so far."""
    from conftest import ARTIFACTS

    port = url.rsplit(":", 1)[1]
    return (ARTIFACTS / f"server-{async_mode}-{port}.log").read_text(errors="replace")


def rss_mb(url: str) -> float:
    """The resident memory of the server process at ``url``, in MB (from /proc)."""
    from conftest import SERVER_PIDS

    with open(f"/proc/{SERVER_PIDS[url]}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")
