"""确认入户, 三方互评 and 投诉: the loop the consumer's page closes (docs/page.md, docs/api.md);
the routes are :mod:`anxinma.issuer.web.visits`, the rules and the writes are here.

* ``POST /api/v1/visits {"code"}`` — the consumer confirms the worker at the door. The caller
  proves it scanned the credential by presenting it (as for the live record; a dynamic code
  makes the visit *verified*, :func:`presented_code`); the issuer stores
  a visit (credential, worker, enterprise, time — nothing about the consumer) and answers a
  **one-time rating token** bound to that visit, kept only as its SHA-256. A visit is what the
  regulator's display rate (亮证率) counts.
* ``POST /api/v1/visits/{id}/rating`` and ``…/complaint`` — the consumer, with that token:
  one rating (1–5 stars, a short comment) and one complaint per visit. A second of either is
  refused with ``409 already_rated`` / ``already_complained``; the unique indexes of migration
  0003 make that hold under concurrent requests too.
* ``POST /api/v1/visits/{id}/rating/enterprise`` — the worker's enterprise rates the worker
  for that visit (its Bearer token; only its own workers' visits).
* ``POST /api/v1/visits/{id}/rating/worker`` — the worker rates the enterprise. A worker has no
  account; they prove they hold the credential with the **holder key** bound into it (the
  ``cnf`` claim, RFC 8747): an Ed25519 signature over :func:`worker_rating_message`. A
  credential without a holder key cannot rate its enterprise (409 ``no_holder_key``): a QR or
  the card number is public and proves nothing.
* ``GET /api/v1/visits``, ``GET /api/v1/ratings``, ``GET /api/v1/complaints``,
  ``POST /api/v1/complaints/{id}/resolve`` — the enterprise (its own workers only) and the
  regulator.

The consumer's rating of a worker is what the live record's ``rating: {count, average,
verified_count}`` summarises (:mod:`anxinma.issuer.services.live`), within the caps and weights
of the rating rule (:mod:`anxinma.issuer.services.rating_rule`: a photo of a badge cannot move
it; a visit confirmed with the worker's dynamic code is *verified* and weighs more); the
enterprise's ratings of its own workers are kept in the archive but not averaged into that
public figure, which an employer could otherwise inflate.

Comments and complaints refuse a run of six or more digits: no phone or identity number of a
consumer (or of anyone) is ever stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, update

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.errors import MalformedCredential
from anxinma.issuer.errors import ApiError, Conflict, Forbidden, ValidationFailed, not_found
from anxinma.issuer.services import rating_rule
from anxinma.issuer.services.auth import Principal, Role, token_hash
from anxinma.issuer.services.context import Context
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.validation import presented_credential
from anxinma.issuer.store.loop_rows import (
    VISIT_COLUMNS,
    VisitRow,
    bound,
    complaint_json,
    complaint_query,
    complaint_row,
    complaints_t,
    consumer_summary,
    insert_once,
    rating_json,
    rating_query,
    rating_row,
    ratings_t,
    visit_row,
    visits_t,
)
from anxinma.issuer.store.models import (
    COMPLAINT_CATEGORIES,
    RATING_SOURCES,
    Complaint,
    Credential,
    Rating,
    Visit,
    Worker,
    utcnow,
)
from anxinma.messages import Message
from anxinma.verifier.holder import Proof, judge_holder_proof
from anxinma.verifier.result import Status

#: Days after 确认入户 during which the consumer may rate or complain.
RATING_DAYS = 30
#: Visits one credential may record per day: a photographed QR cannot inflate the display rate.
VISITS_PER_CREDENTIAL_PER_DAY = 20
COMMENT_MAX = 200
SUMMARY_MIN, SUMMARY_MAX = 5, 500
TOKEN_PREFIX = "axv_"
_DIGIT_RUN = re.compile(r"\d{6,}")
_READERS = (Role.ISSUER_ADMIN, Role.REGULATOR, Role.ENTERPRISE_ADMIN)
_RESOLVERS = (Role.ISSUER_ADMIN, Role.REGULATOR, Role.ENTERPRISE_ADMIN)
#: How the audit log names the consumer at the door (anonymous: nothing about them is kept).
CONSUMER = "public:consumer"


def worker_rating_message(issuer_code: int, visit_id: int, score: int, comment: str) -> bytes:
    """What the holder key signs to rate the enterprise: bound to the issuer, the visit, the
    score and the comment, so a signature cannot be moved to another visit or other words."""
    digest = hashlib.sha256(comment.encode()).hexdigest()
    return f"anxinma-worker-rating:v1:{issuer_code}:{visit_id}:{score}:{digest}".encode()


class TooMany(ApiError):
    http_status = 429
    code = "rate_limited"


class NotInService(Conflict):
    """The credential is revoked, suspended, expired or not a worker's: no entry to confirm."""

    code = "not_in_service"


