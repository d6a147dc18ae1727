"""Runs named in Redis, so that any server process can take one over (several processes).

With ``SOCKETIO_MESSAGE_QUEUE`` set, each session's run is named in Redis by its *record*: the
run specification (first settings, protocol, the log of live changes) and where the run stands
(epoch, stream position, last event seq, speed, playing). Determinism does the rest: any process
rebuilds the run from its record by replay, exactly.

One process paces a run at a time: the holder of its *lease*, a Redis key with an expiry that the
holder renews. Each new holder gets a *fencing number* one higher than the last (a counter per
run, never reset), and every write of the record names the writer's lease: a write from anyone
whose lease is not the current one (a former holder that was paused or cut off, whose lease ran
out and went to another) is refused, so it cannot overwrite what its successor did. The holder
also stops streaming once it has not renewed for longer than the lease lasts (``valid``), before
the lease can have passed to another. Every check-and-write is one Lua script: atomic in Redis.

Pure plumbing: no Flask, no Socket.IO; ``redis-py`` only.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

PREFIX = "delivery-lab:"

# KEYS: lease, fence counter. ARGV: holder, lease ms. -> {fence, 0} or {-1, ms left}
_ACQUIRE = """
local lease = redis.call('GET', KEYS[1])
if lease then
  local holder, fence = string.match(lease, '^(.*)|(%d+)$')
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {tonumber(fence), 0}
  end
  return {-1, redis.call('PTTL', KEYS[1])}
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
return {fence, 0}
"""
# KEYS: lease. ARGV: holder|fence, lease ms. -> 1 renewed, 0 not ours
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
# KEYS: lease. ARGV: holder|fence. -> 1 released, 0 not ours
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
# KEYS: lease, record. ARGV: holder|fence, record, record ms. -> 1 written, 0 fenced out
_WRITE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""


# Many sessions kept at once (a holder's every tick): each whose lease is still the holder's
# has it renewed, its record written where one is given, and is counted again against the
# limits. KEYS: the site's set, then per session its lease, record and address's set.
# ARGV: lease ms, record ms, ms to keep counting, then per session holder|fence, record (or
# ""), token. -> per session 1 kept, 0 the lease is another's (nothing written)
_KEEP = """
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
local out = {}
for i = 0, (#KEYS - 1) / 3 - 1 do
  local lease, run, addr = KEYS[2 + 3 * i], KEYS[3 + 3 * i], KEYS[4 + 3 * i]
  local value, record, token = ARGV[4 + 3 * i], ARGV[5 + 3 * i], ARGV[6 + 3 * i]
  if redis.call('GET', lease) == value then
    redis.call('ZADD', addr, until_ms, token)
    redis.call('ZADD', KEYS[1], until_ms, token)
    redis.call('PEXPIRE', addr, ARGV[3])
    if record ~= '' then
      redis.call('SET', run, record, 'PX', ARGV[2])
    end
    redis.call('PEXPIRE', lease, ARGV[1])
    out[i + 1] = 1
  else
    out[i + 1] = 0
  end
end
return out
"""


# The sessions counted against the limits, across every process: a sorted set per client address
# and one for the whole site, each member a session's token, its score the instant (ms, Redis's
# clock) it is forgotten unless its holder counts it again.
# KEYS: the address's set, the site's set. ARGV: token, address cap, site cap, ms to keep.
# -> 1 counted (or counted already), -1 the address is full, -2 the site is full
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
  if not redis.call('ZSCORE', KEYS[2], ARGV[1]) and
     redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return -2 end
end
redis.call('ZADD', KEYS[1], until_ms, ARGV[1])
redis.call('ZADD', KEYS[2], until_ms, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""


# Rooms across processes: a room's code names its presenter's session (the directory), rooms are
# counted in one sorted set (scores: when each stops counting unless its holder counts it again,
# as sessions are), an ended room's code is remembered for a while, and wrong codes cost each
# address tokens of one bucket.
# KEYS: the rooms' set, the code's directory key. ARGV: code, presenter token, the rooms' cap,
# ms to count, ms to keep the directory key. -> 1 opened, 0 the code is taken, -1 too many rooms
_OPEN_ROOM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[5])
return 1
"""
# KEYS: the rooms' set, then each room's directory key. ARGV: ms to count, ms to keep the
# directory key, then each room's code.
_KEEP_ROOMS = """
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[1], until_ms, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return 1
"""
# A token bucket per address. KEYS: the bucket. ARGV: tokens per second, burst, 1 to take one
# (if there is one). -> the tokens there were before taking, as a string
_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(v[1]) or burst
local at = tonumber(v[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local before = tokens
if ARGV[3] == '1' and tokens >= 1 then tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(before)
"""


class Fenced(Exception):
    """This process no longer holds the run's lease: another took it over."""


@dataclass
class Lease:
    token: str
    holder: str
    fence: int
    renewed: float  # monotonic time of the last successful acquire or renew

    @property
    def value(self) -> str:
        return f"{self.holder}|{self.fence}"


class RunStore:
    """Leases and records of runs in one Redis database (``url``), for the process ``holder``."""

    def __init__(self, url: str, holder: str, lease_ms: int = 3000, record_ms: int = 3_600_000,
                 clock=time.monotonic, client=None):
        import redis

        self.redis = client or redis.Redis.from_url(url, socket_connect_timeout=5,
                                                    socket_timeout=5)
        self.holder = holder
        self.lease_ms = int(lease_ms)
        self.record_ms = int(record_ms)
        self.clock = clock
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)
        self._write = self.redis.register_script(_WRITE)
        self._keep = self.redis.register_script(_KEEP)
        self._claim = self.redis.register_script(_CLAIM)
        self._open_room = self.redis.register_script(_OPEN_ROOM)
        self._keep_rooms = self.redis.register_script(_KEEP_ROOMS)
        self._bucket = self.redis.register_script(_BUCKET)
        self.count_ms = max(10_000, 4 * self.lease_ms)  # a dead process's sessions count this long

    def _keys(self, token: str) -> tuple[str, str, str]:
        return (f"{PREFIX}lease:{token}", f"{PREFIX}fence:{token}", f"{PREFIX}run:{token}")

    # --- leases --------------------------------------------------------------------------------
    def acquire(self, token: str) -> Lease | None:
        """The run's lease for this process (a new fencing number unless it already held it),
        or None while another holds it."""
        lease, fence, _ = self._keys(token)
        now = self.clock()
        got, _left = self._acquire(keys=[lease, fence], args=[self.holder, self.lease_ms])
        if int(got) < 0:
            return None
        return Lease(token, self.holder, int(got), now)

    def wait_acquire(self, token: str, timeout_s: float, sleep=time.sleep) -> Lease | None:
        """``acquire``, tried until the other holder's lease runs out (or ``timeout_s``)."""
        deadline = self.clock() + timeout_s
        while True:
            got = self.acquire(token)
            if got is not None or self.clock() >= deadline:
                return got
            sleep(0.1)

    def renew(self, lease: Lease) -> bool:
        now = self.clock()
        ok = bool(self._renew(keys=[self._keys(lease.token)[0]],
                              args=[lease.value, self.lease_ms]))
        if ok:
            lease.renewed = now
        return ok

    # --- the limits, across processes --------------------------------------------------------
    def _count_keys(self, client: str) -> list[str]:
        return [f"{PREFIX}sessions:{client}", f"{PREFIX}sessions"]

    def count(self, client: str, token: str, per_client: int, in_all: int) -> int:
        """Count the session ``token`` of ``client`` against the per-address and the site's
        limits (once: a session counted already, taken over say, is counted again for free):
        1, or -1 when the address has ``per_client`` sessions, -2 when the site has
        ``in_all``."""
        return int(self._claim(keys=self._count_keys(client),
                               args=[token, per_client, in_all, self.count_ms]))

    def uncount(self, client: str, token: str) -> None:
        """The session is gone for good: it no longer counts."""
        pipe = self.redis.pipeline(transaction=False)
        for key in self._count_keys(client):
            pipe.zrem(key, token)
        pipe.execute()

    def counted(self, client: str) -> int:
        """How many sessions ``client`` has, across every process."""
        key = self._count_keys(client)[0]
        now_ms = int(time.time() * 1000)
        return int(self.redis.zcount(key, now_ms, "+inf"))

    def keep(self, held: list[tuple[Lease, dict | None]], clients: list[str],
             batch: int = 200) -> list[bool]:
        """Renew many leases at once, writing each one's record with it where one is given, and
        counting each session again against the limits of its address (``clients``): one script
        call per ``batch`` sessions (a process holds many runs). Whether each lease is still
        this process's (False: another took it over; nothing was written)."""
        now = self.clock()
        site = self._count_keys("")[1]
        out: list[bool] = []
        for start in range(0, len(held), batch):
            keys, args = [site], [self.lease_ms, self.record_ms, self.count_ms]
            for (lease, record), client in zip(held[start:start + batch],
                                               clients[start:start + batch], strict=True):
                lease_key, _, run_key = self._keys(lease.token)
                keys += [lease_key, run_key, self._count_keys(client)[0]]
                data = "" if record is None else json.dumps(
                    {**record, "fence": lease.fence}, separators=(",", ":"))
                args += [lease.value, data, lease.token]
            out += [bool(ok) for ok in self._keep(keys=keys, args=args)]
        for (lease, _), ok in zip(held, out, strict=True):
            if ok:
                lease.renewed = now
        return out

    def release(self, lease: Lease) -> bool:
        return bool(self._release(keys=[self._keys(lease.token)[0]], args=[lease.value]))

    def valid(self, lease: Lease) -> bool:
        """Whether this process may still act as the holder by its own clock: renewed within
        the lease's span, less a margin for the clocks' drift and the round trip."""
        return self.clock() - lease.renewed < self.lease_ms / 1000.0 * 0.8

    def holder_of(self, token: str) -> tuple[str, int] | None:
        value = self.redis.get(self._keys(token)[0])
        if value is None:
            return None
        holder, _, fence = value.decode().rpartition("|")
        return holder, int(fence)

    # --- rooms ---------------------------------------------------------------------------------
    def open_room(self, code: str, presenter: str, cap: int) -> int:
        """Name room ``code`` as ``presenter``'s, counted against the site's ``cap`` of rooms:
        1, or 0 when the code is taken, -1 when there are ``cap`` rooms already."""
        return int(self._open_room(keys=[f"{PREFIX}rooms", f"{PREFIX}room:{code}"],
                                   args=[code, presenter, cap, self.count_ms, self.record_ms]))

    def keep_rooms(self, codes: list[str]) -> None:
        """The rooms this process holds go on counting (and being found by their code)."""
        for start in range(0, len(codes), 200):
            part = codes[start:start + 200]
            self._keep_rooms(keys=[f"{PREFIX}rooms", *(f"{PREFIX}room:{c}" for c in part)],
                             args=[self.count_ms, self.record_ms, *part])

    def room_presenter(self, code: str) -> str | None:
        """The session token of the presenter of room ``code`` (None: no such room)."""
        value = self.redis.get(f"{PREFIX}room:{code}")
        return None if value is None else value.decode()

    def end_room(self, code: str, remember_s: float) -> None:
        """Room ``code`` has ended: it stops counting, its code is remembered as ended."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(f"{PREFIX}room:{code}")
        pipe.zrem(f"{PREFIX}rooms", code)
        pipe.set(f"{PREFIX}ended:{code}", "1", px=max(1, int(remember_s * 1000)))
        pipe.execute()

    def room_ended(self, code: str) -> bool:
        return bool(self.redis.exists(f"{PREFIX}ended:{code}"))

    def join_tokens(self, client: str, rate: float, burst: int, take: bool) -> float:
        """The tokens ``client``'s bucket of wrong room codes holds (before taking one, if
        ``take``): one bucket per address across every process."""
        return float(self._bucket(keys=[f"{PREFIX}join:{client}"],
                                  args=[rate, burst, "1" if take else "0"]))

    # --- records -------------------------------------------------------------------------------
    def write(self, lease: Lease, record: dict) -> None:
        """Write the run's record under ``lease``; ``Fenced`` if the lease is not the current
        one (its fencing number is stale, or it ran out)."""
        lease_key, _, run_key = self._keys(lease.token)
        data = json.dumps({**record, "fence": lease.fence}, separators=(",", ":"))
        if not self._write(keys=[lease_key, run_key], args=[lease.value, data, self.record_ms]):
            raise Fenced(lease.token)

    def read(self, token: str) -> dict | None:
        data = self.redis.get(self._keys(token)[2])
        return None if data is None else json.loads(data)

    def forget(self, lease: Lease) -> None:
        """The run is over for good (its session reaped): its record and lease go."""
        lease_key, _, run_key = self._keys(lease.token)
        if self.redis.get(lease_key) == lease.value.encode():
            self.redis.delete(run_key, lease_key)
