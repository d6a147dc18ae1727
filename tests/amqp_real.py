"""The AMQP 0-9-1 fault cases run against a real RabbitMQ and a real client library (pika).

``rabbit_node()`` starts a RabbitMQ node of its own: a fresh node name, free loopback ports for
AMQP, Erlang distribution and a port mapper (epmd) of its own, its database, logs, configuration
and an empty plugin list in a temporary directory. It never touches a system node or service.
``Node.restart()`` stops that node cleanly (SIGTERM) and starts it again on the same database:
a durable queue and its persistent messages come back, a transient queue does not.
``Node.restart(crash=True)`` kills it instead (SIGKILL), as a power cut or a crash would.

``FaultProxy`` sits between one pika client and the node, reads the AMQP byte stream in both
directions frame by frame, records the methods of the message flow (basic.publish, basic.ack,
basic.nack, basic.return, basic.deliver) and loses one of them on demand: it swallows the first
frame of that method, forwards nothing after it (not its content frames either) and closes both
sockets, as a TCP connection that loses a segment ends up doing.

``run_real(case)`` plays one case of ``tests.amqp_cases``: a direct exchange and a queue of the
case's own, one consumer behind the hop 2 proxy, one publisher behind the hop 1 proxy publishing
one message; both clients connect again at once after their connection dies, and the publisher
republishes the message when confirms are on and it was not confirmed. ``run_all()`` plays every
case on one node: the cases that restart the broker together, the others all at once.

``EXTRA`` holds what the harness plays beyond the case table: the broker crashing (not stopping)
while a persistent message waits in a durable queue.

``python -m tests.amqp_real`` runs every case and prints a table.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.amqp_cases import CASES, QUEUES, Case, Observed
from tests.tcp_proxy import ForwardingProxy, Link

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # Debian's, without the su wrapper
METHODS = {(60, 40): "basic.publish", (60, 50): "basic.return", (60, 60): "basic.deliver",
           (60, 80): "basic.ack", (60, 120): "basic.nack"}
PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
FRAME_END = 0xCE
PAYLOAD = b"the one message"
RECONNECT = 0.05  # seconds a client waits before connecting again
QUIET = 0.5  # seconds both hops must be quiet, once the flow can have ended, to call it settled
SETTLE_LIMIT = 15.0  # seconds a case may take to settle before it is reported unsettled
BOOT_LIMIT = 90.0  # seconds the node may take to accept AMQP connections
STOP_LIMIT = 30.0  # seconds the node may take to stop when asked

Frame = tuple[str, bool]  # (method, lost)

# Stopped cleanly rather than killed (the model's broker only crashes), RabbitMQ recovers a
# confirmed persistent message of a durable queue and knows it never delivered it: redelivered
# stays false. Killed, it cannot tell, and marks it redelivered (the case table's crash cases).
EXTRA = [Case("broker-stop-durable", "restart-broker:while-queued", "once", (False,), QUEUES,
              durable=True)]


def rabbitmq_paths() -> tuple[str, str]:
    """The RabbitMQ server script and the port mapper (epmd); raises RuntimeError, saying how to
    install them, when either is missing."""
    server = (RABBITMQ_SERVER if os.access(RABBITMQ_SERVER, os.X_OK)
              else shutil.which("rabbitmq-server"))
    epmd = shutil.which("epmd") or shutil.which("epmd", path="/usr/lib/erlang/bin")
    if not server or not epmd:
        raise RuntimeError(
            f"rabbitmq-server is not installed ({RABBITMQ_SERVER} missing): the AMQP conformance "
            "tests need a real broker. Run ./scripts/system-deps.sh rabbitmq (make conformance "
            "does) to install it.")
    return server, epmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _params(port: int):
    import pika

    return pika.ConnectionParameters(host="127.0.0.1", port=port, connection_attempts=1,
                                     socket_timeout=2, stack_timeout=5,
                                     blocked_connection_timeout=5)


class Node:
    """One RabbitMQ node of the harness's own, started and stopped by it.

    ``port`` is its AMQP port on 127.0.0.1; ``version`` the version it announces.
    """

    def __init__(self, tmp: Path):
        self.server, epmd = rabbitmq_paths()
        self.tmp = tmp
        self.name = f"lab-{secrets.token_hex(4)}@localhost"
        self.port = free_port()
        self.version = "?"
        self.proc: subprocess.Popen | None = None
        (tmp / "enabled_plugins").write_text("[].\n")
        (tmp / "rabbitmq-env.conf").write_text("")
        (tmp / "rabbitmq.conf").write_text(
            "disk_free_limit.absolute = 1MB\n")  # a full test disk must not block publishers
        epmd_port = free_port()
        self.env = dict(os.environ)
        self.env.update({
            "HOME": str(tmp),  # the Erlang cookie
            "ERL_EPMD_PORT": str(epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_SERVER_START_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_MNESIA_BASE": str(tmp / "mnesia"),
            "RABBITMQ_LOG_BASE": str(tmp / "log"),
            "RABBITMQ_CONFIG_FILE": str(tmp / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(tmp / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(tmp / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(tmp / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(tmp / "rabbitmq.pid"),
        })
        self.output = tmp / "output.txt"
        # The node's own port mapper, so that nothing is left running after the node stops.
        self.epmd = subprocess.Popen([epmd, "-port", str(epmd_port)], env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 5
        while not _listening(epmd_port):
            if self.epmd.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"epmd did not start on port {epmd_port}")
            time.sleep(0.02)

    def start(self) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        import pika

        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen([self.server], env=self.env, cwd=self.tmp,
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + BOOT_LIMIT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"RabbitMQ exited while starting:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ did not accept connections in {BOOT_LIMIT:.0f} s:"
                                   f"\n{self.tail()}")
            if _listening(self.port):
                try:
                    conn = pika.BlockingConnection(_params(self.port))
                except pika.exceptions.AMQPError:
                    pass
                else:
                    version = conn._impl.server_properties.get("version", b"?")
                    self.version = version.decode() if isinstance(version, bytes) else version
                    conn.close()
                    return
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the node as its service would (SIGTERM: a clean shutdown); kill it if it hangs."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=STOP_LIMIT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: the node and its helpers
            proc.wait()

    def restart(self, crash: bool = False) -> None:
        """Stop the node (or kill it, when ``crash``) and start it again on the same database."""
        if crash and self.proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the node, helpers
            self.proc.wait()
        self.stop()
        self.start()

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def close(self) -> None:
        self.stop()
        if self.epmd.poll() is None:
            self.epmd.terminate()
            try:
                self.epmd.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.epmd.kill()
                self.epmd.wait()


@contextlib.contextmanager
def rabbit_node() -> Iterator[Node]:
    """A fresh RabbitMQ node on free loopback ports; stopped, with its files removed, after."""
    tmp = Path(tempfile.mkdtemp(prefix="rabbitmq-"))
    try:
        node = Node(tmp)
        try:
            node.start()
            yield node
        finally:
            node.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _split(buffer: bytearray) -> Iterator[bytes]:
    """Take every complete AMQP frame off the front of ``buffer``; leave a partial one there.

    A frame is type (1 octet), channel (2), payload size (4), the payload, and 0xCE.
    """
    while len(buffer) >= 7:
        end = 7 + int.from_bytes(buffer[3:7], "big") + 1
        if len(buffer) < end:
            return
        frame = bytes(buffer[:end])
        del buffer[:end]
        if frame[-1] != FRAME_END:
            raise ValueError("malformed AMQP frame")
        yield frame


def _method(frame: bytes) -> str | None:
    """The name of a method frame's method, when it is one of the message flow's."""
    if frame[0] != 1 or len(frame) < 12:
        return None
    return METHODS.get(struct.unpack(">HH", frame[7:11]))


def _redelivered(frame: bytes) -> bool:
    """The redelivered bit of a basic.deliver frame: its arguments are consumer-tag (shortstr),
    delivery-tag (longlong), redelivered (bit), exchange and routing-key (shortstr)."""
    at = 11 + 1 + frame[11] + 8
    return bool(frame[at] & 1)


class FaultProxy(ForwardingProxy):
    """Forwards a client's TCP connections to the broker and loses one message-flow frame.

    ``lose`` names a method (basic.publish, basic.ack, ...): the first frame of that method seen
    in either direction is not forwarded, nor anything after it on that connection, is recorded
    as lost, and both sockets of the connection are closed. Later connections are forwarded
    untouched. ``wire`` holds every message-flow method in the order the proxy saw them, as
    ``(method, lost)``; ``delivers`` each basic.deliver among them as ``(redelivered, lost)``.
    """

    def __init__(self, target_port: int, lose: str | None = None):
        self.lose = lose
        self.lost = False
        self.wire: list[Frame] = []
        self.delivers: list[tuple[bool, bool]] = []
        super().__init__(target_port)

    def _pump(self, link: Link, src: socket.socket, dst: socket.socket, header: bool) -> None:
        """Forward one direction frame by frame; the client's first 8 bytes are the protocol
        header, not a frame."""
        buffer = bytearray()
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                if header:
                    if len(buffer) < len(PROTOCOL_HEADER):
                        continue
                    head = bytes(buffer[:len(PROTOCOL_HEADER)])
                    del buffer[:len(PROTOCOL_HEADER)]
                    header = False
                    with link.lock:
                        if link.closed:
                            return
                        dst.sendall(head)
                for frame in _split(buffer):
                    if not self._forward(link, dst, frame):
                        return
        except (OSError, ValueError):
            pass
        with link.lock:
            link.cut()
        self._touch()

    def _forward(self, link: Link, dst: socket.socket, frame: bytes) -> bool:
        """Record and forward one frame, or lose it; False once the link is closed."""
        method = _method(frame)
        with link.lock:
            if link.closed:
                return False
            with self.lock:
                self.last_event = time.monotonic()
                lose = method is not None and method == self.lose and not self.lost
                if method is not None:
                    self.wire.append((method, lose))
                    if method == "basic.deliver":
                        self.delivers.append((_redelivered(frame), lose))
                if lose:
                    self.lost = True
            if lose:
                link.cut()
                return False
            dst.sendall(frame)
            return True

    def cut_all(self) -> None:
        """Close every connection at once, as the death of the client's process does."""
        with self.lock:
            links = list(self.links)
            self.last_event = time.monotonic()
        for link in links:
            with link.lock:
                link.cut()



