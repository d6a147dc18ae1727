"""The broker's side of one Kafka partition: its log, what it remembers of each idempotent
producer, the producer ids it hands out, and the consumer group's committed offset.

The rules are Kafka's (KIP-98, the broker's ``ProducerStateManager`` and ``ProducerAppendInfo``):

- ``InitProducerId`` from a producer without a transactional id always gives a new producer id
  (PID) at epoch 0 (the coordinator's ``handleInitProducerId``); such a producer bumps its epoch
  itself, and the partition learns of it from its next batch.
- Each batch of an idempotent producer carries (PID, epoch, base sequence). The partition keeps
  the last five batches of each PID (sequence -> offset, of the current epoch). A batch whose
  sequence is one of them is a retry of a batch already written: it is answered with the offset
  it got then, and nothing is written. An older epoch is refused (INVALID_PRODUCER_EPOCH). A new
  epoch must start at sequence 0; within an epoch the next batch must be the last sequence + 1:
  anything else, ahead (a gap) or behind the five remembered (too old to tell), is refused with
  OUT_OF_ORDER_SEQUENCE_NUMBER. A PID the partition holds nothing for takes any sequence (its
  state may have been removed with old segments, as Kafka allows).
- A batch without a producer id (idempotence off) is always written.

One record per batch here, so a batch's base sequence is its record's sequence.
"""

from __future__ import annotations

WINDOW = 5  # batches of each producer the partition remembers
FIRST_PID = 1000

APPENDED = "appended"
DUPLICATE = "duplicate"
OUT_OF_ORDER = "OUT_OF_ORDER_SEQUENCE_NUMBER"
INVALID_EPOCH = "INVALID_PRODUCER_EPOCH"
NOT_ENOUGH_REPLICAS = "NOT_ENOUGH_REPLICAS"


class Record:
    """One record in the log: the message it carries and the batch header it came with."""

    __slots__ = ("offset", "msg", "pid", "epoch", "seq")

    def __init__(self, offset: int, msg: int, pid: int | None, epoch: int | None,
                 seq: int | None):
        self.offset = offset
        self.msg = msg
        self.pid = pid
        self.epoch = epoch
        self.seq = seq

    def view(self) -> dict:
        return {"offset": self.offset, "msg": self.msg, "pid": self.pid, "epoch": self.epoch,
                "seq": self.seq}


class ProducerEntry:
    """What the partition remembers of one PID: the epoch of its last batch and its last
    ``WINDOW`` batches as (sequence, offset), oldest first."""

    __slots__ = ("pid", "epoch", "batches")

    def __init__(self, pid: int, epoch: int):
        self.pid = pid
        self.epoch = epoch
        self.batches: list[tuple[int, int]] = []

    @property
    def last_seq(self) -> int | None:
        return self.batches[-1][0] if self.batches else None

    def add(self, epoch: int, seq: int, offset: int) -> None:
        if epoch != self.epoch:  # a new epoch starts the window again
            self.epoch = epoch
            self.batches = []
        self.batches.append((seq, offset))
        del self.batches[:-WINDOW]

    def find(self, epoch: int, seq: int) -> int | None:
        """The offset of the remembered batch with this sequence in this epoch, if any."""
        if epoch != self.epoch:
            return None
        for s, offset in self.batches:
            if s == seq:
                return offset
        return None


class Partition:
    def __init__(self):
        self.log: list[Record] = []
        self.producers: dict[int, ProducerEntry] = {}
        self.next_pid = FIRST_PID
        self.committed: int | None = None  # the consumer group's committed offset

    @property
    def end(self) -> int:
        """The log end offset: the offset the next record will get."""
        return len(self.log)

    def init_producer_id(self) -> tuple[int, int]:
        """Answer InitProducerId: a new PID, at epoch 0."""
        pid = self.next_pid
        self.next_pid += 1
        return pid, 0

    def check(self, pid: int | None, epoch: int | None, seq: int | None) -> tuple[str, int | None,
                                                                                  int | None]:
        """What the partition does with a batch: (verdict, offset of a duplicate's original,
        the sequence it expected when it refuses one out of order)."""
        if pid is None:
            return APPENDED, None, None
        entry = self.producers.get(pid)
        if entry is None:
            return APPENDED, None, None
        original = entry.find(epoch, seq)
        if original is not None:
            return DUPLICATE, original, None
        if epoch < entry.epoch:
            return INVALID_EPOCH, None, None
        if epoch > entry.epoch:
            return (APPENDED, None, None) if seq == 0 else (OUT_OF_ORDER, None, 0)
        expected = entry.last_seq + 1
        if seq == expected:
            return APPENDED, None, None
        return OUT_OF_ORDER, None, expected

    def append(self, msg: int, pid: int | None, epoch: int | None, seq: int | None) -> Record:
        record = Record(self.end, msg, pid, epoch, seq)
        self.log.append(record)
        if pid is not None:
            entry = self.producers.get(pid)
            if entry is None:
                entry = self.producers[pid] = ProducerEntry(pid, epoch)
            entry.add(epoch, seq, record.offset)
        return record

    def window(self) -> dict[int, dict]:
        return {pid: {"epoch": e.epoch, "batches": [{"seq": s, "offset": o}
                                                    for s, o in e.batches]}
                for pid, e in self.producers.items()}
