"""What arrives on the wire before any handler sees it: every message answered, refused or closed.

Three layers, innermost first:

- ``TolerantPacket`` decodes Socket.IO packets. Socket.IO's own decoder drops a message it cannot
  parse (an integer of more than 100 digits, JSON nested too deeply, an event that is not a list
  led by its name) after logging it: the client waits for an acknowledgement that never comes.
  Such an event becomes the event ``""`` with one ``Unreadable`` argument, which the handlers
  refuse with ``bad_payload`` like any other bad payload. An event a client may not send
  (``connect``, ``disconnect``, ``*`` and Socket.IO's other reserved names: they would run the
  connect or disconnect handler on a live connection) is refused the same way, with
  ``reserved_event``.
- ``MessageGuard`` stands between Engine.IO and Socket.IO. The protocol is JSON text only: a
  binary message, or a Socket.IO binary packet (whose header would make Socket.IO buffer every
  later message as an attachment), gets an ``error`` (``binary_refused``) and the connection is
  closed. A packet Socket.IO cannot take (a ``CONNECT`` on a live connection, a
  ``CONNECT_ERROR`` from a client, an unknown type, broken JSON) gets an ``error``
  (``bad_packet``) and changes nothing, or closes the connection when it has no session to
  answer on. A ``DISCONNECT`` leaves the session and closes the connection.
- ``screen_frames`` checks each websocket text frame is an Engine.IO packet at all (a type digit
  first); anything else closes the connection rather than crash Engine.IO's reader.

Every refusal at these layers logs one short line, at most one a second per connection (and ten
a second in all), with a count of the ones left out: a client sending junk cannot flood the log.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time

from socketio import packet

from . import errors as E
from .window import Encoded

log = logging.getLogger(__name__)

# The start of an event: type, optional attachments, optional namespace, optional id, '["name"'.
_EVENT_NAME = re.compile(r'^\d(?:\d+-)?(?:/[^,]*,)?\d*\[\s*"((?:[^"\\]|\\.){1,64})"')
# Names a client may not send: Socket.IO's reserved event names and the catch-all.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                             "newListener", "removeListener", "*"})
ENGINEIO_TYPES = "0123456"  # open, close, ping, pong, message, upgrade, noop
SOCKETIO_TYPES = "0123456"  # connect, disconnect, event, ack, connect_error, binary event/ack


class Unreadable:
    """Stands in for a payload the server will not take; ``reason`` says why, ``code`` how to
    refuse it (``bad_payload`` unless said otherwise)."""

    def __init__(self, reason: str, code: str = E.BAD_PAYLOAD):
        self.reason = reason
        self.code = code

    def __repr__(self) -> str:
        return f"Unreadable({self.reason!r}, {self.code!r})"


class TolerantPacket(packet.Packet):
    @classmethod
    def data_is_binary(cls, data) -> bool:
        """The server sends JSON only (a client's binary packets are refused, see above): a
        packet it makes is never binary. python-socketio would otherwise walk every frame, event
        by event, to find out, which took twice as long as encoding the frame; bytes in a
        message would now fail loudly, at encoding, instead."""
        return False

    def encode(self):
        """An event whose payload is ``Encoded`` (a frame) is written with the text it carries:
        the same JSON the encoder would make, made once, when the frame was kept."""
        data = self.data
        if (self.packet_type == packet.EVENT and self.id is None and isinstance(data, list)
                and len(data) == 2 and isinstance(data[1], Encoded)):
            head = str(packet.EVENT)
            if self.namespace is not None and self.namespace != "/":
                head += self.namespace + ","
            return f"{head}[{json.dumps(data[0])},{data[1].json}]"
        return super().encode()

    def decode(self, encoded_packet):
        try:
            count = super().decode(encoded_packet)
        except (ValueError, RecursionError, TypeError) as exc:
            if self.packet_type != packet.EVENT or not isinstance(encoded_packet, str):
                raise  # not a control: the message guard answers it
            name = _name_in(encoded_packet)
            self.data = _reserved(name) or [name, Unreadable(_reason(exc))]
            return 0
        if self.packet_type == packet.EVENT:
            if not (isinstance(self.data, list) and self.data and isinstance(self.data[0], str)):
                self.data = ["", Unreadable("an event must be a list that starts with its name")]
            else:
                self.data = _reserved(self.data[0]) or self.data
        return count


def _reserved(name: str) -> list | None:
    if name not in RESERVED_EVENTS:
        return None
    return ["", Unreadable(f"{name[:40]!r} is a reserved event name; a client may not send it",
                           code=E.RESERVED_EVENT)]


def _name_in(encoded: str) -> str:
    match = _EVENT_NAME.match(encoded)
    if not match:
        return ""
    try:
        name = json.loads(f'"{match.group(1)}"')
    except ValueError:
        return ""
    return name if isinstance(name, str) else ""


def _reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "the payload is nested too deeply"
    if "too large" in str(exc):
        return "a number in the payload has more than 100 digits"
    return "the message is not valid JSON"


# --- logging, rate limited --------------------------------------------------------------------
class WireLog:
    """One short warning per refusal: at most ``per_connection`` a second for one connection and
    ``overall`` a second in all; the next line logged says how many were left out."""

    def __init__(self, per_connection: float = 1.0, overall: int = 10, clock=time.monotonic):
        self.per_connection = per_connection
        self.overall = overall
        self.clock = clock
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}
        self._window = (0.0, 0)  # (second it started, lines logged in it)
        self._skipped_overall = 0
        self._lock = threading.Lock()
        self.refused = 0  # every refusal, logged or not

    def note(self, key: str, what: str) -> bool:
        """Count a refusal by connection ``key``; log it unless over a limit. True if logged."""
        with self._lock:
            self.refused += 1
            now = self.clock()
            start, lines = self._window
            if now - start >= 1.0:
                start, lines = now, 0
            if now - self._last.get(key, -1e9) < self.per_connection or lines >= self.overall:
                self._skipped[key] = self._skipped.get(key, 0) + 1
                if lines >= self.overall:
                    self._skipped_overall += 1
                self._window = (start, lines)
                return False
            self._window = (start, lines + 1)
            self._last[key] = now
            skipped = self._skipped.pop(key, 0)
            overall, self._skipped_overall = self._skipped_overall, 0
        extra = f" ({skipped} more from it not logged)" if skipped else ""
        if overall:
            extra += f" ({overall} refusals not logged in all)"
        log.warning("connection %s: %s%s", key, what, extra)
        return True

    def forget(self, key: str) -> None:
        with self._lock:
            self._last.pop(key, None)
            self._skipped.pop(key, None)


# --- between Engine.IO and Socket.IO ----------------------------------------------------------
class MessageGuard:
    """Screens every Engine.IO message before Socket.IO decodes it (see the module docstring).

    ``install`` puts it in place as the Engine.IO server's ``message`` handler; Socket.IO's own
    handler runs for everything it lets through.
    """

    def __init__(self, server, wire_log: WireLog | None = None):
        self.server = server  # socketio.Server
        self.eio = server.eio
        self.log = wire_log or WireLog()
        self._dispatch = self.eio.handlers["message"]
        self._on_eio_disconnect = self.eio.handlers["disconnect"]

    def install(self) -> MessageGuard:
        self.eio.on("message", self.on_message)
        self.eio.on("disconnect", self.on_disconnect)
        return self

    def on_disconnect(self, eio_sid, *args):
        self.log.forget(eio_sid)
        return self._on_eio_disconnect(eio_sid, *args)

    def on_message(self, eio_sid, data):
        sock = self.eio.sockets.get(eio_sid)
        if sock is None or sock.closing or sock.closed:
            return None  # refused and closing (or gone): read no further
        if isinstance(data, (bytes, bytearray)):
            return self._refuse_binary(eio_sid, "sent a binary message")
        if not isinstance(data, str) or not data or data[0] not in SOCKETIO_TYPES:
            return self._bad_packet(eio_sid, "not a Socket.IO packet")
        kind = int(data[0])
        if kind in (packet.BINARY_EVENT, packet.BINARY_ACK):
            return self._refuse_binary(eio_sid, "sent a binary Socket.IO packet")
        if kind == packet.CONNECT_ERROR:
            return self._bad_packet(eio_sid, "a client may not send CONNECT_ERROR")
        on_root = _namespace_of(data) == "/"
        if on_root and kind == packet.CONNECT and self._sid(eio_sid):
            return self._bad_packet(eio_sid, "already connected")
        if on_root and kind in (packet.EVENT, packet.ACK) and not self._sid(eio_sid):
            return self._bad_packet(eio_sid, "a message before connecting")
        if kind != packet.EVENT:  # events always decode (TolerantPacket); the rest are rare
            try:
                self.server.packet_class(encoded_packet=data)
            except Exception as exc:  # Socket.IO cannot read it: answer, never a traceback
                return self._bad_packet(eio_sid, f"an unreadable packet ({type(exc).__name__})")
        try:
            self._dispatch(eio_sid, data)
        except Exception:  # a bug of the server's, not the client's: log it in full
            log.exception("connection %s: a packet failed", eio_sid)
            return None
        if kind == packet.DISCONNECT and on_root:
            self._close(eio_sid)  # it left the only namespace there is: nothing more to say
        return None

    # --- answers --------------------------------------------------------------------------------
    def _sid(self, eio_sid) -> str | None:
        return self.server.manager.sid_from_eio_sid(eio_sid, "/")

    def _bad_packet(self, eio_sid, what: str):
        sid = self._sid(eio_sid)
        if sid is None:  # no session to answer on
            self.log.note(eio_sid, f"{what}; closed")
            return self._close(eio_sid)
        self.log.note(eio_sid, f"{what}; refused")
        error = E.ProtocolError(E.BAD_PACKET, f"the server could not take that packet: {what}")
        self.server.emit("error", error.to_dict(), to=sid, namespace="/", ignore_queue=True)
        return None

    def _refuse_binary(self, eio_sid, what: str):
        self.log.note(eio_sid, f"{what}; closed")
        sid = self._sid(eio_sid)
        if sid is not None:
            error = E.ProtocolError(E.BINARY_REFUSED, "this protocol is JSON text only: binary "
                                    "messages are refused and the connection is closed")
            self.server.emit("error", error.to_dict(), to=sid, namespace="/", ignore_queue=True)
            # Socket.IO's goodbye: do not reconnect
            self.server.disconnect(sid, namespace="/", ignore_queue=True)
        return self._close(eio_sid)

    def _close(self, eio_sid) -> None:
        """Close the transport once what is queued for it is sent; never wait for that here."""
        sock = self.eio.sockets.get(eio_sid)
        if sock is not None:
            sock.close(wait=False, abort=False, reason=self.eio.reason.SERVER_DISCONNECT)


def _namespace_of(data: str) -> str:
    rest = data[1:]
    if rest.startswith("/"):
        end = min((i for i in (rest.find(","), rest.find("?")) if i != -1), default=len(rest))
        return rest[:end]
    return "/"


# --- websocket frames -------------------------------------------------------------------------
class _ScreenedSocket:
    """A websocket whose ``wait`` ends the connection at a frame that is not Engine.IO."""

    def __init__(self, ws, key: str, wire_log: WireLog):
        self._ws = ws
        self._key = key
        self._log = wire_log

    def wait(self):
        data = self._ws.wait()
        if isinstance(data, str) and (not data or data[0] not in ENGINEIO_TYPES):
            self._log.note(self._key, "sent a text frame that is not an Engine.IO packet; closed")
            return None  # what a closed connection returns: Engine.IO closes cleanly
        return data

    def __getattr__(self, name):
        return getattr(self._ws, name)


def screen_frames(eio, wire_log: WireLog) -> None:
    """Wrap ``eio``'s websocket class so every connection's frames are screened (this server
    only: the class is replaced on the instance, nothing global changes)."""
    base = eio._async.get("websocket")
    if base is None:
        return

    class ScreenedWebSocket(base):
        def __init__(self, handler, server):
            def screened(ws):
                key = getattr(getattr(handler, "__self__", None), "sid", None) or hex(id(ws))
                return handler(_ScreenedSocket(ws, key, wire_log))

            super().__init__(screened, server)

    eio._async = {**eio._async, "websocket": ScreenedWebSocket}


def install(socketio) -> MessageGuard:
    """Put the wire checks in place on a Flask-SocketIO ``socketio`` (after it is built)."""
    wire_log = WireLog()
    screen_frames(socketio.server.eio, wire_log)
    return MessageGuard(socketio.server, wire_log).install()