class _Crash(Exception):
    """The consumer's process dies: its connection is gone, nothing more of it runs."""


class _Consumer:
    """A pika consumer on a thread of its own that connects again at once after a drop.

    On each connection it declares the exchange, the queue and the binding (as a consumer does,
    so that it finds them after a broker restart) and consumes with manual or automatic
    acknowledgement. Its application processes a delivery by counting it, then acknowledges it
    (manual ack). ``crash`` ("before-process" or "after-process") kills its process at that
    point of the first delivery: the proxy closes the connection, and a new consumer starts.
    """

    def __init__(self, run: _Run, crash: str | None):
        self.run = run
        self.crash = crash
        self.processed = 0
        self.redelivered: list[bool] = []
        self.consuming = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _die(self) -> None:
        self.crash = None
        self.run.proxies[2].cut_all()
        raise _Crash

    def _on_message(self, channel, method, properties, body) -> None:
        if body != PAYLOAD:
            return
        self.redelivered.append(bool(method.redelivered))
        if self.crash == "before-process":
            self._die()
        self.processed += 1
        if self.crash == "after-process":
            self._die()
        if not self.run.case.auto_ack:
            channel.basic_ack(method.delivery_tag)

    def _loop(self) -> None:
        import pika

        while not self.stop.is_set():
            conn = None
            try:
                conn = pika.BlockingConnection(_params(self.run.proxies[2].port))
                channel = conn.channel()
                self.run.declare(channel)
                channel.basic_consume(self.run.queue, self._on_message,
                                      auto_ack=self.run.case.auto_ack)
                self.consuming.set()
                while not self.stop.is_set():
                    conn.process_data_events(time_limit=0.05)
            except (_Crash, pika.exceptions.AMQPError, OSError):
                pass
            finally:
                self.consuming.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
            if not self.stop.is_set():
                time.sleep(RECONNECT)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