class AlreadyRated(Conflict):
    code = "already_rated"


class AlreadyComplained(Conflict):
    code = "already_complained"


class RatingClosed(Conflict):
    code = "rating_closed"


class NoHolderKey(Conflict):
    code = "no_holder_key"


class HolderProofRefused(Conflict):
    """A dynamic code whose proof is stale, dated ahead or forged: no visit is recorded (a
    replayed screenshot of a dynamic code must not count as the phone at the door). The code
    is the verifier's status (``holder_proof_expired``, ``bad_holder_proof``) and the words
    are the verifier's reason (anxinma.verifier.holder, the one rule)."""

    def __init__(self, status: str, reason: Message) -> None:
        super().__init__(reason.en, message_zh=reason.zh)
        self.code = status


def presented_code(code: Any, issuer_code: int, now: int | None = None) -> tuple[bytes, fmt.Credential, bool]:
    """(the credential's bytes, the credential, verified) of a code presented at the door.

    A dynamic code (docs/format.md §12) is verified when its holder proof verifies under the
    credential's holder key within the window of :mod:`anxinma.verifier.holder` (judged by
    this server's clock, ``now``); a stale or forged one is :class:`HolderProofRefused`. Any
    other code (a card's QR, the bare form of a phone credential) is an unverified visit, as
    before: the page does not offer 确认入户 for a phone credential without its dynamic code.
    """
    data: bytes | None = None
    if isinstance(code, str):
        try:
            data = fmt.parse_text(code)
        except MalformedCredential:
            data = None  # presented_credential says what is wrong with it
    if data is None or not fmt.is_presentation(data):
        raw, presented = presented_credential(code, issuer_code)
        return raw, presented, False
    try:
        shown = fmt.decode_presentation(data)
    except MalformedCredential as exc:
        raise ValidationFailed({"code": (exc.message_zh, exc.message)}) from None
    if shown.credential.claims.issuer_code != issuer_code:
        raise not_found("credential of this issuer", "本机构签发的安心码")
    proof = Proof.GOOD if shown.proof_verifies() else Proof.BAD
    age = (int(time.time()) if now is None else now) - shown.time
    refusal = judge_holder_proof(Status.VALID, True, proof, age)
    if refusal is not None:
        status, reason = refusal
        raise HolderProofRefused(status.value, reason)
    return shown.credential.raw, shown.credential, True


# -- input ------------------------------------------------------------------------------------


def only(data: dict[str, Any], allowed: set[str]) -> None:
    """400 naming every field of ``data`` that is not ``allowed``."""
    unknown = set(data) - allowed
    if unknown:
        raise ValidationFailed({name: ("未知字段", "unknown field") for name in sorted(unknown)})


def score_of(data: dict[str, Any]) -> int:
    score = data.get("score")
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ValidationFailed({"score": ("评分应为 1 到 5 星", "a score is 1 to 5 stars")})
    return score


def free_text(data: dict[str, Any], name: str, low: int, high: int) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and low == 0):
        return None
    if not isinstance(value, str) or not low <= len(value.strip()) <= high:
        raise ValidationFailed({name: (f"应为 {low} 到 {high} 个字", f"{low} to {high} characters")})
    text = " ".join(value.split())
    if _DIGIT_RUN.search(re.sub(r"[\s\-.]", "", text)):
        raise ValidationFailed(
            {
                name: (
                    "请勿填写电话号码、身份证号等个人信息",
                    "leave out phone, identity and other personal numbers",
                )
            }
        )
    return text


