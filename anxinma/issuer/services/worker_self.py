"""The worker's own record, read by the worker's phone (docs/page.md, "The worker's own page").

A worker has no account and no password: the phone proves it holds the phone credential's
holder key by signing :func:`worker_record_message` (the issuer, the serial, the time: a
signature for one issuer and one credential, fresh for :data:`REQUEST_WINDOW` seconds either
way). Nothing is written: the record is read under a scope narrowed to the worker's own
enterprise, and every query names this worker, so the phone sees its own worker's rows only.
"""

from __future__ import annotations

import time as clock
from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.issuer.errors import Unauthorized
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.checkins import CheckIns, months_back, this_month
from anxinma.issuer.services.context import Context
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.visits import ServiceLoop, Window
from anxinma.issuer.store.models import Credential, Enterprise, Worker, utcnow

#: How far the phone's time may be from the issuer's (seconds) for a signed request.
REQUEST_WINDOW = 120
#: A certificate or insurance is flagged this many days before it runs out.
REMIND_DAYS = 30
#: Months of visits and check-ins the record shows, this one included.
MONTHS = 12
RECENT = Window(limit=200, newest_first=True)


def worker_record_message(issuer_code: int, serial: int, at: int) -> bytes:
    """What the holder key signs to read the worker's record: bound to the issuer, the phone
    credential and the second (a context string of its own: never a proof or a rating)."""
    return f"anxinma-worker-record:v1:{issuer_code}:{serial}:{at}".encode()


def _refused() -> Unauthorized:
    return Unauthorized(
        "the phone's signature does not open this record: enrol this phone again, or set its clock",
        message_zh="手机签名无效，无法打开记录：请重新登记手机，或校准手机时间",
    )


def _validity(until: date | None, today: date) -> dict[str, Any]:
    if until is None:
        return {"valid_until": None, "days_left": None, "remind": True, "lapsed": True}
    left = (until - today).days
    return {
        "valid_until": until.isoformat(),
        "days_left": left,
        "remind": left <= REMIND_DAYS,
        "lapsed": left < 0,
    }


class WorkerRecords:
    """The worker's own page: one signed read."""

    def __init__(self, ctx: Context, loop: ServiceLoop, checkins: CheckIns) -> None:
        self.ctx = ctx
        self.loop = loop
        self.checkins = checkins

    def authenticate(self, serial: int, at: int, signature: bytes, now: float | None = None) -> Credential:
        """The phone credential whose holder key signed ``(serial, at)``; 401 otherwise, and for
        a revoked one (a lost phone must not keep reading the worker's record)."""
        if abs((now if now is not None else clock.time()) - at) > REQUEST_WINDOW:
            raise _refused()
        with self.ctx.store.read() as session:
            row = session.execute(
                select(Credential).where(
                    Credential.serial == serial,
                    Credential.issuer_id == self.ctx.issuer_id,
                    Credential.worker_id.is_not(None),
                )
            ).scalar_one_or_none()
            if row is not None:
                session.expunge(row)
        holder_key = fmt.decode(row.raw).claims.holder_key if row is not None else None
        message = worker_record_message(self.ctx.issuer_code, serial, at)
        if row is None or holder_key is None or not ed25519.verify(holder_key, signature, message):
            raise _refused()
        if row.status == "revoked":  # a lost or replaced phone opens nothing any more
            raise Unauthorized(
                "this phone's credential is revoked (lost, replaced or the worker left): ask the enterprise to enrol again",
                message_zh="这部手机的安心码已吊销（挂失、换机或离职）：请向所在企业重新登记",
            )
        return row

    def record(self, serial: int, at: int, signature: bytes) -> dict[str, Any]:
        """The worker's record: credentials, enterprise, certificates, ratings, visits and
        check-ins by month, and the visits the worker may still rate the enterprise for."""
        phone = self.authenticate(serial, at, signature)
        worker_id = int(phone.worker_id or 0)
        reader = Principal("holder", str(serial), Role.ENTERPRISE_ADMIN, phone.enterprise_id)
        today = today_in_china()
        with self.ctx.store.read() as session:
            worker = session.get(Worker, worker_id)
            enterprise = session.get(Enterprise, phone.enterprise_id)
            credentials = list(
                session.execute(
                    select(Credential)
                    .where(Credential.worker_id == worker_id)
                    .order_by(Credential.serial.desc())
                    .limit(20)
                ).scalars()
            )
        assert worker is not None and enterprise is not None
        visits = self.loop.visits(reader, worker_id=worker_id, window=RECENT)
        ratings = self.loop.ratings(
            reader, source="consumer", worker_id=worker_id, window=Window(limit=20, newest_first=True)
        )
        summary = self.loop.summaries(reader, worker_id)["consumer"]
        months = months_back(this_month(), MONTHS)
        checked = dict(self.checkins.months(reader, [worker_id], months[0], months[-1]))
        per_month = Counter(_month_of(v["confirmed_at"]) for v in visits)
        return {
            "as_of": utcnow().isoformat(),
            "issuer_code": self.ctx.issuer_code,
            "serial": serial,
            "worker": {
                "id": worker.id,
                "display_name": fmt.mask_name(worker.name),
                "status": worker.status,
                "star_level": worker.star_level,
            },
            "enterprise": {"id": enterprise.id, "name": enterprise.name},
            "credentials": [
                {
                    "serial": c.serial,
                    "form": c.form,
                    "status": c.status,
                    "revocation_reason": c.revocation_reason,
                    "issued_on": c.issued_on.isoformat(),
                    "expires_on": c.expires_on.isoformat(),
                    "card_uid": c.card_uid,
                }
                for c in credentials
            ],
            "health_certificate": _validity(worker.health_valid_until, today),
            "insurance": _validity(worker.insurance_valid_until, today),
            "rating": {"count": summary.count, "average": summary.average},
            "ratings": [
                {"score": r["score"], "comment": r["comment"], "created_at": r["created_at"]} for r in ratings
            ],
            "months": [
                {
                    "month": month,
                    "visits": per_month.get(month, 0),
                    "checked_in": month in checked.get(worker_id, []),
                }
                for month in reversed(months)
            ],
            "to_rate": [
                {"visit_id": v["id"], "confirmed_at": v["confirmed_at"]}
                for v in visits
                if v["credential_serial"] == serial and not v["rated"]["worker"]
            ][:10],
        }


def _month_of(iso: str) -> str:
    """The month in China Standard Time of an ISO instant (a visit at 23:30 UTC is tomorrow's)."""
    return datetime.fromisoformat(iso).astimezone(fmt.CHINA_TZ).strftime("%Y-%m")


__all__ = ["REMIND_DAYS", "REQUEST_WINDOW", "WorkerRecords", "worker_record_message"]
