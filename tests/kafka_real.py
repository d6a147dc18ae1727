"""The Kafka fault cases run against librdkafka's mock cluster, with the real client library.

Debian ships no Kafka broker. The confluent-kafka wheel bundles librdkafka, and librdkafka has a
mock cluster built in: a broker of its own that speaks the Kafka protocol on a loopback port,
keeps partition logs, hands out producer ids, checks sequence numbers and stores committed
offsets, and lets a test inject errors and delays into its answers. ``MockCluster`` starts one
through the library's C API (``ctypes`` on the wheel's own copy of librdkafka, so the cluster
and the Python client are the same library) and points a normal ``confluent_kafka.Producer``
and ``Consumer`` at it.

How each fault of ``tests.kafka_cases`` is played:

- ``lose:Produce@1``: the cluster closes the connection as soon as the first Produce request
  arrives, without writing it (an injected ``ERR__TRANSPORT``).
- ``lose:ProduceResponse@1``: the cluster writes the record and holds its answer far longer
  than the producer's request timeout (``socket.timeout.ms``), so the producer gives up on the
  connection and sends the record again on a new one: the answer never reaches it.
- ``lose:FetchResponse@2``: the same for the consumer's first Fetch.
- ``restart-producer:unacknowledged``: the first producer's record is written and its answer
  held; the producer is then purged and closed, and a new producer (a new producer id) sends the
  record again.
- ``refuse:Produce@2``: after record 1 is acknowledged, every answer is delayed a little (so
  two requests are in flight) and the next Produce request is answered NOT_ENOUGH_REPLICAS.
- ``refuse:Produce@1``: the same from the first record on; the producer first writes one record
  to another topic, so that it has its producer id and connection (that Produce request is not
  counted).
- ``crash-consumer:...``: the consumer commits (before or after its application processes the
  record) and is closed at that point; a new consumer in the same group reads on from the
  committed offset.

The mock checks sequence numbers only for producers that have a ``transactional.id`` (its
``rd_kafka_mock_validate_records``): an idempotent producer without one is never deduplicated
there. So every idempotent producer here has a transactional id of its own and writes its
records in one transaction, committed at the end; the log and the consumer are read with
``isolation.level=read_uncommitted``, so the transaction changes nothing that is observed. One
case runs without a transactional id on purpose: ``refuse:Produce@1``, the producer's first
batches to the partition, for which a Kafka broker holds no state and checks nothing either.
The one case the mock cannot play is ``sequence-gap-idempotent``: a transactional producer
cannot bump its epoch inside a transaction (librdkafka raises an abortable error instead), and
without a transactional id the mock writes record 3 after the refused record 2, so librdkafka
takes record 2 as delivered and it is missing from the log (``play_gap_unchecked`` shows it).

``run_case(case)`` reports an ``Observed`` as ``tests.kafka_sim`` does: the records in the log,
in offset order; what the consumer's application processed; and how many Produce and
InitProducerId requests the cluster received. ``python -m tests.kafka_real`` prints the table.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from tests.kafka_cases import CASES, Case, Observed

TOPIC = "lab"
WARM = "warm-up"  # a topic of its own for a producer's first record that is not observed
PRODUCE_API, FETCH_API, INIT_PRODUCER_ID_API = 0, 1, 22
ERR_TRANSPORT = -195  # RD_KAFKA_RESP_ERR__TRANSPORT: the mock closes the connection
ERR_NOT_ENOUGH_REPLICAS = 19
REQUEST_TIMEOUT_MS = 300  # the clients' socket.timeout.ms: how long they wait for an answer
HELD_MS = 4000  # an answer held this long never reaches a client (it gives up first)
SLOW_MS = 300  # the delay of every answer while two Produce requests must be in flight
LIMIT = 20.0  # seconds any wait may take before the run is reported stuck
LOG_LEVEL = 3  # the clients log errors only (the timeouts the faults cause are expected)
UNPLAYABLE = {"sequence-gap-idempotent": (
    "a transactional producer cannot bump its epoch inside a transaction (librdkafka raises an "
    "abortable error), and the mock checks sequence numbers only for transactional producers")}


def library_path() -> str:
    """The librdkafka bundled in the confluent-kafka wheel; RuntimeError saying how to install
    it when it is missing."""
    try:
        import confluent_kafka
    except ImportError:
        raise RuntimeError(
            "confluent-kafka is not installed: the Kafka conformance tests run librdkafka's "
            "mock cluster from its wheel. Run pip install -r requirements-test.txt "
            "(make test does).") from None
    site = os.path.dirname(os.path.dirname(confluent_kafka.__file__))
    found = sorted(glob.glob(os.path.join(site, "confluent_kafka.libs", "librdkafka*.so*"))
                   + glob.glob(os.path.join(site, "confluent_kafka", ".libs", "librdkafka*")))
    if not found:
        raise RuntimeError(
            f"no librdkafka in the confluent-kafka wheel under {site} (confluent_kafka.libs): "
            f"reinstall it from requirements-test.txt, a build from source has no mock cluster "
            f"library to load")
    return found[0]


_LIB = None


def _lib():
    """The C API of the bundled librdkafka, its argument types declared."""
    global _LIB
    if _LIB is not None:
        return _LIB
    lib = ctypes.CDLL(library_path())
    p, i16, i32, size = ctypes.c_void_p, ctypes.c_int16, ctypes.c_int32, ctypes.c_size_t
    for name, restype, argtypes in (
            ("rd_kafka_conf_new", p, []),
            ("rd_kafka_conf_set", ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_char_p,
                                                 ctypes.c_char_p, size]),
            ("rd_kafka_new", p, [ctypes.c_int, p, ctypes.c_char_p, size]),
            ("rd_kafka_destroy", None, [p]),
            ("rd_kafka_mock_cluster_new", p, [p, ctypes.c_int]),
            ("rd_kafka_mock_cluster_destroy", None, [p]),
            ("rd_kafka_mock_cluster_bootstraps", ctypes.c_char_p, [p]),
            ("rd_kafka_mock_topic_create", ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_int,
                                                          ctypes.c_int]),
            ("rd_kafka_mock_push_request_errors_array", None, [p, i16, size,
                                                               ctypes.POINTER(ctypes.c_int)]),
            ("rd_kafka_mock_broker_push_request_error_rtts", ctypes.c_int, [p, i32, i16, size]),
            ("rd_kafka_mock_broker_set_rtt", ctypes.c_int, [p, i32, ctypes.c_int]),
            ("rd_kafka_mock_start_request_tracking", None, [p]),
            ("rd_kafka_mock_get_requests", ctypes.POINTER(p), [p, ctypes.POINTER(size)]),
            ("rd_kafka_mock_request_api_key", i16, [p]),
            ("rd_kafka_mock_request_destroy_array", None, [ctypes.POINTER(p), size])):
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    _LIB = lib
    return lib


class MockCluster:
    """One mock broker with the topic ``lab`` (one partition) and a topic to warm a producer
    up on, its requests tracked."""

    def __init__(self):
        lib = self.lib = _lib()
        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        lib.rd_kafka_conf_set(conf, b"log_level", b"0", errstr, 512)
        self.handle = lib.rd_kafka_new(0, conf, errstr, 512)  # 0: a producer handle
        if not self.handle:
            raise RuntimeError(f"rd_kafka_new failed: {errstr.value.decode()}")
        self.cluster = lib.rd_kafka_mock_cluster_new(self.handle, 1)
        if not self.cluster:
            lib.rd_kafka_destroy(self.handle)
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self.bootstraps = lib.rd_kafka_mock_cluster_bootstraps(self.cluster).decode()
        for topic in (TOPIC, WARM):
            lib.rd_kafka_mock_topic_create(self.cluster, topic.encode(), 1, 1)
        lib.rd_kafka_mock_start_request_tracking(self.cluster)

    def close(self) -> None:
        self.lib.rd_kafka_mock_cluster_destroy(self.cluster)
        self.lib.rd_kafka_destroy(self.handle)

    def fail_next(self, api_key: int, error: int) -> None:
        """The next request of ``api_key`` is answered with ``error`` (and not carried out)."""
        errors = (ctypes.c_int * 1)(error)
        self.lib.rd_kafka_mock_push_request_errors_array(self.cluster, api_key, 1, errors)

    def hold_next(self, api_key: int, ms: int) -> None:
        """The next request of ``api_key`` is carried out; its answer waits ``ms``."""
        self.lib.rd_kafka_mock_broker_push_request_error_rtts(self.cluster, 1, api_key, 1,
                                                              ctypes.c_int(0), ctypes.c_int(ms))

    def slow(self, ms: int) -> None:
        """Every answer of the broker waits ``ms`` (0: none)."""
        self.lib.rd_kafka_mock_broker_set_rtt(self.cluster, 1, ms)

    def requests(self, api_key: int) -> int:
        """How many requests of ``api_key`` the cluster received so far."""
        n = ctypes.c_size_t()
        got = self.lib.rd_kafka_mock_get_requests(self.cluster, ctypes.byref(n))
        count = sum(1 for i in range(n.value)
                    if self.lib.rd_kafka_mock_request_api_key(got[i]) == api_key)
        self.lib.rd_kafka_mock_request_destroy_array(got, n)
        return count

    def wait_requests(self, api_key: int, count: int) -> None:
        deadline = time.monotonic() + LIMIT
        while self.requests(api_key) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster never got request {count} of API {api_key}")
            time.sleep(0.002)


@contextmanager
def mock_cluster():
    cluster = MockCluster()
    try:
        yield cluster
    finally:
        cluster.close()


# --- the clients --------------------------------------------------------------------------------
class Producer:
    """A producer as the case wants it: idempotent (``checked``: with a transactional id of its
    own, so that the mock checks its sequence numbers, and its records in one transaction) or
    not."""

    def __init__(self, cluster: MockCluster, idempotent: bool, name: str,
                 log_level: int = LOG_LEVEL, checked: bool = True):
        from confluent_kafka import Producer as Client

        conf = {"bootstrap.servers": cluster.bootstraps, "linger.ms": 0, "acks": "all",
                "socket.timeout.ms": REQUEST_TIMEOUT_MS, "retry.backoff.ms": 100,
                "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100,
                "message.timeout.ms": int(LIMIT * 1000), "max.in.flight": 5,
                "log_level": log_level}
        if idempotent and checked:
            conf["transactional.id"] = name
        else:
            conf["enable.idempotence"] = idempotent
        self.transactional = idempotent and checked
        self.client = Client(conf)
        self.reports: list[tuple[int, object]] = []
        if self.transactional:
            self.client.init_transactions(LIMIT)
            self.client.begin_transaction()

    def send(self, record: int) -> None:
        self.client.produce(TOPIC, str(record).encode(), partition=0,
                            on_delivery=lambda err, msg: self.reports.append((record, err)))
        self.client.poll(0)

    def finish(self) -> None:
        """Wait for every record's delivery report (each must say delivered), then commit the
        transaction, if any."""
        if self.client.flush(LIMIT):
            raise TimeoutError("the producer never got every record acknowledged")
        failed = [(r, err) for r, err in self.reports if err is not None]
        if failed:
            raise RuntimeError(f"delivery failed: {failed}")
        if self.transactional:
            self.client.commit_transaction(LIMIT)

    def kill(self) -> None:
        """The producer dies: what it had in flight is forgotten, nothing more is sent."""
        self.client.purge(in_queue=True, in_flight=True)
        self.client.close()


def consumer(cluster: MockCluster, group: str = "lab"):
    from confluent_kafka import Consumer, TopicPartition

    client = Consumer({"bootstrap.servers": cluster.bootstraps, "group.id": group,
                       "enable.auto.commit": False, "auto.offset.reset": "earliest",
                       "isolation.level": "read_uncommitted", "enable.partition.eof": True,
                       "socket.timeout.ms": REQUEST_TIMEOUT_MS, "fetch.wait.max.ms": 50,
                       "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100,
                       "log_level": LOG_LEVEL})
    client.assign([TopicPartition(TOPIC, 0)])  # from the group's committed offset
    return client


def records(client):
    """The records ``client`` reads, one at a time, until the end of the partition."""
    from confluent_kafka import KafkaError

    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        msg = client.poll(0.05)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                return
            raise RuntimeError(f"consumer error: {msg.error()}")
        yield msg
    raise TimeoutError("the consumer never reached the end of the partition")


def commit(client, msg) -> None:
    from confluent_kafka import TopicPartition

    client.commit(offsets=[TopicPartition(TOPIC, 0, msg.offset() + 1)], asynchronous=False)


def read_log(cluster: MockCluster) -> tuple[int, ...]:
    """The records in the partition's log, in offset order (transaction markers skipped)."""
    client = consumer(cluster, group="reader")
    try:
        return tuple(int(m.value()) for m in records(client))
    finally:
        client.close()