class _Run:
    """One case on a node: its exchange and queue, its two proxies and its two clients."""

    def __init__(self, case: Case, node: Node):
        self.case = case
        self.node = node
        token = secrets.token_hex(3)
        self.exchange = f"lab.{case.id}.{token}"
        self.queue = f"lab.{case.id}.{token}"
        self.lose, self.lose_hop, crash = None, None, None
        self.restart = self.restart_kind(case.fault)
        kind, _, what = (case.fault or "").partition(":")
        if kind == "lose":
            self.lose, _, hop = what.partition("@")
            self.lose_hop = int(hop)
        elif kind == "crash-consumer" and what in ("before-process", "after-process"):
            crash = what
        elif case.fault is not None and self.restart is None:
            raise ValueError(f"{case.id}: unknown fault {case.fault!r}")
        self.proxies = {hop: FaultProxy(node.port, self.lose if self.lose_hop == hop else None)
                        for hop in (1, 2)}
        self.consumer = _Consumer(self, crash)
        self.returned = False

    @staticmethod
    def restart_kind(fault: str | None) -> str | None:
        """How the fault restarts the broker: "stop" (a clean stop), "crash" (killed) or None."""
        return {"restart-broker:while-queued": "stop",
                "crash-broker:while-queued": "crash"}.get(fault or "")

    def declare(self, channel) -> None:
        """The case's direct exchange and queue (durable or not), bound unless unroutable."""
        durable = self.case.durable
        channel.exchange_declare(self.exchange, "direct", durable=durable)
        channel.queue_declare(self.queue, durable=durable)
        if self.case.routable:
            channel.queue_bind(self.queue, self.exchange, routing_key=self.queue)

    def setup(self) -> None:
        """Declare everything once on a connection of its own, straight to the broker."""
        import pika

        conn = pika.BlockingConnection(_params(self.node.port))
        try:
            self.declare(conn.channel())
        finally:
            conn.close()

    def publish(self) -> None:
        """The publisher's application: publish the one message; with confirms, publish it
        again on a new connection until a confirm (or a return) answers it."""
        import pika

        case = self.case
        properties = pika.BasicProperties(delivery_mode=2 if case.durable else 1)
        deadline = time.monotonic() + SETTLE_LIMIT
        while time.monotonic() < deadline:
            conn, sent, done = None, False, False
            try:
                conn = pika.BlockingConnection(_params(self.proxies[1].port))
                channel = conn.channel()
                channel.add_on_return_callback(self._on_return)
                if case.confirms:
                    channel.confirm_delivery()
                sent = True
                try:
                    channel.basic_publish(self.exchange, self.queue, PAYLOAD, properties,
                                          mandatory=case.mandatory)
                except pika.exceptions.UnroutableError:
                    self.returned = True
                if not case.confirms and case.mandatory:
                    conn.process_data_events(time_limit=QUIET)  # a basic.return, if one comes
                done = True
            except (pika.exceptions.AMQPError, OSError):
                # Without confirms a sent message counts as sent: nothing says otherwise.
                done = sent and not case.confirms
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
            if done:
                return
            time.sleep(RECONNECT)
        raise RuntimeError(f"{case.id}: the publisher never had its message confirmed: "
                           f"hop 1: {wire_text(self.proxies[1].snapshot())}")

    def _on_return(self, channel, method, properties, body) -> None:
        self.returned = True

    def settle(self) -> None:
        """Wait until the consumer is consuming and both hops have been quiet for QUIET."""
        deadline = time.monotonic() + SETTLE_LIMIT
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if (self.consumer.consuming.is_set()
                    and min(p.quiet_for() for p in self.proxies.values()) >= QUIET):
                return
        raise RuntimeError(f"{self.case.id}: the flow had not settled after {SETTLE_LIMIT} s: "
                           + describe(self.observe()))

    def observe(self) -> Observed:
        wire = {hop: proxy.snapshot() for hop, proxy in self.proxies.items()}
        return Observed(self.consumer.processed, tuple(self.consumer.redelivered),
                        self.returned, wire)

    def check(self, seen: Observed) -> Observed:
        """The redelivered flags the consumer read are those the wire carried to it."""
        with self.proxies[2].lock:
            flags = [flag for flag, lost in self.proxies[2].delivers if not lost]
        if list(seen.redelivered) != flags:
            raise RuntimeError(f"{self.case.id}: the consumer read redelivered flags "
                               f"{seen.redelivered}, the wire carried {flags}")
        return seen

    def close(self) -> None:
        self.consumer.close()
        for proxy in self.proxies.values():
            proxy.close()


