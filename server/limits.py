"""Rate limits: controls per connection, and replay time per session.

The rate limit is a token bucket: a connection may send ``burst`` controls at once and
``rate`` per second after that; the extra ones are refused with ``rate_limited`` and change
nothing. ``ReplayBudget`` is a bucket of seconds: a session may spend ``burst`` seconds of
replaying (step back, catch-up) at once and ``rate`` seconds per second after that; what a replay
really took is charged after it, and a session in debt is refused until the debt is paid, so one
tab stepping back cannot take the server's time from everybody else.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.tokens = float(burst)
        self.last = clock()

    def peek(self) -> float:
        """The tokens there are now (none spent)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return self.tokens

    def take(self) -> bool:
        """Spend one token if there is one."""
        if self.peek() >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class ReplayBudget:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.seconds = burst
        self.last = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.seconds = min(self.burst, self.seconds + (now - self.last) * self.rate)
        self.last = now

    def available(self) -> bool:
        self._refill()
        return self.seconds > 0

    def wait_s(self) -> float:
        """Seconds until a replay is allowed again."""
        self._refill()
        return 0.0 if self.seconds > 0 else -self.seconds / self.rate

    def charge(self, seconds: float) -> None:
        self._refill()
        self.seconds -= seconds