def process_all(cluster: MockCluster, processed: list[int]) -> None:
    """The consumer's application: process each record, then commit it, to the end."""
    client = consumer(cluster)
    try:
        for msg in records(client):
            processed.append(int(msg.value()))
            commit(client, msg)
    finally:
        client.close()


# --- the cases ----------------------------------------------------------------------------------
def _produce(cluster: MockCluster, case: Case) -> int:
    """Play the producer's side of ``case``; return how many Produce requests went elsewhere
    (a warm-up not to count)."""
    idem = case.idempotent
    fault = case.fault or ""
    if fault == "restart-producer:unacknowledged":
        first = Producer(cluster, idem, "lab-1", log_level=0)  # its purge is no news
        cluster.hold_next(PRODUCE_API, HELD_MS)
        first.send(1)
        cluster.wait_requests(PRODUCE_API, 1)
        first.kill()
        second = Producer(cluster, idem, "lab-2")
        second.send(1)
        second.finish()
        return 0
    if fault == "refuse:Produce@1":
        producer = Producer(cluster, idem, "lab-1", checked=False)
        producer.client.produce(WARM, b"0")  # its producer id and connection, elsewhere
        producer.client.flush(LIMIT)
        producer.client.list_topics(TOPIC, LIMIT)
        warm = cluster.requests(PRODUCE_API)
        _refuse_while_next_in_flight(cluster, producer, 1, 2)
        producer.finish()
        return warm
    producer = Producer(cluster, idem, "lab-1")
    if fault == "lose:Produce@1":
        cluster.fail_next(PRODUCE_API, ERR_TRANSPORT)
    elif fault == "lose:ProduceResponse@1":
        cluster.hold_next(PRODUCE_API, HELD_MS)
    elif fault == "lose:FetchResponse@2":
        cluster.hold_next(FETCH_API, HELD_MS)
    if fault == "refuse:Produce@2":
        producer.send(1)
        producer.client.flush(LIMIT)
        _refuse_while_next_in_flight(cluster, producer, 2, 3)
    else:
        sent = cluster.requests(PRODUCE_API)
        for record in range(1, case.messages + 1):
            producer.send(record)  # one record per request, as in the model
            cluster.wait_requests(PRODUCE_API, sent + record)
    producer.finish()
    return 0


