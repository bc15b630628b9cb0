"""The live record (POST /api/v1/live): the credit record of a credential, signed, for a
caller that presents the credential itself; and the per-day scan counts it feeds (亮证率).

This is the service's hottest read: two prebuilt statements, no ORM entities, one Ed25519
signature.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from anxinma import credential as fmt
from anxinma.ed25519 import SigningKey
from anxinma.issuer.errors import not_found
from anxinma.issuer.services.rules import lapsed, mask_credit_code, today_in_china
from anxinma.issuer.services.validation import presented_credential
from anxinma.issuer.store.db import Store
from anxinma.issuer.store.models import Credential, Enterprise, Rating, ScanCount, Training, Worker
from anxinma.keys import KeyDirectory
from anxinma.keys.jwk import b64url

log = logging.getLogger("anxinma.issuer.services.live")

LIVE_TYPE = "anxinma-live+jwt"
LIVE_SECONDS = 300


class ScanCounter:
    """Online scans per worker per day (亮证率), buffered in memory and added to the table in
    batches, so a live lookup costs no write. Nothing about the scanner is kept."""

    def __init__(self, store: Store, *, flush_seconds: float = 5.0, flush_at: int = 500) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.flush_at = flush_at
        self._pending: dict[tuple[int, date], int] = {}
        self._lock = threading.Lock()
        self._last = time.monotonic()

    def hit(self, worker_id: int, day: date) -> None:
        with self._lock:
            self._pending[(worker_id, day)] = self._pending.get((worker_id, day), 0) + 1
            due = len(self._pending) >= self.flush_at or time.monotonic() - self._last >= self.flush_seconds
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._last = time.monotonic()
        if not pending:
            return
        rows = [{"worker_id": w, "day": d, "count": c} for (w, d), c in pending.items()]
        insert: Any = postgresql.insert if self.store.is_postgres else sqlite.insert
        statement = insert(ScanCount.__table__)
        statement = statement.on_conflict_do_update(
            index_elements=["worker_id", "day"],
            set_={"count": ScanCount.__table__.c.count + statement.excluded.count},
        )
        try:
            with self.store.write() as session:
                session.execute(statement, rows)
        except Exception:  # a lost batch of counts is not worth failing a lookup for
            log.exception("could not store %d scan count(s)", len(rows))


class LiveRecords:
    """Builds and signs live records for one issuer."""

    def __init__(self, store: Store, keys: KeyDirectory, issuer_code: int) -> None:
        self.store = store
        self.keys = keys
        self.issuer_code = issuer_code
        self.scans = ScanCounter(store)

    def record(self, code: Any) -> str:
        """The signed live record of the credential presented (proof that the caller holds it).

        Raises :class:`ApiError` 400 for text that is not a credential and 404 for one this
        issuer did not issue (or not with these exact bytes).
        """
        raw, presented = presented_credential(code, self.issuer_code)
        today = today_in_china()
        query, trainings_query = _live_queries()
        with self.store.read_connection() as connection:
            found = connection.execute(query, {"serial": presented.claims.serial}).first()
            if found is None or found[0] != raw:
                raise not_found("credential", "安心码")
            (
                _,
                status_name,
                subject_kind,
                expires_on,
                reason,
                revoked_at,
                card_uid,
                enterprise_id,
                enterprise_name,
                credit_code,
                enterprise_stars,
                worker_id,
                categories,
                worker_stars,
                health,
                insurance,
                photo_url,
                count,
                average,
            ) = found
            trainings = (
                connection.execute(trainings_query, {"worker_id": worker_id}).all()
                if worker_id is not None
                else []
            )
        if worker_id is not None:
            self.scans.hit(worker_id, today)
        now = datetime.now(UTC).replace(microsecond=0)
        attention = lapsed(health, insurance, today) if worker_id is not None else []
        if status_name in ("revoked", "suspended"):
            status = status_name
        elif today >= expires_on:
            status = "expired"
        elif attention:
            status = "attention"
        else:
            status = "valid"
        claims: dict[str, Any] = {
            "iss": str(self.issuer_code),
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + LIVE_SECONDS,
            "serial": presented.claims.serial,
            "status": status,
            "subject_kind": subject_kind,
            "display_name": presented.claims.display_name,
            "photo_url": photo_url,
            "enterprise": {
                "id": enterprise_id,
                "name": enterprise_name,
                "credit_code_masked": mask_credit_code(credit_code),
            },
            "categories": [
                c.zh for c in sorted(fmt.categories_from_bits(categories or 0), key=lambda c: c.bit)
            ],
            "star_level": worker_stars if worker_id is not None else enterprise_stars,
            "training": [{"name": name, "issued_on": issued_on.isoformat()} for name, issued_on in trainings],
            "health_certificate": _validity(health, today),
            "insurance": _validity(insurance, today),
            "attention": attention,
            "rating": {
                "count": int(count or 0),
                "average": round(float(average), 1) if average is not None else None,
            },
            "revocation": (
                {"reason": reason, "at": _utc(revoked_at).isoformat() if revoked_at else None}
                if status_name == "revoked"
                else None
            ),
            "card_uid": card_uid,
            "expires_on": expires_on.isoformat(),
        }
        kid, key = self.keys.signing_key()
        return sign_live_jws(claims, kid, key)


def sign_live_jws(claims: dict[str, Any], kid: bytes, key: SigningKey) -> str:
    """The compact JWS of ``claims``, signed with the loaded key through the Ed25519 seam.

    Byte for byte what ``jwt.encode(claims, key, "EdDSA", headers={"typ": LIVE_TYPE, "kid": …})``
    gives (sorted header, compact JSON, ASCII escapes; a test holds them equal), without PyJWT's
    generic path and its OpenSSL key object: the record is signed on every lookup.
    """
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{_live_header(kid)}.{payload}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


@functools.lru_cache(maxsize=8)
def _live_header(kid: bytes) -> str:
    """The encoded protected header of one signing key's live records (the same every time)."""
    header = {"alg": "EdDSA", "kid": kid.hex(), "typ": LIVE_TYPE}
    return b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


