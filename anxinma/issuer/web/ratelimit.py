"""The live record's per-client rate limit: a moving window of the project's own.

The live record is the hottest route, and flask-limiter cost more than the lookup itself there
(issue 20): its in-memory storage starts a ``threading.Timer`` thread on a large share of
requests to expire entries, and it resolves and filters the route's limits on each one. This
keeps the same rule (``ANXINMA_LIVE_RATE_LIMIT``, flask-limiter's syntax, parsed by ``limits``)
and the same semantics (an exact moving window per client address, as flask-limiter's
``moving-window`` strategy, several rules all applied), with less work:

- embedded (no ``REDIS_URL``): per client a deque of its hits' times in this process, pruned as
  it is read; stale clients are swept on the request path every so often, never by a thread;
- with ``REDIS_URL``: one round trip a request (a Lua script that checks every rule and records
  the hit in all of them atomically), so every worker and host shares the count. Redis down or
  slow (1 s timeouts): the request is served unlimited and the failure logged, as flask-limiter's
  ``swallow_errors`` did — a limiter outage must not take the live record down.

The other limited routes (console log-in, the consumer's visit loop) stay on flask-limiter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from limits import parse_many

log = logging.getLogger("anxinma.issuer.web.ratelimit")

#: Keys share flask-limiter's namespace in Redis, so one pattern (``LIMITS*``) finds every counter.
KEY_PREFIX = "LIMITS:anxinma-live"

#: Checks every rule (KEYS[i]: a list of hit times, newest first; ARGV: now, then amount and
#: window seconds per rule): refused when the amount-th newest hit is inside the window, else
#: the hit is recorded in every list, trimmed to the amount. Returns {0, hits in rule 1's window}
#: or {i, the oldest hit counted against rule i} when rule i refuses.
_SCRIPT = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  local oldest = redis.call('LINDEX', key, amount - 1)
  if oldest and tonumber(oldest) > now - window then
    return {i, oldest}
  end
end
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('LPUSH', key, ARGV[1])
  redis.call('LTRIM', key, 0, amount - 1)
  redis.call('EXPIRE', key, window)
end
return {0, redis.call('LLEN', KEYS[1])}
"""


@dataclass(frozen=True, slots=True)
class Rule:
    """At most ``amount`` hits in any ``seconds``-long window."""

    amount: int
    seconds: int
    text: str


@dataclass(frozen=True, slots=True)
class Decision:
    """One request's answer, and what the X-RateLimit headers say about it."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after: int

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset_at)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def parse_rules(text: str) -> list[Rule]:
    """The rules of a flask-limiter string ("10/second; 300 per minute"), as ``limits`` reads them."""
    return [Rule(item.amount, item.get_expiry(), str(item)) for item in parse_many(text)]


class MovingWindowLimiter:
    """Per-client moving-window limits, in this process or shared through Redis (see the module)."""

    #: Sweep clients whose hits have all left the window once this many seconds have passed.
    SWEEP_SECONDS = 60.0

    def __init__(self, rules: str, redis_url: str | None = None, *, name: str = "live") -> None:
        self.rules = parse_rules(rules)
        if not self.rules:
            raise ValueError(f"no rate limit rule in {rules!r}")
        self.name = name
        self._first = self.rules[0]
        self._lock = threading.Lock()
        self._hits: dict[str, list[deque[float]]] = {}
        self._swept = time.monotonic()
        self._longest = max(rule.seconds for rule in self.rules)
        self._script: Any = None
        if redis_url:
            import redis

            client = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
            self._script = client.register_script(_SCRIPT)
            self._args_tail = [value for rule in self.rules for value in (rule.amount, rule.seconds)]

    def hit(self, client: str) -> Decision:
        """Count one request of ``client`` if every rule allows it; say whether it may proceed."""
        now = time.time()
        if self._script is not None:
            return self._hit_redis(client, now)
        return self._hit_memory(client, now)

    def _keys(self, client: str) -> list[str]:
        return [f"{KEY_PREFIX}/{self.name}/{client}/{rule.amount}/{rule.seconds}" for rule in self.rules]

    def _hit_redis(self, client: str, now: float) -> Decision:
        try:
            index, value = self._script(keys=self._keys(client), args=[repr(now), *self._args_tail])
        except Exception as exc:  # Redis down or slow: serve, unlimited, as flask-limiter did
            log.warning("rate limit not checked (Redis: %s)", type(exc).__name__)
            first = self._first
            return Decision(True, first.amount, first.amount, now + first.seconds, 0)
        if int(index) == 0:
            first = self._first
            return Decision(True, first.amount, max(first.amount - int(value), 0), now + first.seconds, 0)
        rule = self.rules[int(index) - 1]
        return self._refused(rule, float(value), now)

    def _hit_memory(self, client: str, now: float) -> Decision:
        with self._lock:
            if now - self._swept >= self.SWEEP_SECONDS:
                self._sweep(now)
            windows = self._hits.get(client)
            if windows is None:
                windows = self._hits[client] = [deque() for _ in self.rules]
            for rule, hits in zip(self.rules, windows, strict=True):
                edge = now - rule.seconds
                while hits and hits[0] <= edge:
                    hits.popleft()
                if len(hits) >= rule.amount:
                    return self._refused(rule, hits[len(hits) - rule.amount], now)
            for hits in windows:
                hits.append(now)
            first = self._first
            return Decision(True, first.amount, first.amount - len(windows[0]), now + first.seconds, 0)

    def _sweep(self, now: float) -> None:
        """Forget clients with no hit inside the longest window (the caller holds the lock)."""
        self._swept = now
        edge = now - self._longest
        for client in [
            c for c, windows in self._hits.items() if all(not h or h[-1] <= edge for h in windows)
        ]:
            del self._hits[client]

    @staticmethod
    def _refused(rule: Rule, oldest: float, now: float) -> Decision:
        """Refused by ``rule``: a slot frees when its ``oldest`` counted hit leaves the window."""
        reset_at = oldest + rule.seconds
        return Decision(False, rule.amount, 0, reset_at, max(int(reset_at - now) + 1, 1))


__all__ = ["KEY_PREFIX", "Decision", "MovingWindowLimiter", "Rule", "parse_rules"]
