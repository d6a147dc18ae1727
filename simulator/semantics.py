"""Delivery semantics as small policy objects.

A ``Semantics`` answers three questions: does the producer resend on timeout or nack, does the
consumer ack on receipt (before processing) or after processing, and does the consumer
deduplicate by message id. ``timeout_for`` gives the wait before a timeout under the backoff.
"""

from __future__ import annotations


class Semantics:
    name = ""
    retries = True  # resend on timeout and on nack
    ack_on_receipt = False  # ack before processing (else process, then ack or nack)
    deduplicates = False  # consult a DedupStore before processing

    def may_retry(self, attempt: int, max_retries: int) -> bool:
        """May the producer send attempt ``attempt + 1``?"""
        return self.retries and (max_retries < 0 or attempt - 1 < max_retries)

    @property
    def nacks(self) -> bool:
        """Answers a processing failure with a negative ack."""
        return not self.ack_on_receipt


class AtMostOnce(Semantics):
    """Send once, never retry; the consumer acks on receipt, so loss is final."""

    name = "at-most-once"
    retries = False
    ack_on_receipt = True


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
    """How long attempt ``attempt`` waits: the same each time, or doubling per retry."""
    if backoff == "exponential" and attempt > 1:
        return timeout * min(1 << min(attempt - 1, 30), MAX_BACKOFF_FACTOR)
    return timeout