@functools.cache
def _live_queries() -> tuple[Any, Any]:
    """The live record's two statements, built once (building a select costs more than running it)."""
    # The public summary is the consumers' ratings (an enterprise's of its own workers would inflate it).
    consumers = (Rating.worker_id == Worker.id, Rating.source == "consumer")
    rating_count = select(func.count(Rating.id)).where(*consumers).scalar_subquery()
    rating_average = select(func.avg(Rating.score)).where(*consumers).scalar_subquery()
    record = (
        select(
            Credential.raw,
            Credential.status,
            Credential.subject_kind,
            Credential.expires_on,
            Credential.revocation_reason,
            Credential.revoked_at,
            Credential.card_uid,
            Enterprise.id,
            Enterprise.name,
            Enterprise.credit_code,
            Enterprise.star_level,
            Worker.id,
            Worker.categories,
            Worker.star_level,
            Worker.health_valid_until,
            Worker.insurance_valid_until,
            Worker.photo_url,
            rating_count,
            rating_average,
        )
        .join(Enterprise, Enterprise.id == Credential.enterprise_id)
        .outerjoin(Worker, Worker.id == Credential.worker_id)
        .where(Credential.serial == bindparam("serial"))
    )
    trainings = (
        select(Training.name, Training.issued_on)
        .where(Training.worker_id == bindparam("worker_id"))
        .order_by(Training.issued_on)
    )
    return record, trainings


def _utc(value: datetime) -> datetime:
    """A timestamp read without the ORM type (SQLite gives it naive, in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _validity(until: date | None, today: date) -> dict[str, Any]:
    return {
        "valid_until": until.isoformat() if until else None,
        "valid": until is not None and until >= today,
    }
