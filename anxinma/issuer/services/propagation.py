"""After a status change is committed: push it to Redis (hot bits + pub/sub), or, without
``REDIS_URL``, to in-process subscribers. The database commit came first, so nothing here can
lose a revocation; this only makes it visible sooner.

Redis layout (docs/interfaces.md, "Redis"):

* ``anxinma:status:<issuer_code>:<shard>`` — the shard's statuses as a Redis string, two bits
  per serial, read with ``BITFIELD key GET u2 #<index>`` (Redis counts bits from the most
  significant bit of byte 0, the token from the least: :func:`redis_to_packed` converts);
* ``anxinma:status:<issuer_code>:seq`` — the highest ``change_seq`` Redis is known to hold;
* channel ``anxinma:status:<issuer_code>`` — one JSON message per change:
  ``{"issuer_code", "serial", "status", "value", "reason", "seq", "at"}``.

If Redis is down, a push fails fast (250 ms timeouts, no retries) and is dropped: the
reconciler (a thread in every process) compares the ``seq`` key with the database and
re-applies every change since, or rebuilds every shard from the database when Redis lost its
data (the ``seq`` key is gone after a restart). One process rebuilds: it takes the lock key
``anxinma:status:<issuer_code>:rebuild`` (``SET NX`` with a 2-minute expiry, so a process killed
mid-rebuild frees it); the others find it taken and look again next round, by which time the
``seq`` key is back. A rebuild reads only the serials that are not valid (a valid serial is a
zero, what Redis holds where nothing was written) and each shard's highest serial.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

from sqlalchemy import func, select

from anxinma.issuer.store.db import Store
from anxinma.issuer.store.models import NONVALID, Credential
from anxinma.status_list import SHARD_SIZE, CredentialStatus, StatusArray, shard_of

log = logging.getLogger("anxinma.issuer.services.propagation")

STATUS_NAMES = {0: "valid", 1: "revoked", 2: "suspended", 3: "attention"}


@dataclass(frozen=True)
class StatusChange:
    """One committed change, as published (no personal data)."""

    issuer_code: int
    serial: int
    value: int
    reason: str | None
    seq: int
    at: str

    @property
    def status(self) -> str:
        return STATUS_NAMES[self.value]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "status": self.status}, separators=(",", ":"))


class Publisher(Protocol):
    def publish(self, changes: list[StatusChange]) -> None: ...

    def subscribe(self, callback: Callable[[StatusChange], None]) -> Callable[[], None]: ...

    def close(self) -> None: ...


class LocalBus:
    """The embedded default: subscribers in this process are called after each commit."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[StatusChange], None]] = []
        self._lock = threading.Lock()

    def publish(self, changes: list[StatusChange]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for change in changes:
            for callback in subscribers:
                try:
                    callback(change)
                except Exception:  # a subscriber's bug must not undo a committed revocation
                    log.exception("status subscriber failed")

    def subscribe(self, callback: Callable[[StatusChange], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def close(self) -> None:
        with self._lock:
            self._subscribers.clear()


# Redis BITFIELD numbers bits from the most significant end of each byte, the status list from
# the least: the four two-bit slots of a byte appear in reverse order.
def _reverse_slots(byte: int) -> int:
    return sum(((byte >> (2 * slot)) & 3) << (2 * (3 - slot)) for slot in range(4))


_REVERSE = bytes(_reverse_slots(b) for b in range(256))


def redis_to_packed(data: bytes) -> bytes:
    """A Redis shard string as the status list's packed bytes (the conversion is its own inverse)."""
    return data.translate(_REVERSE)


packed_to_redis = redis_to_packed

# Set the seq key only upwards: two processes reconciling at once never move it back.
_SET_MAX = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return current
"""

# Free the rebuild lock only if this process still holds it (it may have expired and been taken).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

#: How long a rebuild may hold the lock before another process may take it over (ms).
REBUILD_LOCK_MS = 120_000


class RedisMirror:
    """Hot status bits and pub/sub in Redis, kept equal to the database by a reconciler."""

    def __init__(self, url: str, store: Store, issuer_code: int, *, interval: float = 1.0) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.store = store
        self.issuer_code = issuer_code
        self.interval = interval
        self.client = redis.Redis.from_url(
            url, socket_timeout=0.25, socket_connect_timeout=0.25, retry=Retry(NoBackoff(), 0)
        )
        self._redis_error: type[Exception] = redis.RedisError
        self._healthy = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._local = LocalBus()
        self._lock = threading.Lock()
        self.rebuilds = 0

    # -- keys ------------------------------------------------------------------------------

    @property
    def channel(self) -> str:
        return f"anxinma:status:{self.issuer_code}"

    def shard_key(self, shard: int) -> str:
        return f"anxinma:status:{self.issuer_code}:{shard}"

    @property
    def seq_key(self) -> str:
        return f"anxinma:status:{self.issuer_code}:seq"

    @property
    def rebuild_key(self) -> str:
        return f"anxinma:status:{self.issuer_code}:rebuild"

    # -- the fast path ---------------------------------------------------------------------

    def publish(self, changes: list[StatusChange]) -> None:
        self._local.publish(changes)
        if not changes or not self._healthy:
            return  # the reconciler catches up once Redis answers again
        try:
            pipe = self.client.pipeline(transaction=False)
            for change in changes:
                shard, index = shard_of(change.serial)
                pipe.bitfield(self.shard_key(shard)).set("u2", f"#{index}", change.value).execute()
            for change in changes:
                pipe.publish(self.channel, change.to_json())
            pipe.execute()
        except self._redis_error as exc:
            self._healthy = False
            log.warning(
                "redis unavailable, %d status change(s) left for the reconciler: %s", len(changes), exc
            )

    def subscribe(self, callback: Callable[[StatusChange], None]) -> Callable[[], None]:
        """In-process subscribers (other processes subscribe to :attr:`channel` in Redis)."""
        return self._local.subscribe(callback)

    # -- the reconciler --------------------------------------------------------------------

    def reconcile(self) -> str:
        """Make Redis hold every committed change; returns what it did (for logs and tests).

        Raises the Redis error when Redis is still down (the thread logs and retries).
        """
        with self._lock:
            marker = self.client.get(self.seq_key)
            with self.store.read() as session:
                top = int(session.execute(select(func.max(Credential.change_seq))).scalar() or 0)
            if marker is None:
                token = os.urandom(8).hex()
                if not self.client.set(self.rebuild_key, token, nx=True, px=REBUILD_LOCK_MS):
                    return "rebuilding_elsewhere"  # another process is at it: look again next round
                try:
                    self._rebuild(top)
                finally:
                    self.client.eval(_RELEASE, 1, self.rebuild_key, token)
                self._healthy = True
                return "rebuilt"
            done = int(marker)
            if done >= top:
                self._healthy = True
                return "in_sync"
            with self.store.read() as session:
                rows = session.execute(
                    select(Credential.serial, Credential.status_value, Credential.change_seq)
                    .where(Credential.change_seq > done)
                    .order_by(Credential.change_seq)
                ).all()
            pipe = self.client.pipeline(transaction=False)
            highest = done
            for serial, value, seq in rows:
                shard, index = shard_of(int(serial))
                pipe.bitfield(self.shard_key(shard)).set("u2", f"#{index}", int(value)).execute()
                highest = max(highest, int(seq))
            pipe.eval(_SET_MAX, 1, self.seq_key, highest)
            pipe.execute()
            self._healthy = True
            return f"applied {len(rows)}"

    def _rebuild(self, top: int) -> None:
        """Write every shard from the database (after Redis lost its data)."""
        arrays: dict[int, StatusArray] = {}
        with self.store.read() as session:
            high = session.execute(select(func.max(Credential.serial))).scalar()
            rows = session.execute(select(Credential.serial, Credential.status_value).where(NONVALID)).all()
        if high is not None:
            last_shard, last_index = shard_of(int(high))
            for shard in range(last_shard + 1):
                arrays[shard] = StatusArray(last_index + 1 if shard == last_shard else SHARD_SIZE)
        for serial, value in rows:
            shard, index = shard_of(int(serial))
            arrays[shard].set(index, int(value))
        pipe = self.client.pipeline(transaction=True)
        for shard, array in arrays.items():
            pipe.set(self.shard_key(shard), packed_to_redis(array.to_bytes()))
        pipe.eval(_SET_MAX, 1, self.seq_key, top)
        pipe.execute()
        self.rebuilds += 1
        log.info("redis status bits rebuilt from the database (%d shard(s), seq %d)", len(arrays), top)

    def read(self, serial: int) -> CredentialStatus | None:
        """The serial's status as Redis holds it (None if Redis does not know the shard)."""
        shard, index = shard_of(serial)
        key = self.shard_key(shard)
        if not self.client.exists(key):
            return None
        value = self.client.bitfield(key).get("u2", f"#{index}").execute()[0]
        return CredentialStatus(int(value))

    def shard_bytes(self, shard: int, size: int = SHARD_SIZE) -> bytes:
        data = self.client.get(self.shard_key(shard)) or b""
        return redis_to_packed(data if isinstance(data, bytes) else str(data).encode("latin-1"))

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="anxinma-redis-reconciler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self.interval):
            try:
                self.reconcile()
                if failing:
                    log.info("redis is back: status bits reconciled with the database")
                failing = False
            except self._redis_error as exc:
                self._healthy = False
                if not failing:
                    log.warning("redis unavailable; statuses stay correct in the database: %s", exc)
                failing = True
            except Exception:  # the database blinked: try again next round
                log.exception("status reconciler failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._local.close()
        self.client.close()