def required_text(data: dict[str, Any], name: str, low: int, high: int) -> str:
    """:func:`free_text` that must be there: a missing field is 400 naming it (never an assert)."""
    text = free_text(data, name, low, high)
    if text is None:
        raise ValidationFailed(
            {name: (f"必填，{low} 到 {high} 个字", f"required: {low} to {high} characters")}
        )
    return text


def _token(data: dict[str, Any]) -> str:
    token = data.get("token")
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        raise ValidationFailed({"token": ("缺少评价凭证", "the visit's rating token is required")})
    return token


# -- the consumer's side ----------------------------------------------------------------------


def _check_token(visit: VisitRow, token: str) -> None:
    if not hmac.compare_digest(visit.token_hash, token_hash(token)):
        raise Forbidden(
            "this rating token is not the one issued for this visit",
            message_zh="评价凭证与此次入户记录不符",
        )
    _check_open(visit)


def _check_open(visit: VisitRow) -> None:
    """Ratings (every side's) and complaints close :data:`RATING_DAYS` after the visit."""
    if utcnow() > visit.confirmed_at + timedelta(days=RATING_DAYS):
        raise RatingClosed(
            f"ratings and complaints close {RATING_DAYS} days after the visit",
            message_zh=f"入户 {RATING_DAYS} 天后不能再评价或投诉",
        )


def _insert_rating(
    session: Any,
    visit: VisitRow,
    source: str,
    score: int,
    comment: str | None,
    extra: dict[str, Any] | None = None,
) -> int:
    values = {
        **bound(visit),
        "source": source,
        "score": score,
        "comment": comment,
        "created_at": utcnow(),
        "verified": visit.verified,
        **(extra or {}),
    }
    refusal = AlreadyRated(
        "this visit has already been rated from this side: one rating per visit",
        message_zh="这次服务已经评价过了，每次入户只能评价一次",
    )
    return insert_once(session, ratings_t, values, refusal)


def parse_rating(data: dict[str, Any]) -> tuple[int, str | None]:
    """(score, comment) of a rating body or form, by the consumer's rules (no digit runs)."""
    return score_of(data), free_text(data, "comment", 0, COMMENT_MAX)


def parse_complaint(data: dict[str, Any]) -> tuple[str, str, str]:
    """(token, category, summary) of a consumer's complaint body."""
    token = _token(data)
    category = data.get("category", "other")
    if category not in COMPLAINT_CATEGORIES:
        raise ValidationFailed({"category": ("投诉类别无效", "one of " + ", ".join(COMPLAINT_CATEGORIES))})
    return token, str(category), required_text(data, "summary", SUMMARY_MIN, SUMMARY_MAX)


def parse_consumer_rating(data: dict[str, Any]) -> tuple[str, int, str | None]:
    """(token, score, comment) of a consumer's rating body."""
    token, score = _token(data), score_of(data)
    return token, score, free_text(data, "comment", 0, COMMENT_MAX)


def parse_resolution(data: dict[str, Any]) -> str:
    """What was done about a complaint: 2 to 500 characters, no personal numbers."""
    return required_text(data, "resolution", 2, SUMMARY_MAX)


@dataclass(frozen=True)
class Window:
    """Which rows of a listing, by id: after ``after`` (the API's cursor), before ``before``
    (a page's "older" cursor), at most ``limit``, oldest or newest first."""

    after: int = 0
    before: int | None = None
    limit: int = 50
    newest_first: bool = False


@dataclass(frozen=True)
class Summary:
    """Ratings of one side: how many and their average (None when there are none). For the
    consumers' side these are the public figure (the counted ratings, weighted: the rating
    rule), with how many of them came from verified visits and how many more were stored but
    not counted (``flagged``: the abuse the enterprise and the regulator see)."""

    count: int
    average: float | None
    verified: int = 0
    flagged: int = 0