def _refuse_while_next_in_flight(cluster: MockCluster, producer: Producer, refused: int,
                                 following: int) -> None:
    """Record ``refused``'s Produce request is answered NOT_ENOUGH_REPLICAS; every answer is
    slowed, so that record ``following``'s request goes out before that answer comes back."""
    cluster.slow(SLOW_MS)
    cluster.fail_next(PRODUCE_API, ERR_NOT_ENOUGH_REPLICAS)
    sent = cluster.requests(PRODUCE_API)
    producer.send(refused)
    cluster.wait_requests(PRODUCE_API, sent + 1)
    producer.send(following)
    producer.client.flush(LIMIT)
    cluster.slow(0)


def _consume(cluster: MockCluster, case: Case) -> list[int]:
    processed: list[int] = []
    fault = case.fault or ""
    if fault.startswith("crash-consumer:"):
        first = consumer(cluster)
        msg = next(records(first))
        if fault == "crash-consumer:after-commit":
            commit(first, msg)  # commit, then die before processing
        else:
            processed.append(int(msg.value()))  # process, then die before committing
        first.close()
    process_all(cluster, processed)
    return processed


def run_case(case: Case) -> Observed:
    """Play ``case`` on a mock cluster of its own."""
    if case.name in UNPLAYABLE:
        raise ValueError(f"{case.name}: the mock cannot play it: {UNPLAYABLE[case.name]}")
    with mock_cluster() as cluster:
        elsewhere = _produce(cluster, case)
        processed = _consume(cluster, case)
        return Observed(read_log(cluster), tuple(processed),
                        cluster.requests(PRODUCE_API) - elsewhere,
                        cluster.requests(INIT_PRODUCER_ID_API))


