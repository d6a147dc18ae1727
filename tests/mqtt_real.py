"""The MQTT fault cases run against a real broker and a real client library.

``broker()`` starts Debian's mosquitto on a free loopback port with a minimal configuration of
its own. ``FaultProxy`` sits between one paho-mqtt client and that broker, reads the MQTT byte
stream in both directions packet by packet, records the packets of the publish flow and loses
one of them on demand: it swallows the packet and closes both sockets of that connection, as a
TCP connection that loses a packet does. ``run_real(case, version)`` plays one case of
``tests.mqtt_cases``: one subscriber, one publisher, one message, one packet lost, both clients
reconnecting at once, and reports how many times the subscriber's application got the message
with what each hop carried.

``python -m tests.mqtt_real`` runs every case under both protocol versions and prints a table.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.mqtt_cases import CASES, FLOWS, VERSIONS, Case
from tests.tcp_proxy import ForwardingProxy, Link

MOSQUITTO = "/usr/sbin/mosquitto"
KINDS = {3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL", 7: "PUBCOMP"}
TOPIC = "lab/fault"
PAYLOAD = b"the one message"
SETTLE_LIMIT = 10.0  # seconds a case may take to settle before it is reported unsettled
QUIET_DONE = 0.3  # quiet needed once every hop has finished its flow
QUIET_OPEN = 0.7  # quiet needed while a hop's flow never finished (the message was dropped)

Packet = tuple[str, bool, bool]  # (kind, dup, lost)


def mosquitto_path() -> str:
    """The mosquitto binary; raises RuntimeError, saying how to install it, when it is missing."""
    path = MOSQUITTO if os.access(MOSQUITTO, os.X_OK) else shutil.which("mosquitto")
    if not path:
        raise RuntimeError(
            f"mosquitto is not installed ({MOSQUITTO} missing): the MQTT conformance tests need "
            "a real broker. Run ./scripts/system-deps.sh (make test does) to install it.")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, limit: float = 5.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


@contextlib.contextmanager
def broker() -> Iterator[int]:
    """Start a fresh mosquitto on a free 127.0.0.1 port; yield the port; stop it afterwards.

    The configuration is written to a temporary directory: one listener on 127.0.0.1, anonymous
    clients allowed, no persistence, no logging. A port taken between choosing and binding it
    is retried with another.
    """
    binary = mosquitto_path()
    with tempfile.TemporaryDirectory(prefix="mosquitto-") as tmp:
        for _attempt in range(5):
            port = free_port()
            conf = Path(tmp) / "mosquitto.conf"
            conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                            "persistence false\nlog_dest none\n")
            errors = Path(tmp) / "stderr.txt"
            with open(errors, "wb") as err:
                proc = subprocess.Popen([binary, "-c", str(conf)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=err)
            if _wait_listening(port, proc):
                break
            proc.kill()
            proc.wait()
        else:
            raise RuntimeError(f"mosquitto did not start: {errors.read_text(errors='replace')}")
        try:
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _split(buffer: bytearray) -> Iterator[tuple[bytes, int]]:
    """Take every complete MQTT packet off the front of ``buffer``; leave a partial one there.

    Yields each packet with the length of its fixed header.
    """
    while len(buffer) >= 2:
        length, multiplier, pos = 0, 1, 1
        while True:
            if pos >= len(buffer):
                return  # the remaining length is not all here yet
            byte = buffer[pos]
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            pos += 1
            if not byte & 0x80:
                break
            if pos > 4:
                raise ValueError("malformed remaining length")
        end = pos + length
        if len(buffer) < end:
            return
        packet = bytes(buffer[:end])
        del buffer[:end]
        yield packet, pos


def _packet_id(packet: bytes, header: int) -> int | None:
    """The packet identifier of a publish-flow packet (None for a QoS 0 PUBLISH)."""
    if packet[0] >> 4 == 3:
        if not (packet[0] >> 1) & 3:
            return None
        at = header + 2 + int.from_bytes(packet[header:header + 2], "big")
    else:
        at = header
    return int.from_bytes(packet[at:at + 2], "big")


class FaultProxy(ForwardingProxy):
    """Forwards a client's TCP connections to the broker and loses one publish-flow packet.

    ``lose`` names a packet kind (PUBLISH, PUBACK, PUBREC, PUBREL or PUBCOMP): the first packet
    of that kind seen in either direction is not forwarded, is recorded as lost, and both
    sockets of its connection are closed. Later connections are forwarded untouched. ``wire``
    holds every publish-flow packet in the order the proxy saw them, as ``(kind, dup, lost)``
    (``dup`` is the PUBLISH DUP flag, False for the other kinds); ``ids`` holds each one's
    packet identifier (None for QoS 0) at the same index.
    """

    def __init__(self, target_port: int, lose: str | None = None):
        self.lose = lose
        self.lost = False
        self.wire: list[Packet] = []
        self.ids: list[int | None] = []
        super().__init__(target_port)

    def snapshot_ids(self) -> list[int | None]:
        with self.lock:
            return list(self.ids)

    def _pump(self, link: Link, src: socket.socket, dst: socket.socket, to_broker: bool) -> None:
        buffer = bytearray()
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                for packet, header in _split(buffer):
                    if not self._forward(link, dst, packet, header):
                        return
        except (OSError, ValueError):
            pass
        with link.lock:
            link.cut()
        self._touch()

    def _forward(self, link: Link, dst: socket.socket, packet: bytes, header: int) -> bool:
        """Record and forward one packet, or lose it; False once the link is closed."""
        kind = KINDS.get(packet[0] >> 4)
        with link.lock:
            if link.closed:
                return False
            with self.lock:
                self.last_event = time.monotonic()
                lose = kind is not None and kind == self.lose and not self.lost
                if kind is not None:
                    dup = kind == "PUBLISH" and bool(packet[0] & 0x08)
                    self.wire.append((kind, dup, lose))
                    self.ids.append(_packet_id(packet, header))
                if lose:
                    self.lost = True
            if lose:
                link.cut()
                return False
            dst.sendall(packet)
            return True



class _Driven:
    """One paho client driven by a thread of its own that reconnects at once after a drop.

    Every call into paho happens on that thread: ``call`` hands it work to run between two
    passes of the network loop.
    """

    def __init__(self, client_id: str, version: str, persistent: bool, port: int,
                 subscribe: str | None = None):
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.mqtt = mqtt
        self.port = port
        self.subscribe_to = subscribe
        self.v5 = version == "5.0"
        protocol = mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311
        kwargs = {} if self.v5 else {"clean_session": not persistent}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=protocol, **kwargs)
        self.connect_kwargs: dict = {}
        if self.v5:
            self.connect_kwargs["clean_start"] = not persistent
            if persistent:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = 3600  # the session outlives every drop of a case
                self.connect_kwargs["properties"] = props
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.published = threading.Event()
        self.deliveries: list[bool] = []  # the DUP flag of each message on_message got
        self.work: queue.Queue[Callable[[], object]] = queue.Queue()
        self.stop = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_publish = lambda *_: self.published.set()
        self.client.on_message = self._on_message
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            return
        self.connected.set()
        # A new session has no subscription: subscribe again (a kept session still has it).
        if self.subscribe_to and not flags.session_present:
            client.subscribe(self.subscribe_to, qos=2)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()

    def _on_message(self, client, userdata, message) -> None:
        if message.topic == TOPIC and message.payload == PAYLOAD:
            self.deliveries.append(bool(message.dup))

    def start(self) -> None:
        self.client.connect("127.0.0.1", self.port, keepalive=60, **self.connect_kwargs)
        self.thread.start()

    def call(self, fn: Callable[[], object]) -> None:
        self.work.put(fn)

    def _run(self) -> None:
        ok = self.mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        while not self.stop.is_set():
            while True:
                try:
                    fn = self.work.get_nowait()
                except queue.Empty:
                    break
                fn()
            rc = self.client.loop(timeout=0.02)
            if rc != ok and not self.stop.is_set():
                time.sleep(0.02)
                with contextlib.suppress(OSError):
                    self.client.reconnect()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        with contextlib.suppress(Exception):
            self.client.disconnect()


@dataclass
class Observed:
    """What one real run showed: deliveries to the subscriber's application and each hop's wire.

    ``outcome`` is "lost" (0 deliveries), "once" (1) or "duplicate" (2 or more). ``wire`` maps
    hop 1 (publisher <-> broker) and hop 2 (broker <-> subscriber) to the publish-flow packets
    seen there, in order, as ``(kind, dup, lost)``; ``ids`` the packet identifier of each of
    those packets. ``settled`` is False when the flow was still moving at the time limit.
    """

    deliveries: int
    wire: dict[int, list[Packet]] = field(default_factory=dict)
    ids: dict[int, list[int | None]] = field(default_factory=dict)
    settled: bool = True
    outcome: str = field(init=False)

    def __post_init__(self) -> None:
        self.outcome = ("lost", "once")[self.deliveries] if self.deliveries < 2 else "duplicate"


def _hop_finished(wire: list[Packet], qos: int) -> bool:
    """Whether the last publish-flow packet on a hop ends a flow and was delivered."""
    return bool(wire) and wire[-1][0] == FLOWS[qos][-1] and not wire[-1][2]


def run_real(case: Case, version: str) -> Observed:
    """Play ``case`` under MQTT ``version`` ("3.1.1" or "5.0") on a fresh broker; report it.

    The subscriber connects through its proxy and subscribes at QoS 2, the publisher connects
    through its own and publishes one message at the case's QoS; the proxy of the case's hop
    loses the first packet of the case's kind. The run waits until the publisher's flow is
    complete, both clients are connected and the wire has been quiet for a moment (longer when
    the subscriber's hop never finished a flow), or until SETTLE_LIMIT.
    """
    persistent = case.session == "persistent"
    tag = f"{case.id}-{version}"
    with broker() as port:
        proxies = {1: FaultProxy(port, case.kind if case.hop == 1 else None),
                   2: FaultProxy(port, case.kind if case.hop == 2 else None)}
        sub = _Driven(f"sub-{tag}", version, persistent, proxies[2].port, subscribe=TOPIC)
        pub = _Driven(f"pub-{tag}", version, persistent, proxies[1].port)
        try:
            sub.start()
            if not sub.subscribed.wait(5):
                raise RuntimeError(f"{tag}: the subscriber never got its SUBACK")
            pub.start()
            if not pub.connected.wait(5):
                raise RuntimeError(f"{tag}: the publisher never connected")
            pub.call(lambda: pub.client.publish(TOPIC, PAYLOAD, qos=case.qos))
            settled = False
            deadline = time.monotonic() + SETTLE_LIMIT
            while time.monotonic() < deadline:
                time.sleep(0.05)
                if not (pub.published.is_set() and pub.connected.is_set()
                        and sub.connected.is_set()):
                    continue
                quiet = min(p.quiet_for() for p in proxies.values())
                done = _hop_finished(proxies[2].snapshot(), case.qos)
                if quiet >= (QUIET_DONE if done else QUIET_OPEN):
                    settled = True
                    break
        finally:
            pub.close()
            sub.close()
            for proxy in proxies.values():
                proxy.close()
        return Observed(len(sub.deliveries), {h: p.snapshot() for h, p in proxies.items()},
                        {h: p.snapshot_ids() for h, p in proxies.items()}, settled)


def run_all(cases: list[Case] = CASES, versions: tuple[str, ...] = VERSIONS,
            workers: int = 16) -> dict[tuple[str, str], Observed]:
    """Every case under every version, run concurrently; keyed by (case id, version)."""
    jobs = [(case, version) for case in cases for version in versions]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda job: run_real(*job), jobs))
    return {(case.id, version): seen for (case, version), seen in zip(jobs, results, strict=True)}


def wire_text(wire: list[Packet]) -> str:
    """A hop's packets compactly: ``PUBLISH PUBREC✗ PUBLISH(dup) PUBREC PUBREL PUBCOMP``."""
    return " ".join(f"{kind}{'(dup)' if dup else ''}{'✗' if lost else ''}"
                    for kind, dup, lost in wire) or "-"


def main() -> int:
    started = time.monotonic()
    results = run_all()
    rows = [("case", "version", "expect", "real", "hop 1", "hop 2")]
    differ = 0
    for case in CASES:
        for version in VERSIONS:
            seen = results[(case.id, version)]
            mark = "" if seen.outcome == case.expect else " ≠"
            differ += bool(mark)
            real = seen.outcome + ("" if seen.settled else " (unsettled)") + mark
            rows.append((case.id, version, case.expect, real, wire_text(seen.wire[1]),
                         wire_text(seen.wire[2])))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=False))
              + "  " + row[5])
    print(f"\n{len(results)} runs, {differ} differ from the expectation, "
          f"{time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