def run_real(case: Case, node: Node | None = None) -> Observed:
    """Play ``case`` on ``node`` (a node of its own when None) and report what happened.

    The consumer starts first and the publisher publishes once it consumes; for a broker
    restart the publisher publishes, the node restarts, and only then the consumer starts. The
    run ends when the consumer is consuming and both hops have been quiet for a moment.
    """
    if node is None:
        with rabbit_node() as own:
            return run_real(case, own)
    run = _Run(case, node)
    try:
        run.setup()
        if run.restart:
            run.publish()
            node.restart(crash=run.restart == "crash")
            run.consumer.start()
        else:
            run.consumer.start()
            if not run.consumer.consuming.wait(SETTLE_LIMIT):
                raise RuntimeError(f"{case.id}: the consumer never started consuming")
            run.publish()
        run.settle()
        return run.check(run.observe())
    finally:
        run.close()


def run_all(cases: list[Case] = CASES, node: Node | None = None,
            workers: int = 16) -> dict[str, Observed | str]:
    """Every case on one node (a node of its own when None), keyed by case id; a case that
    could not be played maps to why.

    The cases that restart the broker run together around a single restart (one for those that
    stop it, one for those that crash it), after the others, which run all at once.
    """
    if node is None:
        with rabbit_node() as own:
            return run_all(cases, own, workers)
    out: dict[str, Observed | str] = {}
    def restart_kind(case: Case) -> str | None:
        return _Run.restart_kind(case.fault)

    plain = [case for case in cases if restart_kind(case) is None]

    def play(case: Case) -> Observed | str:
        try:
            return run_real(case, node)
        except Exception as error:  # reported per case
            return f"{type(error).__name__}: {error}"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        out.update(zip([c.id for c in plain], pool.map(play, plain), strict=True))
    for kind in ("stop", "crash"):
        restarting = [case for case in cases if restart_kind(case) == kind]
        if restarting:
            out.update(_run_restarts(restarting, node, kind == "crash"))
    return out


