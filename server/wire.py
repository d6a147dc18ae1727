"""Reading Socket.IO messages so that every control gets an answer, even one that cannot be read.

Socket.IO's own decoder drops a message it cannot parse (an integer of more than 100 digits,
JSON nested too deeply, an event that is not a list led by its name) after logging it: the
client waits for an acknowledgement that never comes and sees no ``error``. ``TolerantPacket``
turns such an event into the event it names (or ``""`` when no name can be read) with one
``Unreadable`` argument; the handlers refuse it with ``bad_payload`` like any other bad payload.
"""

from __future__ import annotations

import json
import re

from socketio import packet

# The start of an event: type, optional attachments, optional namespace, optional id, '["name"'.
_EVENT_NAME = re.compile(r'^\d(?:\d+-)?(?:/[^,]*,)?\d*\[\s*"((?:[^"\\]|\\.){1,64})"')


class Unreadable:
    """Stands in for a payload the decoder could not read; ``reason`` says why."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unreadable({self.reason!r})"


class TolerantPacket(packet.Packet):
    def decode(self, encoded_packet):
        try:
            count = super().decode(encoded_packet)
        except (ValueError, RecursionError, TypeError) as exc:
            if self.packet_type != packet.EVENT or not isinstance(encoded_packet, str):
                raise  # not a control: Socket.IO's own handling (log, drop) is right
            self.data = [_name_in(encoded_packet), Unreadable(_reason(exc))]
            return 0
        if self.packet_type == packet.EVENT and not (
                isinstance(self.data, list) and self.data and isinstance(self.data[0], str)):
            self.data = ["", Unreadable("an event must be a list that starts with its name")]
        return count


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
