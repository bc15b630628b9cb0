"""按月打卡: the check-ins desk stations report, kept once per worker and month.

``POST /api/v1/check-ins`` ``{"code", "card_uid", "month", "station", "tapped_at"}`` records a
tap: 201 with the new record, or 200 with the record already there (the same worker has
checked in this month: a station's retry, another station, a second tap). The unique
(worker, month) index decides, so two concurrent reports of one check-in count once.

What is accepted (docs/checkin.md): the credential is this issuer's, exactly the bytes it
signed (so genuine), a worker's, bound to the card UID the station read, and was live when the
card was tapped — not yet revoked then (a check-in queued offline before a revocation still
counts), not suspended, within its validity. ``month`` is the month of ``tapped_at`` in China
Standard Time. A refusal is a 409 whose ``error.code`` says why (``card_mismatch``,
``not_bound``, ``revoked``, ``suspended``, ``expired``, ``not_yet_valid``, ``not_a_worker``);
a station records it and does not send it again.

Who may record: ``card_operator`` (a service point's desk: any worker of the issuer, or of
the enterprise its token names), ``enterprise_admin`` (its own workers) and ``issuer_admin``.
Another enterprise's credential answers 404, as if it did not exist. Reading
(``GET /api/v1/check-ins``, ``/months``, ``/counts``) is open to every role, scoped the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.errors import MalformedCredential
from anxinma.issuer.errors import Conflict, Forbidden, ValidationFailed, not_found
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.scope import READERS
from anxinma.issuer.store.models import CheckIn, Credential, Enterprise, Worker, utcnow
from anxinma.keys.jwk import b64url_decode
from anxinma.ndef import serial_number_uid

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_UID = re.compile(r"^(?:[0-9a-fA-F]{2}){4,10}$")
#: A station's clock may run a little ahead of the issuer's; beyond this a tap is "in the future".
FUTURE_SKEW = timedelta(minutes=10)
STATION_MAX = 64
MAX_WORKERS_PER_QUERY = 100
_WRITERS = (Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN, Role.CARD_OPERATOR)


class CheckInRefused(Conflict):
    """409: a well-formed check-in this issuer will not count; ``code`` says why."""

    def __init__(self, code: str, message: str, *, message_zh: str) -> None:
        super().__init__(message, message_zh=message_zh)
        self.code = code


def month_of(moment: datetime) -> str:
    """``YYYY-MM`` of an instant in China Standard Time (the month a check-in counts for)."""
    return moment.astimezone(fmt.CHINA_TZ).strftime("%Y-%m")


@dataclass(frozen=True)
class CheckInRequest:
    """A POST body, checked: the presented credential, the card it was read from, when, where."""

    raw: bytes
    credential: fmt.Credential
    card_uid: bytes
    month: str
    station: str
    tapped_at: datetime

    @classmethod
    def parse(cls, data: Any, *, now: datetime | None = None) -> CheckInRequest:
        """Raises :class:`ValidationFailed` naming every bad field at once."""
        if not isinstance(data, dict):
            raise ValidationFailed({"body": ("请求体应为 JSON 对象", "the body must be a JSON object")})
        errors: dict[str, tuple[str, str]] = {}
        unknown = set(data) - {"code", "card_uid", "month", "station", "tapped_at"}
        for name in sorted(unknown):
            errors[name] = ("未知字段", "unknown field")
        raw = credential = None
        code = data.get("code")
        if not isinstance(code, str) or not code.strip():
            errors["code"] = ("必填：安心码文本", "required: the credential's text form")
        else:
            try:
                raw = fmt.parse_text(code)
                credential = fmt.decode(raw)
            except MalformedCredential as exc:
                errors["code"] = (exc.message_zh, exc.message)
        uid_text = data.get("card_uid")
        card_uid = b""
        if isinstance(uid_text, str) and _UID.match(uid_text.replace(":", "").replace(" ", "")):
            card_uid = bytes.fromhex(uid_text.replace(":", "").replace(" ", ""))
        else:
            errors["card_uid"] = ("卡号应为 4 到 10 字节的十六进制", "4 to 10 bytes in hex (the card's UID)")
        month = data.get("month")
        if not isinstance(month, str) or not MONTH.match(month):
            errors["month"] = ("月份格式应为 YYYY-MM", "a month looks like YYYY-MM")
        station = data.get("station", "")
        if not isinstance(station, str) or len(station) > STATION_MAX:
            errors["station"] = (f"站点名最多 {STATION_MAX} 个字符", f"at most {STATION_MAX} characters")
            station = ""
        tapped_at = _instant(data.get("tapped_at"))
        if tapped_at is None:
            errors["tapped_at"] = (
                "打卡时间应为带时区的 ISO 8601 时间",
                "an ISO 8601 time with its offset, e.g. 2025-03-05T09:12:00+08:00",
            )
        else:
            if tapped_at > (now or datetime.now(UTC)) + FUTURE_SKEW:
                errors["tapped_at"] = ("打卡时间晚于当前时间", "the tap is in the future")
            if "month" not in errors and month_of(tapped_at) != month:
                errors["month"] = (
                    "月份与打卡时间（北京时间）不符",
                    "not the month of tapped_at in China Standard Time",
                )
        if errors or raw is None or credential is None or tapped_at is None:
            raise ValidationFailed(errors)
        return cls(raw, credential, card_uid, str(month), station.strip(), tapped_at)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


# -- the worker's phone (docs/checkin.md, "Tap the card on the phone") ------------------------

#: A phone check-in is sent as it is made: older than this it is refused (tap again) …
PHONE_MAX_AGE = timedelta(minutes=5)
#: … and dated further ahead of the issuer's clock than this (the phone's clock is wrong).
PHONE_MAX_AHEAD = timedelta(seconds=60)
PHONE_CONTEXT = "anxinma-phone-check-in:v1"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
_PHONE_FIELDS = {"credential", "card", "serial_number", "time", "nonce", "signature"}


def phone_check_in_message(
    issuer_code: int, card_credential: bytes, card_uid: bytes, time: int, nonce: str
) -> bytes:
    """What the phone's holder key signs for a check-in: bound to this issuer, the card
    credential read (its SHA-256), the chip's serial number, the time and a fresh nonce, so a
    signature cannot be moved to another card, chip, issuer or month, nor sent twice."""
    digest = hashlib.sha256(card_credential).hexdigest()
    return f"{PHONE_CONTEXT}:{issuer_code}:{digest}:{card_uid.hex()}:{time}:{nonce}".encode()


@dataclass(frozen=True)
class PhoneCheckIn:
    """A check-in from the worker's phone, parsed (not yet checked against the store)."""

    phone_raw: bytes
    phone: fmt.Credential
    card_raw: bytes
    card: fmt.Credential
    card_uid: bytes
    time: int
    nonce: str
    signature: bytes

    @property
    def tapped_at(self) -> datetime:
        return datetime.fromtimestamp(self.time, UTC)

    def message(self, issuer_code: int) -> bytes:
        return phone_check_in_message(issuer_code, self.card_raw, self.card_uid, self.time, self.nonce)

    @classmethod
    def parse(cls, data: Any, *, now: datetime | None = None) -> PhoneCheckIn:
        """Raises :class:`ValidationFailed` naming every bad field at once."""
        if not isinstance(data, dict):
            raise ValidationFailed({"body": ("请求体应为 JSON 对象", "the body must be a JSON object")})
        errors: dict[str, tuple[str, str]] = {}
        for name in sorted(set(data) - _PHONE_FIELDS):
            errors[name] = ("未知字段", "unknown field")
        decoded: dict[str, tuple[bytes, fmt.Credential]] = {}
        for name, zh, en in (
            ("credential", "必填：手机上的安心码", "required: the phone's credential"),
            ("card", "必填：从卡中读到的安心码", "required: the credential read from the card"),
        ):
            text = data.get(name)
            if not isinstance(text, str) or not text.strip():
                errors[name] = (zh, en)
                continue
            try:
                raw = fmt.parse_text(text)
                decoded[name] = (raw, fmt.decode(raw))
            except MalformedCredential as exc:
                errors[name] = (exc.message_zh, exc.message)
        card_uid = serial_number_uid(data.get("serial_number")) or b""
        if not card_uid:
            errors["serial_number"] = (
                "卡号应为 4 到 10 字节的十六进制（如 04:a2:24:5a:9b:6c:80）",
                "4 to 10 bytes in hex, as Web NFC gives it (04:a2:24:5a:9b:6c:80)",
            )
        moment = data.get("time")
        if type(moment) is not int or not 0 < moment < 2**32:
            errors["time"] = ("打卡时间应为 1970 年以来的秒数", "whole seconds since 1970 (UTC)")
        else:
            ahead = datetime.fromtimestamp(moment, UTC) - (now or datetime.now(UTC))
            if ahead > PHONE_MAX_AHEAD:
                errors["time"] = (
                    "打卡时间晚于发证机构的时间：请校准手机时间后重新刷卡",
                    "the check-in is dated in the future: set the phone's clock and tap again",
                )
            elif -ahead > PHONE_MAX_AGE:
                errors["time"] = (
                    "打卡请求已过时（超过 5 分钟）：请重新刷卡",
                    "the check-in is more than 5 minutes old: tap the card again",
                )
        nonce = data.get("nonce")
        if not isinstance(nonce, str) or not _NONCE.match(nonce):
            errors["nonce"] = ("随机数应为 16 到 32 个 base64url 字符", "16 to 32 base64url characters")
        signature = b""
        text = data.get("signature")
        if isinstance(text, str) and re.fullmatch(r"[A-Za-z0-9_-]{86}", text):
            signature = b64url_decode(text)
        else:
            errors["signature"] = ("签名应为 base64url 的 Ed25519 签名", "a base64url Ed25519 signature")
        if errors or len(decoded) != 2:
            raise ValidationFailed(errors)
        (phone_raw, phone), (card_raw, card) = decoded["credential"], decoded["card"]
        assert isinstance(moment, int) and isinstance(nonce, str)
        return cls(phone_raw, phone, card_raw, card, card_uid, moment, nonce, signature)


