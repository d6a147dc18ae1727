"""Relations between settings that decide whether a design can lose messages, in words.

The one that matters most is the retry horizon: how long after a message's first send a resend
of it can still arrive. It is the sum of the waits before every allowed retry (with backoff and
its cap; jitter only shortens them) plus the longest one-way latency. A reorder buffer that skips
a missing number sooner than that (its gap timeout) can drop the resend as stale, so the message
is lost although the producer is told it is done; a dedup store that forgets an id sooner lets a
late duplicate through.
"""

from __future__ import annotations

from .semantics import MAX_BACKOFF_FACTOR, semantics_for, timeout_for


def retry_horizon(config) -> float | None:
    """Milliseconds from a message's first send until its last resend has surely arrived;
    None when retries are unlimited. Under at-most-once, the one trip's longest latency."""
    if not semantics_for(config.semantics).retries:
        return config.latency_max
    if config.max_retries < 0:
        return None
    total = 0.0
    for attempt in range(1, config.max_retries + 1):
        wait = timeout_for(attempt, config.timeout, config.backoff)
        if config.backoff_cap:
            wait = min(wait, max(config.backoff_cap, config.timeout))
        total += wait
        if wait >= config.timeout * MAX_BACKOFF_FACTOR and attempt > 64:
            total += wait * (config.max_retries - attempt)  # the rest are all this long
            break
    return total + config.latency_max


def advice(config) -> list[dict]:
    """Warnings and notes about the current settings, each naming the field it is about."""
    out = []
    sem = semantics_for(config.semantics)
    horizon = retry_horizon(config)
    if config.ordering == "sequence":
        if not sem.retries:
            out.append({"field": "gap_timeout", "level": "info",
                        "text": "Under at-most-once a missing number never comes: nothing is "
                                "resent. The gap timeout only decides how long the messages "
                                "behind it wait."})
        elif horizon is None or config.gap_timeout < horizon:
            span = "unlimited retries never end" if horizon is None else \
                f"a resend can arrive up to {horizon:g} ms after the first send"
            out.append({"field": "gap_timeout", "level": "warning",
                        "text": f"The gap timeout ({config.gap_timeout:g} ms) is shorter than "
                                f"the retry horizon ({span}). A message whose first tries are "
                                "lost can arrive after its number was skipped: it is dropped "
                                "as stale and acked, so the producer records it as done, but "
                                "it is never processed."})
    if sem.deduplicates and config.dedup_ttl and (horizon is None
                                                  or config.dedup_ttl < horizon):
        out.append({"field": "dedup_ttl", "level": "warning",
                    "text": f"The dedup store forgets an id after {config.dedup_ttl:g} ms, "
                            "sooner than the last resend can arrive: a late duplicate is "
                            "processed again."})
    duplicates = config.duplicate > 0 or any(f.startswith("duplicate:") for f in config.faults)
    if config.semantics == "at-most-once" and duplicates:
        out.append({"field": "semantics", "level": "info",
                    "text": "At-most-once names what the sender does: it sends once. The "
                            "network still duplicates, and this receiver does not deduplicate, "
                            "so a message can be processed twice."})
    return out