def _run_restarts(cases: list[Case], node: Node, crash: bool) -> dict[str, Observed | str]:
    """Publish every case's message, restart the node once (kill it when ``crash``), then
    start every consumer."""
    out: dict[str, Observed | str] = {}
    runs = [_Run(case, node) for case in cases]
    try:
        for run in runs:
            try:
                run.setup()
                run.publish()
            except Exception as error:  # reported per case
                out[run.case.id] = f"{type(error).__name__}: {error}"
        node.restart(crash=crash)
        for run in runs:
            run.consumer.start()
        for run in runs:
            if run.case.id in out:
                continue
            try:
                run.settle()
                out[run.case.id] = run.check(run.observe())
            except Exception as error:  # reported per case
                out[run.case.id] = f"{type(error).__name__}: {error}"
    finally:
        for run in runs:
            run.close()
    return out


def wire_text(wire: list[Frame]) -> str:
    """A hop's methods compactly, without the class name: ``publish ack✗ publish ack``."""
    return " ".join(f"{method.removeprefix('basic.')}{'✗' if lost else ''}"
                    for method, lost in wire) or "-"


def flags_text(flags: tuple[bool, ...]) -> str:
    """Redelivered flags as ``F T`` (false, true), or ``-`` for no delivery."""
    return " ".join("T" if flag else "F" for flag in flags) or "-"


def describe(seen: Observed) -> str:
    return (f"{seen.outcome} (processed {seen.processed}, returned {seen.returned}); "
            f"redelivered {flags_text(seen.redelivered)}; hop 1: {wire_text(seen.wire[1])}; "
            f"hop 2: {wire_text(seen.wire[2])}")


def main() -> int:
    import logging

    import pika

    logging.getLogger("pika").setLevel(logging.CRITICAL)  # dropped connections are the point

    started = time.monotonic()
    with rabbit_node() as node:
        results = run_all([*CASES, *EXTRA], node=node)
        versions = f"RabbitMQ {node.version}, pika {pika.__version__}"
    rows = [("case", "expect", "real", "redelivered (expect)", "hop 1", "hop 2")]
    differ = 0
    for case in [*CASES, *EXTRA]:
        seen = results[case.id]
        name = case.id + ("" if case in CASES else " *")
        if isinstance(seen, str):
            differ += 1
            rows.append((name, case.expect, "error", "", seen, ""))
            continue
        same = seen.outcome == case.expect and seen.redelivered == case.redelivered
        differ += not same
        rows.append((name, case.expect, seen.outcome + ("" if same else " ≠"),
                     f"{flags_text(seen.redelivered)} ({flags_text(case.redelivered)})",
                     wire_text(seen.wire[1]), wire_text(seen.wire[2])))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=False))
              + "  " + row[5])
    print("\n* beyond the case table: the broker is killed (SIGKILL), not stopped")
    print(f"{len(results)} cases, {differ} differ from the expectation; {versions}; "
          f"{time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