class CheckIns:
    """The check-in operations of one issuer, under the caller's scope."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- recording --------------------------------------------------------------------------

    def record(self, who: Principal, entry: CheckInRequest) -> tuple[CheckIn, str, bool]:
        """Record a tap once per worker and month: (the record, the worker's masked name, created).

        Raises 404 for a credential that is not this issuer's exact bytes or not the caller's
        to see, :class:`CheckInRefused` (409) for one that may not check in, 403 for a role
        that may not record. A new record is audited (``check_in.record``); a repeat changes
        nothing and writes no entry.
        """
        scope = self.ctx.scope(who).require(*_WRITERS)
        claims = entry.credential.claims
        if claims.issuer_code != self.ctx.issuer_code:
            raise not_found("credential of this issuer", "本机构签发的安心码")
        with self.ctx.tx() as unit:
            session = unit.session
            row = session.execute(
                scope.filter(select(Credential).where(Credential.serial == claims.serial), Credential)
            ).scalar_one_or_none()
            # The stored bytes are what this issuer signed: equal bytes are genuine, and cheaper
            # to check than the signature.
            if row is None or row.raw != entry.raw:
                raise not_found("credential", "安心码")
            worker_id = _check_may_check_in(row, claims, entry.card_uid, entry.tapped_at)
            values = {
                "worker_id": worker_id,
                "enterprise_id": row.enterprise_id,
                "month": entry.month,
                "credential_serial": row.serial,
                "card_uid": entry.card_uid.hex(),
                "station": entry.station,
                "tapped_at": entry.tapped_at,
                "recorded_at": utcnow(),
                "recorded_by": who.actor[:64],
            }
            new_id = self._insert_once(session, values)
            if new_id is not None:
                unit.record(
                    who, "check_in.record", "check_in", new_id, worker_id=worker_id, month=entry.month
                )
            found = session.execute(
                select(CheckIn, Worker.name)
                .join(Worker, Worker.id == CheckIn.worker_id)
                .where(CheckIn.worker_id == worker_id, CheckIn.month == entry.month)
            ).one()
            return found[0], fmt.mask_name(found[1]), new_id is not None

    def _insert_once(self, session: Any, values: dict[str, Any]) -> int | None:
        """Insert a check-in unless the worker has one that month: its id, or None (already
        there). ``INSERT … ON CONFLICT DO NOTHING`` on the (worker, month) index, so of two
        concurrent reports one wins and the other reads it."""
        insert: Any = postgresql.insert if self.ctx.store.is_postgres else sqlite.insert
        statement = (
            insert(CheckIn.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["worker_id", "month"])
            .returning(CheckIn.__table__.c.id)
        )
        found = session.execute(statement).scalar_one_or_none()
        return None if found is None else int(found)

    def record_from_phone(self, entry: PhoneCheckIn) -> tuple[CheckIn, str, bool]:
        """按月打卡 on the worker's own phone: the card tapped on the phone, signed by the phone.

        The phone credential must be exactly this issuer's bytes (404), live (409
        ``phone_not_live``) and holder-bound (409 ``no_holder_key``); the signature must be its
        holder key's over :func:`phone_check_in_message` (403 ``bad_holder_signature``: another
        phone signed); the card credential this issuer's exact bytes (404), the same worker's
        (409 ``other_worker``), and then the desk's rule (bound to the serial number read, live
        at the tap). A new record (source ``phone``) is audited as the holder; the worker's
        check-in already there this month answers it (200) and changes nothing; this very
        request sent again is 409 ``replayed``.
        """
        phone, card = entry.phone.claims, entry.card.claims
        with self.ctx.tx() as unit:
            session = unit.session
            phone_row = self._own(session, phone, entry.phone_raw, "phone")
            holder_key = phone.holder_key
            if holder_key is None:
                raise CheckInRefused(
                    "no_holder_key",
                    "this is not a phone credential (it has no holder key): enrol the phone first",
                    message_zh="这不是手机安心码（未绑定手机密钥）：请先登记手机",
                )
            if not ed25519.verify(holder_key, entry.signature, entry.message(self.ctx.issuer_code)):
                raise Forbidden(
                    "the check-in is not signed by the phone of this credential: check in on the "
                    "worker's own enrolled phone",
                    message_zh="打卡请求不是此安心码绑定的手机签名的：请在服务员本人已登记的手机上打卡",
                )
            today = entry.tapped_at.astimezone(fmt.CHINA_TZ).date()
            if phone_row.status != "active" or not phone_row.issued_on <= today < phone_row.expires_on:
                raise CheckInRefused(
                    "phone_not_live",
                    "this phone's credential is revoked, suspended, replaced or expired: enrol the phone "
                    "again, or check in at a desk",
                    message_zh="此手机的安心码已吊销、暂停、被替换或过期：请重新登记手机，或到服务点刷卡打卡",
                )
            card_row = self._own(session, card, entry.card_raw, "card")
            if card_row.worker_id is None or card_row.worker_id != phone_row.worker_id:
                raise CheckInRefused(
                    "other_worker",
                    "this card is another worker's: tap your own card on your own phone",
                    message_zh="这张卡属于另一位服务员：请在本人手机上刷本人的卡",
                )
            # Sent as it is made, so judged as of now: a card revoked a moment ago does not
            # check in with a time the phone says is earlier (a desk's queued tap may).
            worker_id = _check_may_check_in(card_row, card, entry.card_uid, max(utcnow(), entry.tapped_at))
            month = month_of(entry.tapped_at)
            actor = f"holder:{phone_row.serial}"
            replay = session.execute(
                select(CheckIn.id).where(
                    CheckIn.worker_id == worker_id, CheckIn.month == month, CheckIn.nonce == entry.nonce
                )
            ).scalar_one_or_none()
            if replay is not None:
                raise CheckInRefused(
                    "replayed",
                    "this check-in request was already received: tap the card again for a new one",
                    message_zh="这次打卡请求已经提交过（重复发送）：如需打卡请重新刷卡",
                )
            new_id = self._insert_once(
                session,
                {
                    "worker_id": worker_id,
                    "enterprise_id": card_row.enterprise_id,
                    "month": month,
                    "credential_serial": card_row.serial,
                    "card_uid": entry.card_uid.hex(),
                    "station": "",
                    "tapped_at": entry.tapped_at,
                    "recorded_at": utcnow(),
                    "recorded_by": actor,
                    "source": "phone",
                    "nonce": entry.nonce,
                },
            )
            if new_id is not None:
                unit.record(
                    actor,
                    "check_in.record",
                    "check_in",
                    new_id,
                    worker_id=worker_id,
                    month=month,
                    source="phone",
                )
            found = session.execute(
                select(CheckIn, Worker.name)
                .join(Worker, Worker.id == CheckIn.worker_id)
                .where(CheckIn.worker_id == worker_id, CheckIn.month == month)
            ).one()
            return found[0], fmt.mask_name(found[1]), new_id is not None

    def _own(self, session: Any, claims: fmt.Claims, raw: bytes, which: str) -> Credential:
        """The stored row of a credential this issuer signed with exactly these bytes (so
        genuine: cheaper than the signature); 404 otherwise. No scope: the caller is the
        worker's phone, proven by its key, not an account."""
        row = None
        if claims.issuer_code == self.ctx.issuer_code:
            row = session.execute(
                select(Credential).where(Credential.serial == claims.serial)
            ).scalar_one_or_none()
        if row is None or row.raw != raw:
            if which == "phone":
                raise not_found("phone credential of this issuer", "本机构签发的手机安心码")
            raise not_found("card credential of this issuer", "本机构签发的卡片安心码")
        return row  # type: ignore[no-any-return]

    # -- reading ----------------------------------------------------------------------------

    def listing(
        self,
        who: Principal,
        *,
        worker_id: int | None = None,
        month: str | None = None,
        enterprise_id: int | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> tuple[list[tuple[CheckIn, str]], bool]:
        """A page of check-ins, newest month first (then enterprise, worker: index order)."""
        scope = self.ctx.scope(who).require(*READERS)
        query = select(CheckIn, Worker.name).join(Worker, Worker.id == CheckIn.worker_id)
        query = scope.filter(query, CheckIn, enterprise_id)
        if worker_id is not None:
            query = query.where(CheckIn.worker_id == worker_id)
        if month is not None:
            query = query.where(CheckIn.month == month)
        query = query.order_by(CheckIn.month.desc(), CheckIn.enterprise_id.desc(), CheckIn.worker_id.desc())
        with self.ctx.store.read() as session:
            rows = session.execute(query.offset((page - 1) * per_page).limit(per_page + 1)).all()
        items = [(row[0], fmt.mask_name(row[1])) for row in rows]
        return items[:per_page], len(items) > per_page

    def months(
        self, who: Principal, worker_ids: Sequence[int], since: str, until: str
    ) -> list[tuple[int, list[str]]]:
        """For each worker the caller may see (in the order asked): the months checked in,
        ``since``..``until`` inclusive, oldest first. Workers it may not see are left out."""
        scope = self.ctx.scope(who).require(*READERS)
        wanted = list(dict.fromkeys(worker_ids))
        with self.ctx.store.read() as session:
            seen = scope.visible_keys(session, Worker, wanted)
            months: dict[int, list[str]] = {worker: [] for worker in wanted if worker in seen}
            if months:
                for worker, month in session.execute(
                    select(CheckIn.worker_id, CheckIn.month)
                    .where(CheckIn.worker_id.in_(list(months)), CheckIn.month.between(since, until))
                    .order_by(CheckIn.worker_id, CheckIn.month)
                ):
                    months[worker].append(month)
        return list(months.items())

    def counts(self, who: Principal, month: str, enterprise_ids: Iterable[int] = ()) -> list[tuple[int, int]]:
        """(enterprise, workers checked in) for ``month``: the asked enterprises the caller may
        see (0 when none checked in), else every enterprise with a check-in that month (one's
        own enterprise, for an enterprise's caller)."""
        scope = self.ctx.scope(who).require(*READERS)
        asked = list(dict.fromkeys(enterprise_ids))
        query = scope.filter(
            select(CheckIn.enterprise_id, func.count())
            .where(CheckIn.month == month)
            .group_by(CheckIn.enterprise_id)
            .order_by(CheckIn.enterprise_id),
            CheckIn,
        )
        if asked:
            query = query.where(CheckIn.enterprise_id.in_(asked))
        elif scope.enterprise_id is not None:
            asked = [scope.enterprise_id]
        with self.ctx.store.read() as session:
            found = {int(e): int(n) for e, n in session.execute(query)}
            if asked:
                existing = scope.visible_keys(session, Enterprise, asked)
                return [(e, found.get(e, 0)) for e in asked if e in existing]
        return sorted(found.items())


def _check_may_check_in(row: Credential, claims: fmt.Claims, card_uid: bytes, tapped_at: datetime) -> int:
    """The worker of a credential that may check in for a tap of the card ``card_uid`` at
    ``tapped_at`` (the desk's rule and the phone's): :class:`CheckInRefused` otherwise."""
    if row.subject_kind != "worker" or row.worker_id is None:
        raise CheckInRefused(
            "not_a_worker",
            "an enterprise's credential does not check in: tap the worker's own card",
            message_zh="企业安心码不能打卡，请使用服务员本人的卡",
        )
    if claims.card_uid is None:
        raise CheckInRefused(
            "not_bound",
            "this credential is not bound to a card: a check-in needs the worker's own bound card",
            message_zh="此安心码未绑定卡片，打卡须使用服务员本人已绑定的卡",
        )
    if claims.card_uid != card_uid:
        raise CheckInRefused(
            "card_mismatch",
            "this credential was issued for a different card: this card may be a copy",
            message_zh="此安心码签发给另一张卡，这张卡可能是复制卡",
        )
    tapped_on = tapped_at.astimezone(fmt.CHINA_TZ).date()
    if row.status == "revoked" and (row.revoked_at is None or row.revoked_at <= tapped_at):
        reason = f" ({row.revocation_reason})" if row.revocation_reason else ""
        raise CheckInRefused(
            "revoked",
            f"the credential was revoked{reason} before this tap",
            message_zh=f"此安心码在打卡前已被吊销{reason}",
        )
    if row.status == "suspended":
        raise CheckInRefused(
            "suspended",
            "the credential is suspended: reinstate it, then tap again",
            message_zh="此安心码已暂停：恢复后请重新打卡",
        )
    if tapped_on < row.issued_on:
        raise CheckInRefused(
            "not_yet_valid",
            f"the tap ({tapped_on}) is before the credential was issued ({row.issued_on})",
            message_zh=f"打卡日期 {tapped_on} 早于安心码签发日期 {row.issued_on}",
        )
    if tapped_on >= row.expires_on:
        raise CheckInRefused(
            "expired",
            f"the credential had expired on {row.expires_on} when the card was tapped",
            message_zh=f"打卡时安心码已于 {row.expires_on} 过期",
        )
    return row.worker_id


# -- JSON ---------------------------------------------------------------------------------------


def month_before(month: str, count: int) -> str:
    """The month ``count`` months before ``month`` (both ``YYYY-MM``), at the earliest ``0000-01``,
    the first month the form can write (before it, ``-001-02`` is no ``YYYY-MM``)."""
    year, number = int(month[:4]), int(month[5:7]) - count
    while number < 1:
        year, number = year - 1, number + 12
    return f"{year:04d}-{number:02d}" if year >= 0 else "0000-01"


def months_back(until: str, count: int) -> list[str]:
    """The ``count`` months ending with ``until``, oldest first (a page's row of months)."""
    return [month_before(until, back) for back in range(count - 1, -1, -1)]


def this_month() -> str:
    """The current month in China Standard Time: the one a tap now counts for."""
    today: date = today_in_china()
    return f"{today.year:04d}-{today.month:02d}"


__all__ = [
    "MAX_WORKERS_PER_QUERY",
    "MONTH",
    "CheckInRefused",
    "CheckInRequest",
    "CheckIns",
    "PhoneCheckIn",
    "month_before",
    "month_of",
    "months_back",
    "phone_check_in_message",
    "this_month",
]
