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
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, bindparam, cast, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from anxinma import credential as fmt
from anxinma.ed25519 import SigningKey
from anxinma.issuer.errors import not_found
from anxinma.issuer.services.rules import lapsed, mask_credit_code, today_in_china
from anxinma.issuer.services.validation import presented_credential
from anxinma.issuer.store.db import HotQuery, Store
from anxinma.issuer.store.loop_rows import public_summary, public_summary_columns
from anxinma.issuer.store.models import Credential, Enterprise, ScanCount, Training, Worker
from anxinma.keys import KeyDirectory
from anxinma.keys.jwk import b64url

if TYPE_CHECKING:
    from anxinma.issuer.services.credit import Credit

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
        self._query: HotQuery | None = None
        #: The public directory (services/credit.py) whose figures an enterprise's record
        #: carries; set by IssuerServices once it is built (the directory needs the context).
        self.credit: Credit | None = None

    def record(self, code: Any) -> str:
        """The signed live record of the credential presented (proof that the caller holds it).

        Raises :class:`ApiError` 400 for text that is not a credential and 404 for one this
        issuer did not issue (or not with these exact bytes).
        """
        raw, presented = presented_credential(code, self.issuer_code)
        today = today_in_china()
        if self._query is None:
            self._query = self.store.hot_query(_live_queries(), "serial")
        found = self._query.first(presented.claims.serial)
        if found is None or bytes(found[0]) != raw:
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
            weights,
            weighted,
            verified,
            training_text,
        ) = found
        expires_on = date.fromisoformat(expires_on) if isinstance(expires_on, str) else expires_on
        health, insurance = _day(health), _day(insurance)
        trainings = _trainings(training_text)
        if trainings is None:  # a name holding a separator (control characters): read them apart
            trainings = self._trainings_of(worker_id)
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
            "rating": public_summary(count, weights, weighted, verified),
            "revocation": (
                {"reason": reason, "at": _utc(revoked_at).isoformat() if revoked_at else None}
                if status_name == "revoked"
                else None
            ),
            "card_uid": card_uid,
            "expires_on": expires_on.isoformat(),
        }
        if subject_kind == "enterprise":
            # 一企一证一码: an enterprise's own code reads as the enterprise. Its credit code is
            # public (the directory shows it whole), and the figures are the directory's own.
            claims["enterprise"]["credit_code"] = credit_code
            claims["credit"] = self._credit_of(enterprise_id, today)
        kid, key = self.keys.signing_key()
        return sign_live_jws(claims, kid, key)

    def _credit_of(self, enterprise_id: int, today: date) -> dict[str, Any] | None:
        """The public directory's figures of one enterprise (cached there for a minute), or
        None for one the directory does not list (not active)."""
        if self.credit is None:
            return None
        listing = self.credit.directory(today)[1].get(enterprise_id)
        if listing is None:
            return None
        i, g = listing.inputs, listing.grade
        registered = i.registered
        return {
            "grade": g.grade,
            "score": g.score,
            "workers_registered": registered,
            "workers_holding": i.holding,
            "holding_rate": round(i.holding / registered, 4) if registered else None,
            "display_rate": round(i.displayed / registered, 4) if registered else None,
            "complaints": i.complaints,
            "complaints_resolved": i.resolved,
            "blacklisted": i.blacklisted,
            "red_list_since": listing.red_since.isoformat() if listing.red_since else None,
        }

    def _trainings_of(self, worker_id: int) -> list[tuple[str, date]]:
        query = select(Training.name, Training.issued_on).where(Training.worker_id == worker_id)
        with self.store.read() as session:
            return [(name, day) for name, day in session.execute(query.order_by(Training.issued_on))]


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
def _live_queries() -> Any:
    """The live record's one statement, built once (building a select costs more than running it).

    The trainings ride along as one aggregated text ("name US date" joined by RS, sorted here),
    so a lookup is one statement: one round trip to PostgreSQL, one snapshot on both databases.
    """
    # The public summary is the consumers' ratings that the rating rule counts, weighted
    # (services/rating_rule.py; an enterprise's of its own workers would inflate it).
    rating_columns = public_summary_columns(Worker.id)
    trainings = (
        select(_joined(Training.name + _US + cast(Training.issued_on, String), _RS))
        .where(Training.worker_id == Worker.id)
        .scalar_subquery()
    )
    return (
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
            *rating_columns,
            trainings,
        )
        .join(Enterprise, Enterprise.id == Credential.enterprise_id)
        .outerjoin(Worker, Worker.id == Credential.worker_id)
        .where(Credential.serial == bindparam("serial"))
    )


_US, _RS = "\x1f", "\x1e"  # ASCII unit and record separators: never in a training's name


class _joined(FunctionElement[str]):
    """Text values joined by a separator: group_concat on SQLite, string_agg on PostgreSQL
    (SQLAlchemy's aggregate_strings renders its separator post-compile, which HotQuery cannot run)."""

    type = String()
    inherit_cache = True


@compiles(_joined, "sqlite")
def _joined_sqlite(element: _joined, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)})"


@compiles(_joined, "postgresql")
def _joined_postgresql(element: _joined, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)})"


def _trainings(text: str | None) -> list[tuple[str, date]] | None:
    """The aggregated trainings, in the order they were taken; None if a name held a separator."""
    if not text:
        return []
    try:
        pairs = [part.rsplit(_US, 1) for part in text.split(_RS)]
        found = [(name, date.fromisoformat(day)) for name, day in pairs]
    except ValueError:
        return None
    return sorted(found, key=lambda pair: pair[1])


def _day(value: date | str | None) -> date | None:
    """A date as the driver gives it (SQLite: ISO text) as a date."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _utc(value: datetime | str) -> datetime:
    """A timestamp read without the ORM type (SQLite gives it as naive ISO text, in UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _validity(until: date | None, today: date) -> dict[str, Any]:
    return {
        "valid_until": until.isoformat() if until else None,
        "valid": until is not None and until >= today,
    }
