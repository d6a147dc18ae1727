"""Refusals the server sends back: one exception type, one set of codes, one wire shape.

Every refused control is answered twice with the same object: in its acknowledgement
(``{"ok": false, "error": ...}``) and as an ``error`` event. docs/protocol.md lists the codes.
"""

from __future__ import annotations

# Payload problems: the message itself is wrong.
BAD_PAYLOAD = "bad_payload"          # not an object, wrong number of arguments, not JSON-safe
UNKNOWN_FIELD = "unknown_field"      # a field the control does not take
INVALID_VALUE = "invalid_value"      # wrong type or out of range (``field`` names it)
PAYLOAD_TOO_LARGE = "payload_too_large"
UNKNOWN_EVENT = "unknown_event"      # an event name the server does not handle
RESERVED_EVENT = "reserved_event"    # an event name only Socket.IO itself may use (``connect``)
# Packets the server will not take at all (server/wire.py).
BAD_PACKET = "bad_packet"            # not a packet a client may send, or unreadable
BINARY_REFUSED = "binary_refused"    # binary data: the connection is closed after this error
# Valid messages the session cannot take right now.
INVALID_STATE = "invalid_state"      # e.g. ``step`` while playing
RATE_LIMITED = "rate_limited"
RUN_LIMIT = "run_limit"              # the run would exceed, or has reached, a length limit
TOO_MANY_SESSIONS = "too_many_sessions"
# Rooms (docs/rooms.md).
READ_ONLY = "read_only"              # a follower sent a control only the presenter may send
NOT_IN_ROOM = "not_in_room"          # a room control from a connection that has no such role
ROOM_NOT_FOUND = "room_not_found"    # no room has that join code
ROOM_ENDED = "room_ended"            # the room that code named has ended
ROOM_FULL = "room_full"              # the room has as many students as it may
TOO_MANY_ROOMS = "too_many_rooms"    # the server holds as many rooms as it may
# several processes (server/moving.py): the run is held by, or went to, another process
BUSY = "busy"                        # another process still holds the run: reconnect soon
MOVED = "moved"                      # the run went to another process: reconnect to reach it
INTERNAL = "internal_error"


class ProtocolError(Exception):
    """A refusal with a machine-readable ``code``, a sentence, and the offending field if any."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}
