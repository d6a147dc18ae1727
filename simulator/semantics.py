"""Delivery semantics as small policy objects, and the backoff between resends.

A ``Semantics`` answers three questions: does the producer wait for an answer and resend on a
timeout or a nack (``retries``), does the consumer answer at all (``acks``: an ack after
processing, a nack on a processing failure), and does the consumer deduplicate by message id.
At-most-once is fire-and-forget, as MQTT QoS 0: one send, no answer, no timer, nothing to give up.
``backoff_wait`` gives how long an attempt waits before the producer resends.
"""

from __future__ import annotations

from .rng import BACKOFF


class Semantics:
    name = ""
    retries = True  # wait for an answer; resend on timeout and on nack
    acks = True  # the consumer answers: ack after processing, nack on a processing failure
    deduplicates = False  # consult a DedupStore before processing

    def may_retry(self, attempt: int, max_retries: int) -> bool:
        """May the producer send attempt ``attempt + 1``?"""
        return self.retries and (max_retries < 0 or attempt - 1 < max_retries)

    @property
    def nacks(self) -> bool:
        """Answers a processing failure with a negative ack."""
        return self.acks


class AtMostOnce(Semantics):
    """Send once and forget: no ack, no timer, no retry. Loss is final; and a network that
    duplicates still delivers twice, since the receiver does not deduplicate."""

    name = "at-most-once"
    retries = False
    acks = False


class AtLeastOnce(Semantics):
    """Resend until acked; the consumer processes, then acks (re-acking duplicates)."""

    name = "at-least-once"


class ExactlyOnce(AtLeastOnce):
    """At-least-once plus deduplication by message id at the consumer."""

    name = "exactly-once"
    deduplicates = True


SEMANTICS = {cls.name: cls() for cls in (AtMostOnce, AtLeastOnce, ExactlyOnce)}

MAX_BACKOFF_FACTOR = 1 << 16


def semantics_for(name: str) -> Semantics:
    return SEMANTICS[name]


def timeout_for(attempt: int, timeout: float, backoff: str) -> float:
    """The backoff before jitter and cap: the same each time, or doubling per retry."""
    if backoff == "exponential" and attempt > 1:
        return timeout * min(1 << min(attempt - 1, 30), MAX_BACKOFF_FACTOR)
    return timeout


def backoff_wait(config, fate, msg: int, attempt: int) -> float:
    """How long attempt ``attempt`` of ``msg`` waits: for its answer before the timeout, or,
    after a nack, before the producer resends it. ``timeout_for``, capped at ``backoff_cap``
    and shortened by a keyed random share of up to ``backoff_jitter``."""
    wait = config.timeout
    if attempt > 1 and config.backoff == "exponential":  # timeout_for, spelled out
        wait = timeout_for(attempt, wait, "exponential")
    if config.backoff_cap and wait > config.backoff_cap:
        wait = config.backoff_cap
    if config.backoff_jitter:
        wait *= 1.0 - config.backoff_jitter * fate.uniform(msg, attempt, purpose=BACKOFF)
    return wait
