"""Enrolling a worker's phone: a one-time link the enterprise hands the worker (a QR on the
console), and the phone credential issued when the phone sends the public half of the key pair
it made (docs/page.md, "The worker's phone").

The link carries a 256-bit secret; the store keeps only its SHA-256, so a leaked database does
not enrol anyone. A link works once and for 15 minutes by default: the row is locked, checked
and marked used in the transaction that issues the phone credential, so two phones racing on
one link get one credential and one refusal. A link that is unknown (forged), used, expired, or
whose worker left or was listed changes nothing and is refused in both languages.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from anxinma.issuer.errors import ApiError, Conflict
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context, Unit
from anxinma.issuer.services.issuing import Issued, IssueItem, Issuing
from anxinma.issuer.store.models import Enrolment, Worker, utcnow

#: How long an enrolment link works when the caller does not say.
DEFAULT_MINUTES = 15
#: The longest a caller may ask for (a link is a bearer secret: keep it short-lived).
MAX_MINUTES = 24 * 60
#: Who may hand a worker an enrolment link (the roles that issue credentials).
ENROLLERS = (Role.ENTERPRISE_ADMIN, Role.ISSUER_ADMIN, Role.CARD_OPERATOR)


class EnrolmentRefused(ApiError):
    """A link that cannot enrol a phone; ``reason`` is ``unknown``, ``used``, ``expired`` or
    ``worker_gone`` (what the page explains), nothing changed."""

    code = "enrolment_refused"

    def __init__(self, reason: str, http_status: int, message: str, message_zh: str) -> None:
        super().__init__(message, message_zh=message_zh)
        self.reason = reason
        self.http_status = http_status

    def body(self) -> dict[str, object]:
        body = super().body()
        body["error"]["reason"] = self.reason
        return body


def refusal(reason: str) -> EnrolmentRefused:
    """The refusal for ``reason`` (a new exception each time: exceptions carry tracebacks)."""
    texts = {
        "unknown": (
            404,
            "This enrolment link is not valid (mistyped or forged). Ask your enterprise for a new one.",
            "登记链接无效（输错或伪造）。请向所在企业重新索取登记二维码。",
        ),
        "used": (
            410,
            "This enrolment link was already used. A link works once: ask your enterprise for a new one.",
            "登记链接已经用过，只能使用一次。如需在这部手机上登记，请向所在企业重新索取登记二维码。",
        ),
        "expired": (
            410,
            "This enrolment link has expired (it works for 15 minutes). Ask your enterprise for a new one.",
            "登记链接已过期（有效期 15 分钟）。请向所在企业重新索取登记二维码。",
        ),
        "worker_gone": (
            409,
            "This worker can no longer be enrolled (left or on the blacklist). Contact the enterprise.",
            "该服务员已离职或在失信名单中，不能登记手机。请联系所在企业。",
        ),
    }
    status, english, chinese = texts[reason]
    return EnrolmentRefused(reason, status, english, chinese)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class NewEnrolment:
    """A link just made: the secret (shown once, never stored) and its row."""

    token: str
    row: Enrolment


class Enrolments:
    """One-time enrolment links and the phone credentials they issue."""

    def __init__(self, ctx: Context, issuing: Issuing) -> None:
        self.ctx = ctx
        self.issuing = issuing

    def create(
        self, unit: Unit, principal: Principal, worker_id: int, minutes: int = DEFAULT_MINUTES
    ) -> NewEnrolment:
        """A link for the worker (the caller's own enterprise's: another's is 404). 409 for a
        worker who left or is on the blacklist (no credential could be issued)."""
        scope = self.ctx.scope(principal).require(*ENROLLERS)
        worker = scope.get(unit.session, Worker, worker_id)
        if worker.status != "active":
            raise Conflict(
                "this worker left or is on the blacklist: no phone can be enrolled",
                message_zh="该服务员已离职或在失信名单中，不能登记手机",
            )
        token = secrets.token_urlsafe(32)
        now = utcnow()
        row = Enrolment(
            token_hash=token_hash(token),
            worker_id=worker.id,
            enterprise_id=worker.enterprise_id,
            created_by=principal.actor,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
        unit.session.add(row)
        unit.session.flush()
        unit.record(
            principal,
            "enrolment.create",
            "worker",
            worker.id,
            enrolment_id=row.id,
            expires_at=row.expires_at.isoformat(),
        )
        return NewEnrolment(token, row)

    def state(self, token: str, now: datetime | None = None) -> str:
        """``ok`` or the refusal's reason for a link, read only (the page says which before the
        phone makes a key)."""
        with self.ctx.store.read() as session:
            row = session.execute(
                select(Enrolment).where(Enrolment.token_hash == token_hash(token))
            ).scalar_one_or_none()
            return _judge(row, now or utcnow()) if row is not None else "unknown"

    def redeem(self, unit: Unit, token: str, holder_key: bytes) -> Issued:
        """Issue the phone credential bound to ``holder_key`` and spend the link, in one
        transaction (a new phone replaces the worker's previous phone credential; the card
        credential stays). Raises :class:`EnrolmentRefused`, or 400 for a key that is not an
        Ed25519 point (the link is then still unused)."""
        row = unit.session.execute(
            select(Enrolment).where(Enrolment.token_hash == token_hash(token)).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise refusal("unknown")
        verdict = _judge(row, utcnow())
        if verdict != "ok":
            raise refusal(verdict)
        worker = unit.session.get(Worker, row.worker_id)
        if worker is None or worker.status != "active":
            raise refusal("worker_gone")
        # The link stands for the person who made it, narrowed to the worker's enterprise: the
        # audit log names the link ("enrolment:<id>"), the creator is in its own entry.
        principal = Principal("enrolment", str(row.id), Role.CARD_OPERATOR, row.enterprise_id)
        issued = self.issuing.issue_many(unit, principal, [IssueItem(row.worker_id, None, holder_key)])[0]
        row.used_at = utcnow()
        row.credential_serial = issued.row.serial
        return issued


def _judge(row: Enrolment, now: datetime) -> str:
    if row.used_at is not None:
        return "used"
    if now >= row.expires_at:
        return "expired"
    return "ok"


__all__ = [
    "DEFAULT_MINUTES",
    "ENROLLERS",
    "MAX_MINUTES",
    "EnrolmentRefused",
    "Enrolments",
    "NewEnrolment",
    "refusal",
    "token_hash",
]
