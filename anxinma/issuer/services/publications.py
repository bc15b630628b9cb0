"""The ``publications`` table: what every host of one issuer serves, byte for byte (docs/operations.md).

A publication is found by (kind, issuer code, shard) and numbered by ``version``. Reading the
newest is one index range; publishing a newer one is an insert of ``version + 1`` that the
unique index lets exactly one host win — the loser reads the winner and serves its bytes. The
last :data:`KEEP` versions of each (kind, issuer, shard) are kept, older ones pruned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from anxinma.issuer.observability import PUBLICATIONS
from anxinma.issuer.store.db import Store
from anxinma.issuer.store.models import Publication

log = logging.getLogger("anxinma.issuer.services.publications")

TRUST_LIST = "trust_list"
STATUS = "status"
FRESHNESS = "freshness"
NO_SHARD = -1
KEEP = 3


@dataclass(frozen=True)
class Published:
    """One row, as served: ``body`` (trust list / freshness JWT, a shard's compact form) and, for
    a status shard, its ``jwt`` and ``cwt`` forms."""

    kind: str
    issuer_code: int
    shard: int
    version: int
    issued_at: datetime
    expires_at: datetime | None
    kid: str | None
    digest: str
    source: str
    source_seq: int
    body: bytes
    jwt: bytes | None = None
    cwt: bytes | None = None

    def etag(self, form: str = "") -> str:
        """A strong ETag that changes exactly when the served bytes do."""
        if form == "jwt" and self.jwt is not None:
            from anxinma.issuer.services.status_forms import digest

            return f'"jwt-{digest(self.jwt)[:32]}"'
        if form == "cwt" and self.cwt is not None:
            from anxinma.issuer.services.status_forms import digest

            return f'"cwt-{digest(self.cwt)[:32]}"'
        prefix = f"{form}-" if form else ""
        return f'"{prefix}{self.digest[:32]}"'


def _published(row: Publication) -> Published:
    return Published(
        row.kind, row.issuer_code, row.shard, int(row.version), row.issued_at, row.expires_at, row.kid,
        row.digest, row.source, int(row.source_seq), bytes(row.body),
        None if row.jwt is None else bytes(row.jwt), None if row.cwt is None else bytes(row.cwt),
    )  # fmt: skip


class Publications:
    """Reads and inserts publications of one store; holds the newest row of each key it has read,
    so serving an unchanged publication reads one small index entry, not its bodies."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[tuple[str, int, int], Published] = {}

    def latest(self, kind: str, issuer_code: int, shard: int = NO_SHARD) -> Published | None:
        """The newest publication (read from the database on every call: another host may have
        published since)."""
        key = (kind, issuer_code, shard)
        where = (Publication.kind == kind, Publication.issuer_code == issuer_code, Publication.shard == shard)
        with self.store.read() as session:
            top = session.execute(
                select(Publication.version, Publication.digest)
                .where(*where)
                .order_by(Publication.version.desc())
                .limit(1)
            ).first()
            if top is None:
                return None
            cached = self._cache.get(key)
            if cached is not None and (cached.version, cached.digest) == (int(top[0]), top[1]):
                return cached
            row = session.execute(
                select(Publication).where(*where, Publication.version == top[0])
            ).scalar_one()
            found = _published(row)
        self._cache[key] = found
        return found

    def insert(self, publication: Published) -> Published:
        """Insert ``publication``; when another host inserted that version first, return theirs.

        Prunes versions older than the last :data:`KEEP` in the same transaction.
        """
        row = Publication(
            kind=publication.kind,
            issuer_code=publication.issuer_code,
            shard=publication.shard,
            version=publication.version,
            issued_at=publication.issued_at,
            expires_at=publication.expires_at,
            kid=publication.kid,
            digest=publication.digest,
            source=publication.source,
            source_seq=publication.source_seq,
            body=publication.body,
            jwt=publication.jwt,
            cwt=publication.cwt,
        )
        try:
            with self.store.write() as session:
                session.add(row)
                session.flush()
                session.execute(
                    delete(Publication).where(
                        Publication.kind == publication.kind,
                        Publication.issuer_code == publication.issuer_code,
                        Publication.shard == publication.shard,
                        Publication.version <= publication.version - KEEP,
                    )
                )
        except IntegrityError:
            log.info(
                "%s %s/%s version %d was published by another host first",
                publication.kind, publication.issuer_code, publication.shard, publication.version,
            )  # fmt: skip
            winner = self.latest(publication.kind, publication.issuer_code, publication.shard)
            assert winner is not None  # the row that won the unique index
            return winner
        self._cache[(publication.kind, publication.issuer_code, publication.shard)] = publication
        PUBLICATIONS.labels(kind=publication.kind).inc()  # only the host whose insert won counts it
        return publication