def play_gap_unchecked() -> tuple[int, ...]:
    """``refuse:Produce@2`` with an idempotent producer without a transactional id: the log the
    mock ends with (it checks no sequence numbers for such a producer)."""
    with mock_cluster() as cluster:
        from confluent_kafka import Producer as Client

        client = Client({"bootstrap.servers": cluster.bootstraps, "linger.ms": 0,
                         "enable.idempotence": True, "socket.timeout.ms": REQUEST_TIMEOUT_MS,
                         "message.timeout.ms": int(LIMIT * 1000), "log_level": LOG_LEVEL})
        client.produce(TOPIC, b"1", partition=0)
        client.flush(LIMIT)
        cluster.slow(SLOW_MS)
        cluster.fail_next(PRODUCE_API, ERR_NOT_ENOUGH_REPLICAS)
        client.produce(TOPIC, b"2", partition=0)
        client.poll(0)
        cluster.wait_requests(PRODUCE_API, 2)
        client.produce(TOPIC, b"3", partition=0)
        client.flush(LIMIT)
        cluster.slow(0)
        client.close()
        return read_log(cluster)


def playable() -> list[Case]:
    return [c for c in CASES if c.name not in UNPLAYABLE]


def run_all() -> dict[str, Observed | Exception]:
    """Every playable case, all at once (each on a cluster of its own)."""
    cases = playable()
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = {c.name: pool.submit(run_case, c) for c in cases}
    out: dict[str, Observed | Exception] = {}
    for name, future in futures.items():
        try:
            out[name] = future.result()
        except Exception as exc:  # reported per case by the test
            out[name] = exc
    return out


def _line(seen: Observed) -> str:
    return (f"log {seen.log}, processed {seen.processed}, {seen.requests} Produce, "
            f"{seen.producer_ids} InitProducerId")


def main() -> int:
    from tests.kafka_sim import simulate

    started = time.monotonic()
    results = run_all()
    for case in CASES:
        model = simulate(case)
        seen = results.get(case.name, UNPLAYABLE.get(case.name))
        real = _line(seen) if isinstance(seen, Observed) else f"not played: {seen}"
        print(f"{case.name}\n  mock cluster: {real}\n  model:        {_line(model)}")
    print(f"gap without a transactional id, mock log: {play_gap_unchecked()}")
    print(f"{time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
