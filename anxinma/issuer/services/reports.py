"""举报假码: a consumer's report of a code that is revoked, unknown, forged or shown by the wrong
person (issue 17 finding 6; docs/page.md, "Report a fake"; routes in
:mod:`anxinma.issuer.web.visits`).

A complaint needs a confirmed visit; a consumer who meets a code that does not verify has no
visit, so this is the one public write that needs nothing but the code. It asks nothing about
the consumer: the reason is picked from :data:`REPORT_REASONS`, a short note is optional (no
runs of digits: no phone or identity number), and the client is kept only as the keyed hash of
:func:`~anxinma.issuer.services.rating_rule.client_key`, for the limit of
:data:`REPORTS_PER_CLIENT_PER_DAY` reports a day (429 beyond, stored in the database so it holds
on every host).

What is recorded: the verdict the page showed (its status and first reason key, as the page
says — the issuer cannot check what a phone displayed), the SHA-256 of the code's text (repeats
of one code group together; the text itself, which may be anything a camera read, is not
kept), the issuer code and serial when the code parses as a credential or a dynamic code, and
what this issuer's record says of it (``record_status``: ``active``, ``suspended``,
``revoked``, ``expired``, or ``not_on_record`` for our issuer code with bytes we never issued).

Who sees it (the one tenant rule, :mod:`anxinma.issuer.services.scope`): the regulator and the
issuer admin every report; an enterprise only the reports whose code is *exactly* one of its
credentials. A forged code naming one of its serials is not its credential — anyone can type a
serial, and an enterprise's list must not fill with made-up codes — so it, and every code with
no parseable serial, is the regulator's only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select

from anxinma import credential as fmt
from anxinma.errors import MalformedCredential
from anxinma.issuer.errors import ValidationFailed
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context
from anxinma.issuer.services.rating_rule import china_day_start, client_key
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.visits import CONSUMER, TooMany, Window, free_text
from anxinma.issuer.store.models import REPORT_REASONS, CodeReport, Credential, Worker, utcnow

REPORTS_PER_CLIENT_PER_DAY = 5
NOTE_MAX = 200
_STATUS = re.compile(r"[a-z][a-z_]{0,31}")
_REASON_KEY = re.compile(r"[a-z][a-z0-9_]{0,47}")
_READERS = (Role.ISSUER_ADMIN, Role.REGULATOR, Role.ENTERPRISE_ADMIN)
reports_t: Any = CodeReport.__table__


@dataclass(frozen=True)
class ReportInput:
    """A validated report body."""

    code: str
    status: str
    reason_key: str | None
    reason: str
    note: str | None


def parse_report(data: dict[str, Any]) -> ReportInput:
    """400 naming every bad field at once (the same words as the other consumer bodies)."""
    errors: dict[str, tuple[str, str]] = {}
    code = data.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > fmt.MAX_TEXT_LENGTH:
        errors["code"] = (
            "请提供所举报的码（扫到的文本）",
            "give the code you report (the text that was scanned)",
        )
    status = data.get("status")
    if not isinstance(status, str) or not _STATUS.fullmatch(status):
        errors["status"] = ("缺少页面显示的核验结果", "the verdict the page showed (its status) is required")
    reason_key = data.get("reason_key")
    if reason_key is not None and (not isinstance(reason_key, str) or not _REASON_KEY.fullmatch(reason_key)):
        errors["reason_key"] = ("核验原因格式不对", "a reason key is lower-case letters, digits and _")
    reason = data.get("reason")
    if reason not in REPORT_REASONS:
        errors["reason"] = ("请选择举报原因", "one of " + ", ".join(REPORT_REASONS))
    note: str | None = None
    try:
        note = free_text(data, "note", 0, NOTE_MAX)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    return ReportInput(str(code).strip(), str(status), reason_key, str(reason), note)


def _parsed(code: str) -> fmt.Credential | None:
    """The credential a code holds (a dynamic code's too), or None when it does not parse."""
    try:
        data = fmt.parse_text(code)
        return fmt.decode_presentation(data).credential if fmt.is_presentation(data) else fmt.decode(data)
    except MalformedCredential:
        return None


class CodeReports:
    """Reports of fake codes for one issuer: the consumer files (no account), the regulator
    and the enterprise (its own codes only) read."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def file(self, report: ReportInput, client: str | None) -> dict[str, Any]:
        """Record one report; 429 ``rate_limited`` past the client's daily limit."""
        client_hash = client_key(self.ctx.vault.identity_key, client)
        cred = _parsed(report.code)
        now = utcnow()
        values: dict[str, Any] = {
            "filed_at": now,
            "client_hash": client_hash,
            "code_digest": hashlib.sha256(report.code.encode()).hexdigest(),
            "reason": report.reason,
            "note": report.note,
            "verdict_status": report.status,
            "verdict_reason": report.reason_key,
            "issuer_code": cred.claims.issuer_code if cred else None,
            "serial": cred.claims.serial if cred else None,
        }
        with self.ctx.tx() as unit:
            session = unit.session
            today = session.execute(
                select(func.count(reports_t.c.id)).where(
                    reports_t.c.client_hash == client_hash, reports_t.c.filed_at >= china_day_start(now)
                )
            ).scalar_one()
            if today >= REPORTS_PER_CLIENT_PER_DAY:
                raise TooMany(
                    f"at most {REPORTS_PER_CLIENT_PER_DAY} reports a day from one network: try again tomorrow",
                    message_zh=f"同一网络每天最多举报 {REPORTS_PER_CLIENT_PER_DAY} 次，请明天再试",
                )
            if cred is not None and cred.claims.issuer_code == self.ctx.issuer_code:
                values.update(self._record(session, cred))
            report_id = session.execute(
                insert(reports_t).values(**values).returning(reports_t.c.id)
            ).scalar_one()
            unit.record(
                CONSUMER,
                "report.create",
                "code_report",
                report_id,
                serial=values["serial"],
                reason=report.reason,
            )
        return {
            "id": int(report_id),
            "filed_at": now.isoformat(),
            "issuer_code": values["issuer_code"],
            "serial": values["serial"],
        }

    @staticmethod
    def _record(session: Any, cred: fmt.Credential) -> dict[str, Any]:
        """What this issuer's record says of a code of ours: its status and, when the bytes
        are exactly a credential we issued, its enterprise and worker."""
        row = session.execute(
            select(
                Credential.raw,
                Credential.status,
                Credential.expires_on,
                Credential.enterprise_id,
                Credential.worker_id,
            ).where(Credential.serial == cred.claims.serial)
        ).first()
        if row is None or bytes(row[0]) != cred.raw:
            return {"record_status": "not_on_record"}
        status = row[1] if row[1] != "active" or today_in_china() < row[2] else "expired"
        return {"record_status": status, "enterprise_id": row[3], "worker_id": row[4]}

    def reports(
        self, who: Principal, *, enterprise_id: int | None = None, window: Window | None = None
    ) -> list[dict[str, Any]]:
        """Reports the caller may see (the API's JSON shape), by id."""
        window = window or Window()
        conditions = self.ctx.scope(who).require(*_READERS).conditions(CodeReport, enterprise_id)
        c = reports_t.c
        conditions = [*conditions, c.id > window.after]
        if window.before is not None:
            conditions.append(c.id < window.before)
        order = c.id.desc() if window.newest_first else c.id
        with self.ctx.store.read() as session:
            rows = session.execute(
                select(
                    c.id,
                    c.filed_at,
                    c.reason,
                    c.note,
                    c.verdict_status,
                    c.verdict_reason,
                    c.issuer_code,
                    c.serial,
                    c.record_status,
                    c.enterprise_id,
                    c.worker_id,
                    Worker.name,
                    c.code_digest,
                )
                .outerjoin(Worker, Worker.id == c.worker_id)
                .where(and_(*conditions))
                .order_by(order)
                .limit(window.limit)
            ).all()
        return [
            {
                "id": int(r[0]),
                "filed_at": r[1].isoformat(),
                "reason": r[2],
                "note": r[3],
                "verdict": {"status": r[4], "reason": r[5]},
                "issuer_code": r[6],
                "serial": r[7],
                "record_status": r[8],
                "enterprise_id": r[9],
                "worker_id": r[10],
                "worker_display_name": fmt.mask_name(r[11]) if r[11] else None,
                "code_digest": r[12],
            }
            for r in rows
        ]

    def count_since(self, who: Principal, days: int = 30) -> int:
        """How many reports the caller may see from the last ``days`` days (a console badge)."""
        conditions = self.ctx.scope(who).require(*_READERS).conditions(CodeReport, None)
        since = utcnow() - timedelta(days=days)
        with self.ctx.store.read() as session:
            return int(
                session.execute(
                    select(func.count(reports_t.c.id)).where(reports_t.c.filed_at >= since, *conditions)
                ).scalar_one()
            )


__all__ = ["NOTE_MAX", "REPORTS_PER_CLIENT_PER_DAY", "CodeReports", "ReportInput", "parse_report"]