class ServiceLoop:
    """Visits, ratings and complaints of one issuer: the consumer's writes (with the visit's
    token), the enterprise's and the regulator's reads and writes under their scope. The API
    routes and the consoles (:mod:`anxinma.issuer.web.console.loop`) both go through here.

    An enterprise principal sees only rows of its own enterprise, whatever it asks for; the
    regulator and the issuer admin see every enterprise, or the one they filter on.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- the consumer's side (no account: the credential, then the visit's token) -------------

    def confirm(self, code: Any) -> dict[str, Any]:
        """确认入户: record a visit for the credential presented; answer the one-time rating token."""
        raw, presented, verified = presented_code(code, self.ctx.issuer_code)
        today = today_in_china()
        day_start = datetime.combine(today, datetime.min.time(), fmt.CHINA_TZ)
        token = TOKEN_PREFIX + secrets.token_urlsafe(24)
        with self.ctx.tx() as unit:
            session = unit.session
            row = session.execute(
                select(
                    Credential.raw,
                    Credential.status,
                    Credential.expires_on,
                    Credential.worker_id,
                    Credential.enterprise_id,
                )
                .where(Credential.serial == presented.claims.serial)
                .with_for_update()  # one confirmation of a credential at a time: the daily cap holds
            ).first()
            if row is None or row[0] != raw:
                raise not_found("credential", "安心码")
            _, status, expires_on, worker_id, enterprise_id = row
            if worker_id is None:
                raise NotInService(
                    "an enterprise's own credential is not a worker at the door",
                    message_zh="企业证不能用于确认入户",
                )
            if status != "active" or today >= expires_on:
                what = {"revoked": ("已吊销", "revoked"), "suspended": ("已暂停", "suspended")}.get(
                    status, ("已过期", "expired")
                )
                raise NotInService(
                    f"this credential is {what[1]}: do not confirm entry",
                    message_zh=f"此安心码{what[0]}，不能确认入户",
                )
            today_count = session.execute(
                select(func.count(visits_t.c.id)).where(
                    visits_t.c.credential_serial == presented.claims.serial,
                    visits_t.c.confirmed_at >= day_start,
                )
            ).scalar_one()
            if today_count >= VISITS_PER_CREDENTIAL_PER_DAY:
                raise TooMany(
                    "this credential has confirmed as many visits today as one worker can make",
                    message_zh="此安心码今日的入户确认次数已达上限",
                )
            now = utcnow()
            visit_id = session.execute(
                insert(visits_t)
                .values(
                    credential_serial=presented.claims.serial,
                    worker_id=worker_id,
                    enterprise_id=enterprise_id,
                    confirmed_at=now,
                    token_hash=token_hash(token),
                    verified=verified,
                )
                .returning(visits_t.c.id)
            ).scalar_one()
            unit.record(
                CONSUMER,
                "visit.confirm",
                "visit",
                visit_id,
                serial=presented.claims.serial,
                verified=verified,
            )
        return {
            "visit_id": int(visit_id),
            "rating_token": token,
            "serial": presented.claims.serial,
            "display_name": presented.claims.display_name,
            "confirmed_at": now.isoformat(),
            "rate_until": (now + timedelta(days=RATING_DAYS)).isoformat(),
            "verified": verified,
        }

    def rate_as_consumer(
        self, visit_id: int, token: str, score: int, comment: str | None, client: str | None = None
    ) -> dict[str, Any]:
        """The consumer rates the worker, once per visit, with the visit's token. The rating is
        stored; whether it counts toward the public average, and how much, is the rating rule's
        (:mod:`anxinma.issuer.services.rating_rule`) for ``client``, the caller's address."""
        client_hash = rating_rule.client_key(self.ctx.vault.identity_key, client)
        with self.ctx.tx() as unit:
            session = unit.session
            visit = visit_row(session, visit_id, lock=True)
            _check_token(visit, token)
            # One rating of a worker judged at a time (the caps count the ones before it).
            session.execute(select(Worker.id).where(Worker.id == visit.worker_id).with_for_update())
            judged = rating_rule.judge(
                session,
                worker_id=visit.worker_id,
                serial=visit.serial,
                client=client_hash,
                verified=visit.verified,
                now=utcnow(),
            )
            extra = {
                "counted": judged.counted,
                "weight": judged.weight,
                "flag": judged.flag,
                "client_hash": client_hash,
            }
            rating_id = _insert_rating(session, visit, "consumer", score, comment, extra)
            unit.record(
                CONSUMER,
                "rating.create",
                "visit",
                visit.id,
                source="consumer",
                score=score,
                counted=judged.counted,
                flag=judged.flag,
            )
            payload = rating_json(unit.session, rating_id)
            payload["rating"] = consumer_summary(unit.session, visit.worker_id)
        return payload

    def complain(self, visit_id: int, token: str, category: str, summary: str) -> dict[str, Any]:
        """投诉: stored for the worker's enterprise and the regulator; one per visit."""
        now = utcnow()
        with self.ctx.tx() as unit:
            visit = visit_row(unit.session, visit_id, lock=True)
            _check_token(visit, token)
            values = {
                **bound(visit),
                "category": category,
                "summary": summary,
                "filed_on": now.astimezone(fmt.CHINA_TZ).date(),
                "filed_at": now,
                "resolved": False,
            }
            refusal = AlreadyComplained(
                "a complaint about this visit has already been filed",
                message_zh="这次服务已经投诉过了，请等待处理",
            )
            complaint_id = insert_once(unit.session, complaints_t, values, refusal)
            unit.record(CONSUMER, "complaint.create", "complaint", complaint_id, visit_id=visit.id)
            return complaint_json(unit.session, int(complaint_id))

    def rate_as_worker(
        self, visit_id: int, score: int, comment: str | None, signed_comment: str, signature: bytes | None
    ) -> dict[str, Any]:
        """The worker rates the enterprise: a signature of the credential's holder key over
        :func:`worker_rating_message` (``signed_comment``: the words as the phone signed them)."""
        with self.ctx.tx() as unit:
            session = unit.session
            visit = visit_row(session, visit_id, lock=True)
            _check_open(visit)
            raw = session.execute(
                select(Credential.raw).where(Credential.serial == visit.serial)
            ).scalar_one()
            holder_key = fmt.decode(raw).claims.holder_key
            if holder_key is None:
                raise NoHolderKey(
                    "this credential has no holder key: a worker proves who they are with the key on their phone",
                    message_zh="此安心码未绑定持证人手机密钥，无法以服务员身份评价",
                )
            message = worker_rating_message(self.ctx.issuer_code, visit.id, score, signed_comment)
            if signature is None or not ed25519.verify(holder_key, signature, message):
                raise Forbidden(
                    "the signature is not the holder key's over this rating",
                    message_zh="持证人签名无效",
                )
            rating_id = _insert_rating(session, visit, "worker", score, comment)
            unit.record(
                f"holder:{visit.serial}", "rating.create", "visit", visit.id, source="worker", score=score
            )
            return rating_json(session, rating_id)

    # -- the enterprise's and the regulator's side --------------------------------------------

    def _scoped(self, who: Principal, model: type, enterprise_id: int | None) -> list[Any]:
        return self.ctx.scope(who).require(*_READERS).conditions(model, enterprise_id)

    def _rows(self, query: Any, column: Any, conditions: list[Any], window: Window) -> list[Any]:
        """The rows of ``query`` in ``window`` of the id ``column``, under ``conditions``."""
        conditions = [*conditions, column > window.after]
        if window.before is not None:
            conditions.append(column < window.before)
        order = column.desc() if window.newest_first else column
        with self.ctx.store.read() as session:
            return list(
                session.execute(query.where(and_(*conditions)).order_by(order).limit(window.limit)).all()
            )

    def visits(
        self,
        who: Principal,
        *,
        worker_id: int | None = None,
        enterprise_id: int | None = None,
        window: Window = Window(),
    ) -> list[dict[str, Any]]:
        """Visits (the API's JSON shape), by id; ``rated`` says which sides have rated each."""
        conditions = self._scoped(who, Visit, enterprise_id)
        if worker_id is not None:
            conditions.append(visits_t.c.worker_id == worker_id)
        rated = [
            select(ratings_t.c.id)
            .where(ratings_t.c.visit_id == visits_t.c.id, ratings_t.c.source == source)
            .exists()
            for source in RATING_SOURCES
        ]
        complained = select(complaints_t.c.id).where(complaints_t.c.visit_id == visits_t.c.id).exists()
        query = select(
            *VISIT_COLUMNS,
            Worker.name,
            complained,
            *rated,
        ).join(Worker, Worker.id == visits_t.c.worker_id)
        rows = self._rows(query, visits_t.c.id, conditions, window)
        return [
            {
                "id": int(r[0]),
                "credential_serial": int(r[1]),
                "worker_id": int(r[2]),
                "worker_display_name": fmt.mask_name(r[5]),
                "enterprise_id": int(r[3]),
                "confirmed_at": r[4].isoformat(),
                "complained": bool(r[6]),
                "rated": {source: bool(flag) for source, flag in zip(RATING_SOURCES, r[7:], strict=True)},
            }
            for r in rows
        ]

    def ratings(
        self,
        who: Principal,
        *,
        source: str | None = None,
        worker_id: int | None = None,
        enterprise_id: int | None = None,
        window: Window = Window(),
    ) -> list[dict[str, Any]]:
        conditions = self._scoped(who, Rating, enterprise_id)
        if worker_id is not None:
            conditions.append(ratings_t.c.worker_id == worker_id)
        if source is not None:
            conditions.append(ratings_t.c.source == source)
        return [rating_row(r) for r in self._rows(rating_query(), ratings_t.c.id, conditions, window)]

    def summaries(self, who: Principal, worker_id: int) -> dict[str, Summary]:
        """Each side's ratings of a worker's visits: ``consumer`` is the public figure the live
        record shows (counted and weighted by the rating rule, with ``verified`` and ``flagged``
        beside it); ``enterprise`` the employer's own (kept apart: it could inflate the
        public one); ``worker`` what the worker said of the enterprise."""
        conditions = self._scoped(who, Rating, None)
        with self.ctx.store.read() as session:
            rows = session.execute(
                select(ratings_t.c.source, func.count(ratings_t.c.id), func.avg(ratings_t.c.score))
                .where(ratings_t.c.worker_id == worker_id, *conditions)
                .group_by(ratings_t.c.source)
            ).all()
            # The public figure is the live record's (anyone who scans the code sees it); what
            # was left out is counted among the caller's own rows only.
            public = consumer_summary(session, worker_id)
            flagged = session.execute(
                select(func.count(ratings_t.c.id)).where(
                    ratings_t.c.worker_id == worker_id,
                    ratings_t.c.source == "consumer",
                    ratings_t.c.counted.is_(False),
                    *conditions,
                )
            ).scalar_one()
        found = {
            str(source): Summary(int(count), round(float(average), 1) if average is not None else None)
            for source, count, average in rows
        }
        found["consumer"] = Summary(
            public["count"], public["average"], public["verified_count"], int(flagged)
        )
        return {source: found.get(source, Summary(0, None)) for source in RATING_SOURCES}

    def flagged_ratings(
        self, who: Principal, *, days: int = rating_rule.CLIENT_WORKER_DAYS
    ) -> list[dict[str, Any]]:
        """Workers with consumer ratings stored but not counted in the last ``days`` days, most
        first (the consoles' abuse list: a photo being used to rate): worker, enterprise, how
        many, of which flag, the latest."""
        conditions = self._scoped(who, Rating, None)
        c = ratings_t.c
        since = utcnow() - timedelta(days=days)
        with self.ctx.store.read() as session:
            rows = session.execute(
                select(
                    c.worker_id,
                    c.enterprise_id,
                    c.flag,
                    func.count(c.id),
                    func.max(c.created_at),
                    Worker.name,
                )
                .join(Worker, Worker.id == c.worker_id)
                .where(c.source == "consumer", c.counted.is_(False), c.created_at >= since, *conditions)
                .group_by(c.worker_id, c.enterprise_id, c.flag, Worker.name)
            ).all()
        by_worker: dict[int, dict[str, Any]] = {}
        for worker_id, enterprise_id, flag, count, latest, name in rows:
            entry = by_worker.setdefault(
                int(worker_id),
                {
                    "worker_id": int(worker_id),
                    "worker_display_name": fmt.mask_name(name),
                    "enterprise_id": enterprise_id,
                    "flagged": 0,
                    "flags": {},
                    "latest": latest,
                },
            )
            entry["flagged"] += int(count)
            entry["flags"][str(flag)] = int(count)
            entry["latest"] = max(entry["latest"], latest)
        for entry in by_worker.values():
            entry["latest"] = entry["latest"].isoformat()
        return sorted(by_worker.values(), key=lambda e: (-e["flagged"], e["worker_id"]))

    def may_rate_as_enterprise(self, who: Principal) -> None:
        """403 before the body is read, for a caller who may not rate as an enterprise."""
        self.ctx.scope(who).require(Role.ENTERPRISE_ADMIN)

    def may_resolve(self, who: Principal) -> None:
        """403 before the body is read, for a caller who may not resolve complaints."""
        self.ctx.scope(who).require(*_RESOLVERS)

    def rate_as_enterprise(
        self, who: Principal, visit_id: int, score: int, comment: str | None
    ) -> dict[str, Any]:
        """The worker's enterprise rates the worker for one visit, once (409 ``already_rated``)."""
        scope = self.ctx.scope(who).require(Role.ENTERPRISE_ADMIN)
        with self.ctx.tx() as unit:
            visit = visit_row(
                unit.session, visit_id, lock=True, conditions=scope.conditions(Visit)
            )  # another's looks like none
            rating_id = _insert_rating(unit.session, visit, "enterprise", score, comment)
            unit.record(who, "rating.create", "visit", visit.id, source="enterprise", score=score)
            return rating_json(unit.session, rating_id)

    def complaints(
        self,
        who: Principal,
        *,
        resolved: bool | None = None,
        category: str | None = None,
        worker_id: int | None = None,
        enterprise_id: int | None = None,
        window: Window = Window(),
    ) -> list[dict[str, Any]]:
        conditions = self._scoped(who, Complaint, enterprise_id)
        if resolved is not None:
            conditions.append(complaints_t.c.resolved.is_(resolved))
        if category is not None:
            conditions.append(complaints_t.c.category == category)
        if worker_id is not None:
            conditions.append(complaints_t.c.worker_id == worker_id)
        return [
            complaint_row(r) for r in self._rows(complaint_query(), complaints_t.c.id, conditions, window)
        ]

    def visit(self, who: Principal, visit_id: int) -> dict[str, Any]:
        """One visit; 404 when it is another enterprise's (or none)."""
        found = self.visits(who, window=Window(after=visit_id - 1, before=visit_id + 1, limit=1))
        if not found:
            raise not_found("visit", "入户记录")
        return found[0]

    def complaint(self, who: Principal, complaint_id: int) -> dict[str, Any]:
        """One complaint; 404 when it is another enterprise's (or none)."""
        found = self.complaints(who, window=Window(after=complaint_id - 1, before=complaint_id + 1, limit=1))
        if not found:
            raise not_found("complaint", "投诉")
        return found[0]

    def open_complaints(self, who: Principal) -> dict[int, int]:
        """Unresolved complaints per enterprise (the regulator's column; an enterprise: its own)."""
        conditions = self._scoped(who, Complaint, None)
        with self.ctx.store.read() as session:
            rows = session.execute(
                select(complaints_t.c.enterprise_id, func.count())
                .where(complaints_t.c.resolved.is_(False), *conditions)
                .group_by(complaints_t.c.enterprise_id)
            ).all()
        return {int(e): int(n) for e, n in rows if e is not None}

    def resolve(self, who: Principal, complaint_id: int, resolution: str) -> dict[str, Any]:
        """Close a complaint with what was done: the enterprise (its own) or the regulator, once."""
        scope = self.ctx.scope(who).require(*_RESOLVERS)
        with self.ctx.tx() as unit:
            found = unit.session.execute(
                select(complaints_t.c.enterprise_id, complaints_t.c.resolved)
                .where(complaints_t.c.id == complaint_id, *scope.conditions(Complaint))
                .with_for_update()
            ).first()
            if found is None:  # none, or another enterprise's (another issuer's)
                raise not_found("complaint", "投诉")
            if found[1]:
                raise Conflict("this complaint is already resolved", message_zh="该投诉已处理完毕")
            unit.session.execute(
                update(complaints_t)
                .where(complaints_t.c.id == complaint_id)
                .values(
                    resolved=True, resolved_at=utcnow(), resolved_by=who.actor[:64], resolution=resolution
                )
            )
            unit.record(who, "complaint.resolve", "complaint", complaint_id)
            return complaint_json(unit.session, complaint_id)


__all__ = [
    "COMMENT_MAX",
    "CONSUMER",
    "RATING_DAYS",
    "RATING_SOURCES",
    "VISITS_PER_CREDENTIAL_PER_DAY",
    "ServiceLoop",
    "Summary",
    "Window",
    "free_text",
    "only",
    "parse_complaint",
    "parse_consumer_rating",
    "parse_rating",
    "parse_resolution",
    "score_of",
    "worker_rating_message",
]
