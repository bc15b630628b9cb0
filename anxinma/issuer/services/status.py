"""Status lists served by the issuer: an in-process copy of every shard, following the
database by ``change_seq`` (an indexed column), and the versioned publications every host serves.

* A change costs O(1): one two-bit slot of its shard's packed array is set; nothing else is
  touched.
* A shard is *published* (its compact, JWT and CWT forms signed under one new ``version``, one
  row of ``publications``) only when its statuses changed, the signing key changed, or half its
  validity passed (docs/operations.md). Every host serves the newest row's bytes, so all hosts answer
  with the same bytes and ETag, and unchanged data keeps its ETag across ttl windows.
* The freshness document lists each shard's newest version and digest; it is re-published every
  ttl window and whenever a shard's version changed, ``seq`` strictly increasing.
* Shards are read from the database when first asked for, not at start: a process answers its
  first request after reading one shard's *non-valid* rows (a valid serial is a zero, and most
  are valid), never every credential (issue 19: 5.9 s at 1 M rows before). A sync reads the
  changes since the last one and applies them to the shards held; a shard read later comes
  from the database as it then is, which already holds those changes.
* The database is the truth, so the board is correct whether or not Redis is up, in every
  process (a cron job revoking from another process is seen at the next read). A host publishes
  only from a view that has read every status change the newest publication was made from
  (``source_seq``), so a host that lags can never publish a revocation away.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select

from anxinma.ed25519 import SigningKey
from anxinma.issuer.services import status_forms as forms
from anxinma.issuer.services.publications import FRESHNESS, NO_SHARD, STATUS, Publications, Published
from anxinma.issuer.store.db import Store
from anxinma.issuer.store.models import NONVALID, Credential
from anxinma.status_list import SHARD_SIZE, StatusArray, shard_of

log = logging.getLogger("anxinma.issuer.services.status")


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
        compact_uri_for: Callable[[int], str] | None = None,
        publications: Publications | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.issuer_code = issuer_code
        self.uri_for = uri_for
        self.compact_uri_for = compact_uri_for or (lambda shard: f"{uri_for(shard)}/compact")
        self.signing_key = signing_key
        self.ttl = max(1, ttl)
        self.min_sync_interval = min_sync_interval
        self.publications = publications or Publications(store)
        #: The time publications are judged and signed by (tests move it).
        self.clock = clock or (lambda: datetime.now(UTC))
        self._arrays: dict[int, StatusArray] = {}
        self._sources: dict[int, str] = {}  # digest of each shard's statuses, until it changes
        self._last_seq = -1
        self._synced_at = 0.0
        self._lock = threading.RLock()
        self._publish_lock = threading.Lock()

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def _start(self) -> None:
        """The first sync: only where the change sequence stands (its index's last entry)."""
        with self.store.read() as session:
            top = session.execute(select(func.max(Credential.change_seq))).scalar()
        self._last_seq = int(top or 0)

    def _load_shard(self, shard: int) -> StatusArray | None:
        """Read one shard from the database (under ``_lock``, after a sync): its size from its
        highest serial, and the serials whose status is not valid. None: no credential in it."""
        first, last = shard_range(shard)
        with self.store.read() as session:
            top = session.execute(
                select(func.max(Credential.serial)).where(Credential.serial.between(first, last))
            ).scalar()
            if top is None:
                return None
            rows = session.execute(
                select(Credential.serial, Credential.status_value).where(
                    Credential.serial.between(first, last), NONVALID
                )
            ).all()
        array = StatusArray(int(top) - first + 1)
        for serial, value in rows:
            array.set(int(serial) - first, int(value))
        self._arrays[shard] = array
        self._sources.pop(shard, None)
        return array

    def _held(self, shard: int) -> StatusArray | None:
        """The shard's array, read now if this process has not read it yet (under ``_lock``)."""
        array = self._arrays.get(shard)
        return array if array is not None else self._load_shard(shard)

    def _set(self, serial: int, value: int) -> None:
        """Apply one change to a shard this process holds; a shard not read yet is skipped (the
        database, where the change is committed, is what it will be read from)."""
        shard, index = shard_of(serial)
        array = self._arrays.get(shard)
        if array is None:
            return
        array.set(index, value)
        self._sources.pop(shard, None)

    def sync(self, *, force: bool = False) -> int:
        """Apply every change committed since the last sync; returns how many rows it read.

        Reads ``WHERE change_seq > last`` through its index: O(changes), never a table scan
        (the first call reads only the highest change_seq; shards are read when asked for).
        """
        with self._lock:
            now = time.monotonic()
            if not force and now - self._synced_at < self.min_sync_interval:
                return 0
            self._synced_at = now
            if self._last_seq < 0:
                self._start()
                return 0
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
            for serial, value in changes:
                self._set(serial, value)

    def shards(self) -> list[int]:
        """The shards that hold a credential: serials are allocated without gaps (the counter
        of :mod:`anxinma.issuer.store.models`), so every shard from the lowest serial's to the
        highest's. Two ends of the primary key, not a scan."""
        with self.store.read() as session:
            low, high = session.execute(
                select(func.min(Credential.serial), func.max(Credential.serial))
            ).one()
        if low is None or high is None:
            return []
        return list(range(shard_of(int(low))[0], shard_of(int(high))[0] + 1))

    def held_shards(self) -> list[int]:
        """The shards this process has read so far (for tests and the cold-start benchmark)."""
        with self._lock:
            return sorted(self._arrays)

    def array(self, shard: int) -> StatusArray | None:
        self.sync()
        with self._lock:
            return self._held(shard)

    def value(self, serial: int) -> int | None:
        shard, index = shard_of(serial)
        array = self.array(shard)
        if array is None or index >= array.size:
            return None
        return int(array.get(index))

    # -- publications ----------------------------------------------------------------------

    def _source(self, shard: int) -> tuple[str, int] | None:
        """(digest of the shard's statuses and size, the change seq they include), or None."""
        with self._lock:
            array = self._held(shard)
            if array is None:
                return None
            source = self._sources.get(shard)
            if source is None:
                source = self._sources[shard] = _source_of(array)
            return source, self._last_seq

    def _stale(self, held: Published | None, source: str, kid: bytes, now: datetime) -> bool:
        if held is None or held.source != source or held.kid != kid.hex():
            return True
        half = (forms.VALIDITY / 2).total_seconds()
        return (now - held.issued_at).total_seconds() >= half

    def publication(self, shard: int) -> Published | None:
        """The shard's current publication (compact ``body``, ``jwt``, ``cwt``), publishing a
        new version first when the newest one is out of date; None for a shard with no credential."""
        held = self.publications.latest(STATUS, self.issuer_code, shard)
        self.sync()
        now = self.clock()
        kid, _ = self.signing_key()
        source = self._source(shard)
        if source is None:
            return None
        if not self._stale(held, source[0], kid, now):
            return held
        with self._publish_lock:
            for _attempt in range(5):
                held = self.publications.latest(STATUS, self.issuer_code, shard)
                # Read every change the newest publication was made from before judging it: a
                # lagging view must never publish older statuses (a revocation) under a new version.
                self.sync(force=True)
                source = self._source(shard)
                assert source is not None
                kid, key = self.signing_key()
                now = self.clock()
                if not self._stale(held, source[0], kid, now):
                    return held
                if held is not None and held.source_seq > source[1]:
                    continue  # another host saw later changes than this view: sync again
                made = self._sign_shard(shard, 1 if held is None else held.version + 1, kid, key, now)
                won = self.publications.insert(made)
                if won is made:
                    log.info("status %s/%d version %d published", self.issuer_code, shard, made.version)
                    return made
            return self.publications.latest(STATUS, self.issuer_code, shard)

    def _sign_shard(self, shard: int, version: int, kid: bytes, key: SigningKey, now: datetime) -> Published:
        moment = now.astimezone(UTC).replace(microsecond=0)
        with self._lock:
            array = StatusArray(self._arrays[shard].size, self._arrays[shard].to_bytes())
            seq = self._last_seq
        source = _source_of(array)
        private = key.to_cryptography()
        common = {
            "issuer_code": self.issuer_code,
            "shard": shard,
            "version": version,
            "kid": kid,
            "now": moment,
        }
        compact = forms.sign_compact(array, key=private, **common)  # type: ignore[arg-type]
        uri = self.uri_for(shard)
        token = forms.sign_jwt(array, uri=uri, key=private, ttl=self.ttl, **common)  # type: ignore[arg-type]
        cwt = forms.sign_cwt(array, uri=uri, key=private, ttl=self.ttl, **common)  # type: ignore[arg-type]
        return Published(
            STATUS, self.issuer_code, shard, version, moment, moment + forms.VALIDITY, kid.hex(),
            forms.digest(compact), source, seq, compact,
            token, cwt,
        )  # fmt: skip

    def freshness(self) -> Published:
        """The current freshness document, re-published when a ttl has passed since the newest one
        was signed, when a shard's version changed, or when the signing key changed."""
        for _attempt in range(5):
            entries = []
            for shard in self.shards():
                published = self.publication(shard)
                if published is not None:
                    size = self._arrays[shard].size
                    entries.append(
                        forms.ShardEntry(
                            shard, published.version, size, published.digest, self.compact_uri_for(shard)
                        )
                    )
            source = forms.canonical([[e.shard, e.version, e.digest, e.url] for e in entries])
            held = self.publications.latest(FRESHNESS, self.issuer_code)
            kid, key = self.signing_key()
            now = self.clock()
            if (
                held is not None
                and held.source == source
                and held.kid == kid.hex()
                and (now - held.issued_at).total_seconds() < self.ttl
            ):
                return held
            moment = now.astimezone(UTC).replace(microsecond=0)
            seq = 1 if held is None else held.version + 1
            body = forms.sign_freshness(
                issuer_code=self.issuer_code, seq=seq, shards=entries, key=key.to_cryptography(), kid=kid,
                now=moment, ttl=self.ttl,
            )  # fmt: skip
            made = Published(
                FRESHNESS, self.issuer_code, NO_SHARD, seq, moment, moment + forms.VALIDITY, kid.hex(),
                forms.digest(body), source, self._last_seq, body,
            )  # fmt: skip
            won = self.publications.insert(made)
            if won is made:
                log.info("status freshness %s seq %d published", self.issuer_code, seq)
                return made
            if won.source == source:
                return won
        latest = self.publications.latest(FRESHNESS, self.issuer_code)
        assert latest is not None
        return latest


def _source_of(array: StatusArray) -> str:
    """What a shard's publication is made from: its size and every status (SHA-256)."""
    return forms.digest(array.size.to_bytes(4, "big") + array.to_bytes())


def shard_range(shard: int) -> tuple[int, int]:
    """First and last serial a shard covers."""
    return shard * SHARD_SIZE, (shard + 1) * SHARD_SIZE - 1
