"""The issuer's tables (SQLAlchemy 2). The Alembic migrations in ``migrations/`` create exactly
these; ``tests/issuer/test_migrations.py`` fails when the two drift apart.

Identity and phone numbers are never stored in clear: a keyed hash (``*_hash``) for matching
(duplicates, the blacklist, search) and an AES-GCM copy (``*_cipher``) for the regulator's
lawful look-up, beside a masked form for display. Every filter an API request uses has an index.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite keeps no zone: normalise on the way in and out)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sorted_text(length: int) -> Any:
    """Text compared byte-wise on PostgreSQL too, so a prefix search is an index range scan."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


#: The largest id a row of these tables has: ``Integer`` is 32-bit signed on PostgreSQL, and a
#: larger number in a query is an error there ("integer out of range"), not "no such row". The
#: web layer refuses or answers 404 for ids beyond it (:mod:`anxinma.issuer.web.params`).
MAX_ID = 2**31 - 1


class Issuer(Base):
    __tablename__ = "issuers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(128))
    base_url: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Enterprise(Base):
    __tablename__ = "enterprises"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"), index=True)
    name: Mapped[str] = mapped_column(_sorted_text(128))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    star_level: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Worker(Base):
    """A worker and the head of their credit archive (信用档案)."""

    __tablename__ = "workers"
    __table_args__ = (
        Index("uq_workers_enterprise_person", "enterprise_id", "id_hash", unique=True),
        Index("ix_workers_enterprise_name", "enterprise_id", "name"),
        Index("ix_workers_name", "name"),
        Index("ix_workers_enterprise_status", "enterprise_id", "status", "id"),
        Index("ix_workers_status", "status", "id"),
        Index("ix_workers_attention_health", "attention", "health_valid_until"),
        Index("ix_workers_attention_insurance", "attention", "insurance_valid_until"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    name: Mapped[str] = mapped_column(_sorted_text(32))
    id_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    id_masked: Mapped[str] = mapped_column(String(18))
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    phone_masked: Mapped[str] = mapped_column(String(16))
    categories: Mapped[int] = mapped_column(Integer)
    skills: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of free-text skills
    star_level: Mapped[int | None] = mapped_column(SmallInteger)
    health_valid_until: Mapped[date | None] = mapped_column(Date)
    insurance_valid_until: Mapped[date | None] = mapped_column(Date)
    attention: Mapped[bool] = mapped_column(Boolean, default=False)
    photo_url: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | left | blacklisted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Training(Base):
    __tablename__ = "trainings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    issued_on: Mapped[date] = mapped_column(Date)
    institution: Mapped[str | None] = mapped_column(String(128))


class Complaint(Base):
    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    filed_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(String(500))
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class Rating(Base):
    """三方互评: a score left by a consumer (or the enterprise, or the worker) after a visit."""

    __tablename__ = "ratings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    credential_serial: Mapped[int | None] = mapped_column(BigInteger)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="consumer")
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Visit(Base):
    """确认入户: a consumer confirmed a worker at the door (the consumer page, a later part)."""

    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credential_serial: Mapped[int] = mapped_column(BigInteger, index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


#: The condition of ``ix_credentials_nonvalid_serial``, written as the index's own text: a bound
#: parameter (``status_value != ?``) would keep SQLite's and PostgreSQL's planners from using it.
NONVALID = text("credentials.status_value != 0")


class Credential(Base):
    """An issued credential. ``serial`` is its status index; ``status_value`` its 2 bits in the list."""

    __tablename__ = "credentials"
    __table_args__ = (
        # One live credential per worker and form (a card and a phone), and per enterprise for
        # its own (一企一证一码).
        Index(
            "uq_credentials_live_worker",
            "worker_id",
            "form",
            unique=True,
            sqlite_where=text("status != 'revoked' AND worker_id IS NOT NULL"),
            postgresql_where=text("status != 'revoked' AND worker_id IS NOT NULL"),
        ),
        Index(
            "uq_credentials_live_enterprise",
            "enterprise_id",
            unique=True,
            sqlite_where=text("status != 'revoked' AND subject_kind = 'enterprise'"),
            postgresql_where=text("status != 'revoked' AND subject_kind = 'enterprise'"),
        ),
        Index("ix_credentials_enterprise_serial", "enterprise_id", "serial"),
        # The serials that are not valid: what a status board or a Redis rebuild reads (most are
        # valid, a zero). Queries name the literal NONVALID so both planners match the index.
        Index(
            "ix_credentials_nonvalid_serial",
            "serial",
            "status_value",
            sqlite_where=text("status_value != 0"),
            postgresql_where=text("status_value != 0"),
        ),
    )
    serial: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuers.id"))
    subject_kind: Mapped[str] = mapped_column(String(16))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    kid: Mapped[str] = mapped_column(String(4))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | suspended | revoked
    status_value: Mapped[int] = mapped_column(SmallInteger, default=0)
    revocation_reason: Mapped[str | None] = mapped_column(String(16))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    card_uid: Mapped[str | None] = mapped_column(String(20), index=True)
    #: ``card`` (the badge and NFC card, no holder key) or ``phone`` (bound to the holder key
    #: the worker's phone made at enrolment; shown as the dynamic code, docs/format.md §12).
    form: Mapped[str] = mapped_column(String(8), default="card", server_default="card")
    replaced_by: Mapped[int | None] = mapped_column(BigInteger)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    change_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(24))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(128))
    #: A regulator confined to one district (区县, a 6-digit division code); None: the whole city.
    district: Mapped[str | None] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class User(Base):
    """A console account (username + scrypt hash); it signs in for a short-lived JWT session
    (one :class:`UserSession` row each)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(24))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    #: A regulator confined to one district (区县, a 6-digit division code); None: the whole city.
    district: Mapped[str | None] = mapped_column(String(6))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UserSession(Base):
    """A console or API session of a user: the server-side half of its JWT (``jti`` = ``id``).
    A session holds while its row exists, is not ended and its ``expires_at`` (the absolute cap,
    12 hours after sign-in) is ahead; signing out, a password change and disabling the account
    set ``ended_at``, which every host reads at the next request."""

    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(24))


class BlacklistEntry(Base):
    """失信名单: a person (by keyed identity hash) the regulator listed, with reason and evidence."""

    __tablename__ = "blacklist"
    __table_args__ = (
        Index(
            "uq_blacklist_active_person",
            "id_hash",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(18))
    reason: Mapped[str] = mapped_column(String(500))
    evidence_ref: Mapped[str] = mapped_column(String(256))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str | None] = mapped_column(String(64))
    removal_reason: Mapped[str | None] = mapped_column(String(500))


class IdempotencyRecord(Base):
    """The first response to a request with an ``Idempotency-Key``, replayed for repeats."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("uq_idempotency_scope_key", "scope", "key", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class AuditEntry(Base):
    """Append-only; ``hash`` = HMAC(previous hash ‖ this entry), so a removed or altered row shows."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    target_type: Mapped[str] = mapped_column(String(24))
    target_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))


class Counter(Base):
    """Named counters held under a row lock until commit: serials (gapless) and the audit head."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    head: Mapped[str | None] = mapped_column(String(64))


class ScanCount(Base):
    """Online scans of a worker's code per day (亮证率), counted without recording who scanned."""

    __tablename__ = "scan_counts"
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


# -- check-ins --------------------------------------------------------------------------------


class CheckIn(Base):
    """按月打卡: a worker tapped their own card at a desk station (``source`` ``desk``) or on their
    own phone (``phone``, signed by the phone's holder key); at most one a worker and month.

    The unique (worker, month) index is what makes a repeated or concurrent report of the same
    check-in (a station's retry, a second station, a second tap) count once. ``enterprise_id``
    is the worker's enterprise when it was recorded, so a month's per-enterprise count does not
    move afterwards. Each listing the API offers is an index range, in index order.
    """

    __tablename__ = "check_ins"
    __table_args__ = (
        Index("uq_check_ins_worker_month", "worker_id", "month", unique=True),
        Index("ix_check_ins_enterprise_month", "enterprise_id", "month", "worker_id"),
        Index("ix_check_ins_month_enterprise", "month", "enterprise_id", "worker_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, China Standard Time
    credential_serial: Mapped[int] = mapped_column(BigInteger)
    card_uid: Mapped[str] = mapped_column(String(20))
    station: Mapped[str] = mapped_column(String(64))
    tapped_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))  # the caller, as the audit log names it
    source: Mapped[str] = mapped_column(String(8), default="desk", server_default="desk")
    #: A phone check-in's nonce (the signed request's), so the same request sent again is a replay.
    nonce: Mapped[str | None] = mapped_column(String(32), nullable=True)


# -- visits and ratings --
# Columns and indexes of the consumer page's loop (issue 8; migration 0003): 确认入户 records a
# visit (worker, enterprise, time: no consumer identity) with the hash of a one-time token the
# consumer's page keeps; each side of 三方互评 rates a visit at most once (a unique index, so a
# replayed or concurrent second rating fails in the database, not just in the code); a complaint
# is bound to its visit the same way and reaches the enterprise and the regulator. Added to the
# tables of 0001 here, after the classes, so the columns stay with their migration.

Visit.enterprise_id = mapped_column(ForeignKey("enterprises.id"), nullable=False)
Visit.token_hash = mapped_column(String(64), nullable=False, unique=True)
Index("ix_visits_enterprise_id", Visit.__table__.c.enterprise_id, Visit.__table__.c.id)
Index("ix_visits_serial_confirmed", Visit.__table__.c.credential_serial, Visit.__table__.c.confirmed_at)
Index("ix_visits_confirmed_at", Visit.__table__.c.confirmed_at)

#: consumer: the consumer rates the worker; enterprise: the enterprise rates its worker;
#: worker: the worker rates the enterprise. ``worker_id`` is always the visit's worker.
RATING_SOURCES = ("consumer", "enterprise", "worker")
Rating.enterprise_id = mapped_column(ForeignKey("enterprises.id"), nullable=True)
Index("uq_ratings_visit_source", Rating.__table__.c.visit_id, Rating.__table__.c.source, unique=True)
Index("ix_ratings_worker_source", Rating.__table__.c.worker_id, Rating.__table__.c.source)
Index("ix_ratings_enterprise_source", Rating.__table__.c.enterprise_id, Rating.__table__.c.source)

#: What a consumer complains about (the regulator groups complaints by it).
COMPLAINT_CATEGORIES = ("quality", "attitude", "safety", "fee", "no_show", "other")
Complaint.visit_id = mapped_column(ForeignKey("visits.id"), nullable=True, unique=True)
Complaint.enterprise_id = mapped_column(ForeignKey("enterprises.id"), nullable=True)
Complaint.credential_serial = mapped_column(BigInteger, nullable=True)
Complaint.category = mapped_column(String(16), nullable=False, default="other")
Complaint.filed_at = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
Complaint.resolved_at = mapped_column(UTCDateTime(), nullable=True)
Complaint.resolved_by = mapped_column(String(64), nullable=True)
Complaint.resolution = mapped_column(String(500), nullable=True)
Index("ix_complaints_enterprise_id", Complaint.__table__.c.enterprise_id, Complaint.__table__.c.id)
Index("ix_complaints_resolved", Complaint.__table__.c.resolved, Complaint.__table__.c.id)

# -- the rating rule and reports of fake codes --
# Issue 17 (findings 4 and 6) and issue 18 (item 6); migration 0007; docs/page.md. A visit made
# from a dynamic code (the worker's phone proved present) is ``verified``. A consumer rating
# says whether it counts toward the public average (``counted``), with which ``weight``, and
# if not, why (``flag``: ``client_repeat``, ``client_daily``, ``credential_daily``); the client
# is kept only as a keyed hash of its network address (``client_hash``), never shown.

Visit.verified = mapped_column(Boolean, nullable=False, default=False, server_default=false())
Rating.verified = mapped_column(Boolean, nullable=False, default=False, server_default=false())
Rating.counted = mapped_column(Boolean, nullable=False, default=True, server_default=true())
Rating.weight = mapped_column(SmallInteger, nullable=False, default=1, server_default="1")
Rating.flag = mapped_column(String(16), nullable=True)
Rating.client_hash = mapped_column(String(16), nullable=True)
Index("ix_ratings_client_created", Rating.__table__.c.client_hash, Rating.__table__.c.created_at)
Index("ix_ratings_serial_created", Rating.__table__.c.credential_serial, Rating.__table__.c.created_at)
# The live record's public figure reads only this index (an index-only scan per summary column).
Index(
    "ix_ratings_public",
    *(Rating.__table__.c[name] for name in ("worker_id", "source", "counted", "verified", "weight", "score")),
)

#: Why a consumer reports a code (the page's list; docs/page.md, "Report a fake").
REPORT_REASONS = ("revoked_in_use", "cannot_verify", "wrong_person", "other")


class CodeReport(Base):
    """A consumer's report of a code that is revoked, unknown, forged or shown by the wrong
    person: nothing about the consumer (a keyed hash of the client's address for the rate
    limit), the verdict the page showed, and what the issuer's record says of the code.
    ``enterprise_id`` is set only when the code's exact bytes are one of this issuer's
    credentials (then the enterprise sees it); otherwise only the regulator does."""

    __tablename__ = "code_reports"
    __table_args__ = (
        Index("ix_code_reports_enterprise_id", "enterprise_id", "id"),
        Index("ix_code_reports_client_filed", "client_hash", "filed_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    client_hash: Mapped[str] = mapped_column(String(16))
    code_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the code text: groups repeats
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200))
    verdict_status: Mapped[str] = mapped_column(String(32))
    verdict_reason: Mapped[str | None] = mapped_column(String(48))
    issuer_code: Mapped[int | None] = mapped_column(Integer)
    serial: Mapped[int | None] = mapped_column(BigInteger)
    record_status: Mapped[str | None] = mapped_column(String(16))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"))


# -- consoles --
# Tables of the web consoles (issue 7; migration 0002): bulk-import jobs, card batches for the
# encoding station, and the daily figures behind the regulator's charts.


class ImportJob(Base):
    """A bulk import: uploaded, previewed (nothing written), then run in chunks with progress.

    ``payload`` holds the file's parsed rows (identity and phone numbers among them) encrypted
    with the vault's data key, and is erased once the job has run; ``preview`` and ``result``
    hold row numbers, masked fields and messages only.
    """

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_enterprise", "enterprise_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    actor: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default="ready")  # ready | running | done | failed
    issue: Mapped[bool] = mapped_column(Boolean, default=False)
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    existing: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    preview: Mapped[str] = mapped_column(Text, default="{}")
    result: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: What the finished chunks did (JSON: chunks, created, existing, errors, credentials),
    #: written in each chunk's own transaction: a job resumed on another host goes on from it.
    checkpoint: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    """The durable queue (services/jobs.py): a job any host may run, claimed under a lease.

    ``state``: queued | running | done | failed. A running job whose ``lease_until`` has passed
    lost its process (killed, deployed away) and is claimed again by the next host that looks;
    its work commits only while its lease is held (the lease is renewed inside each unit of work's
    transaction, so a host that lost it cannot commit over the one that took it).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("uq_jobs_kind_ref", "kind", "ref", unique=True),
        Index("ix_jobs_state_id", "state", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    owner: Mapped[str | None] = mapped_column(String(96))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CardBatch(Base):
    """Workers a card operator picked for the encoding station (``anxinma station encode``)."""

    __tablename__ = "card_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    report_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    report_sha256: Mapped[str | None] = mapped_column(String(64))


class CardBatchItem(Base):
    """One worker of a batch and what the station reported for them (``result``: pending,
    done, failed, skipped)."""

    __tablename__ = "card_batch_items"
    batch_id: Mapped[int] = mapped_column(ForeignKey("card_batches.id", ondelete="CASCADE"), primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(16), default="pending")
    serial: Mapped[int | None] = mapped_column(BigInteger)
    card_uid: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DailyStat(Base):
    """One enterprise's figures on one day for one display-rate window (``anxinma jobs daily``
    writes each window the dashboard offers): the history of the regulator's 持证率 and 亮证率
    charts. The city's figure of a day is the sum of its enterprises' rows."""

    __tablename__ = "daily_stats"
    __table_args__ = (Index("ix_daily_stats_enterprise_day", "enterprise_id", "period_days", "day"),)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    period_days: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # the display rate's window
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    registered: Mapped[int] = mapped_column(Integer)
    holding: Mapped[int] = mapped_column(Integer)
    displayed: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Credentials running out soon (the regulator's list) as an index range, not a scan.
Index("ix_credentials_status_expires", Credential.status, Credential.expires_on)


# -- publications (issue 15) --------------------------------------------------------------------


class Publication(Base):
    """One signed publication every host serves byte for byte: a trust list, one status shard
    (its compact form in ``body``, the standard JWT and CWT forms beside it) or a freshness
    document. ``version`` is the trust list's and the freshness document's ``seq``, the shard's
    ``version``; a host that finds the newest row out of date inserts ``version + 1`` and a host
    that loses that race (the unique index) reads the winner. ``source`` is a digest of what the
    publication was made from (statuses, issuers, listed shard versions) so a host can tell
    "out of date" without decoding the body; ``source_seq`` the status change it had seen.
    """

    __tablename__ = "publications"
    __table_args__ = (
        Index(
            "uq_publications_kind_issuer_shard_version",
            "kind",
            "issuer_code",
            "shard",
            "version",
            unique=True,
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # trust_list | status | freshness
    issuer_code: Mapped[int] = mapped_column(Integer)
    shard: Mapped[int] = mapped_column(Integer)  # -1 when the kind has none
    version: Mapped[int] = mapped_column(BigInteger)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    kid: Mapped[str | None] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))  # sha256 hex of ``body`` as served
    source: Mapped[str] = mapped_column(String(64))
    source_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    jwt: Mapped[bytes | None] = mapped_column(LargeBinary)  # a status shard's statuslist+jwt form
    cwt: Mapped[bytes | None] = mapped_column(LargeBinary)  # a status shard's statuslist+cwt form


# -- the worker's phone (issue 18) ----------------------------------------------------------------


class Enrolment(Base):
    """A one-time link that lets one worker's phone enrol its holder key (docs/page.md, "The
    worker's phone"). Only the SHA-256 of the link's secret is stored; ``used_at`` is set in the
    transaction that issues the phone credential, so a link works once."""

    __tablename__ = "enrolments"
    __table_args__ = (Index("ix_enrolments_worker", "worker_id", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    credential_serial: Mapped[int | None] = mapped_column(BigInteger)


# -- credit (issue 21) -------------------------------------------------------------------------


class CreditGrade(Base):
    """One enterprise's credit grade on one day (docs/credit.md), kept by the daily job: the
    grade's history on the enterprise's public page. ``inputs`` is the JSON of the figures it
    was computed from and each input's points, so a past grade can be explained as it was."""

    __tablename__ = "credit_grades"
    __table_args__ = (Index("ix_credit_grades_day", "day", "enterprise_id"),)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    model: Mapped[int] = mapped_column(SmallInteger)  # the model's version (docs/credit.md)
    score: Mapped[int | None] = mapped_column(SmallInteger)  # None: not graded (no workers)
    grade: Mapped[str] = mapped_column(String(2))  # A | B | C | D | "-"
    inputs: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RedListEntry(Base):
    """诚信企业: an enterprise the regulator published on the red list, with its reason and the
    decision it rests on; removal keeps the row (the public list shows both dates)."""

    __tablename__ = "red_list"
    __table_args__ = (
        Index(
            "uq_red_list_active_enterprise",
            "enterprise_id",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    evidence_ref: Mapped[str] = mapped_column(String(256))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str | None] = mapped_column(String(64))
    removal_reason: Mapped[str | None] = mapped_column(String(500))
