"""Status lists served by the issuer: an in-process copy of every shard, following the
database by ``change_seq`` (an indexed column), and signed tokens cached until something changes.

* A change costs O(1): one two-bit slot of its shard's packed array is set and the shard is
  marked dirty; nothing else is touched.
* A token is re-signed only when its shard is dirty or its signing window rolled over. The
  window (``iat`` rounded down to the ttl) makes the token a pure function of the statuses and
  the window, and Ed25519 is deterministic, so every gunicorn worker and every host serves
  byte-identical tokens and one ETag.
* The database is the truth, so the board is correct whether or not Redis is up, in every
  process (a cron job revoking from another process is seen at the next read).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from anxinma.ed25519 import SigningKey
from anxinma.issuer.db import Store
from anxinma.issuer.models import Credential
from anxinma.status_list import SHARD_SIZE, StatusArray, shard_of, sign_status_list, sign_status_list_cwt


@dataclass(frozen=True)
class SignedList:
    """A signed token of one shard: ``token`` is the JWT text or the CWT bytes."""

    token: str | bytes
    etag: str
    window: int
    issued_at: datetime
    version: int

    @property
    def body(self) -> bytes:
        return self.token.encode() if isinstance(self.token, str) else self.token


class StatusBoard:
    """Every shard's statuses for one issuer, and their signed tokens."""

    def __init__(
        self,
        store: Store,
        *,
        issuer_code: int,
        uri_for: Callable[[int], str],
        signing_key: Callable[[], tuple[bytes, SigningKey]],
        ttl: int,
        min_sync_interval: float = 0.05,
    ) -> None:
        self.store = store
        self.issuer_code = issuer_code
        self.uri_for = uri_for
        self.signing_key = signing_key
        self.ttl = max(1, ttl)
        self.min_sync_interval = min_sync_interval
        self._arrays: dict[int, StatusArray] = {}
        self._versions: dict[int, int] = {}  # bumped by every change of the shard
        self._signed: dict[tuple[int, str], SignedList] = {}
        self._last_seq = -1
        self._synced_at = 0.0
        self._lock = threading.RLock()

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def _load(self) -> None:
        with self.store.read() as session:
            top = session.execute(select(func.max(Credential.change_seq))).scalar()
            rows = session.execute(select(Credential.serial, Credential.status_value)).all()
        for serial, value in rows:
            self._set(int(serial), int(value))
        self._last_seq = int(top or 0)

    def _set(self, serial: int, value: int) -> None:
        shard, index = shard_of(serial)
        array = self._arrays.get(shard)
        if array is None:
            array = self._arrays[shard] = StatusArray()
        array.set(index, value)
        self._versions[shard] = self._versions.get(shard, 0) + 1

    def sync(self, *, force: bool = False) -> int:
        """Apply every change committed since the last sync; returns how many rows it read.

        Reads ``WHERE change_seq > last`` through its index: O(changes), never a table scan
        (the first call loads every serial once).
        """
        with self._lock:
            now = time.monotonic()
            if not force and now - self._synced_at < self.min_sync_interval:
                return 0
            self._synced_at = now
            if self._last_seq < 0:
                self._load()
                return len(self._arrays)
            with self.store.read() as session:
                rows = session.execute(
                    select(Credential.serial, Credential.status_value, Credential.change_seq)
                    .where(Credential.change_seq > self._last_seq)
                    .order_by(Credential.change_seq)
                ).all()
            for serial, value, seq in rows:
                self._set(int(serial), int(value))
                self._last_seq = max(self._last_seq, int(seq))
            return len(rows)

    def apply(self, changes: list[tuple[int, int]]) -> None:
        """Set statuses this process just committed (seen before the next sync reads them)."""
        with self._lock:
            if self._last_seq < 0:
                return  # not loaded yet: the first sync reads them
            for serial, value in changes:
                self._set(serial, value)

    def shards(self) -> list[int]:
        self.sync()
        with self._lock:
            return sorted(self._arrays)

    def array(self, shard: int) -> StatusArray | None:
        self.sync()
        with self._lock:
            return self._arrays.get(shard)

    def value(self, serial: int) -> int | None:
        shard, index = shard_of(serial)
        array = self.array(shard)
        if array is None or index >= array.size:
            return None
        return int(array.get(index))

    def signed(self, shard: int, *, form: str = "jwt", now: datetime | None = None) -> SignedList | None:
        """The shard's current token, ``form`` "jwt" or "cwt"; re-signed only when the shard
        changed since it was signed or its signing window rolled over."""
        self.sync()
        moment = now or datetime.now(UTC)
        window = int(moment.timestamp()) // self.ttl * self.ttl
        with self._lock:
            array = self._arrays.get(shard)
            if array is None:
                return None
            version = self._versions.get(shard, 0)
            cached = self._signed.get((shard, form))
            if cached is not None and cached.version == version and cached.window == window:
                return cached
            kid, key = self.signing_key()
            issued_at = datetime.fromtimestamp(window, UTC)
            sign = sign_status_list_cwt if form == "cwt" else sign_status_list
            token: str | bytes = sign(
                array,
                issuer_code=self.issuer_code,
                shard=shard,
                uri=self.uri_for(shard),
                key=key.to_cryptography(),
                kid=kid,
                now=issued_at,
                ttl=timedelta(seconds=self.ttl),
            )
            body = token.encode() if isinstance(token, str) else token
            etag = f'"{form}-' + hashlib.sha256(body).hexdigest()[:32] + '"'
            signed = SignedList(token, etag, window, issued_at, version)
            self._signed[(shard, form)] = signed
            return signed


def shard_range(shard: int) -> tuple[int, int]:
    """First and last serial a shard covers."""
    return shard * SHARD_SIZE, (shard + 1) * SHARD_SIZE - 1
