"""The credit grade of an enterprise (信用等级 A–D), the regulator's red list (诚信企业) and the
public directory that shows both (docs/credit.md is the model; this module is that model).

Why one module: the grade must be checkable by anyone, so the figures it is computed from
(:class:`Inputs`), the points each earns (:func:`grade_of`, a pure function of the inputs) and
the sentences that explain it ("why this grade", "what would raise it") are written once, here,
and the daily job, the public pages and the tests all use the same function. The daily job
keeps each day's inputs beside the grade (``credit_grades``), so a past grade is explained by
the figures it was computed from, not by today's.

The directory is public data (what the platform publishes about every enterprise of the issuer:
name, district, categories, grade and its figures, the red list and the blacklist's dates), read
without a principal; it holds no worker's name or identity. Changes (the red list) go through a
unit of work with an audit entry, by the regulator or the issuer admin only.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select

from anxinma import credential as fmt
from anxinma.issuer.errors import Conflict, ValidationFailed, not_found
from anxinma.issuer.services import stats
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context, Unit
from anxinma.issuer.services.district import DISTRICTS, district_of
from anxinma.issuer.store.models import (
    BlacklistEntry,
    Complaint,
    Credential,
    CreditGrade,
    Enterprise,
    Rating,
    RedListEntry,
    Visit,
    Worker,
)
from anxinma.messages import Catalog, Message

#: The model's version, kept with every grade (docs/credit.md, "Versions").
MODEL_VERSION = 1
#: The windows of the inputs, in days (docs/credit.md, "Inputs").
DISPLAY_DAYS = stats.PERIOD_DAYS
COMPLAINT_DAYS = 90
RATING_DAYS = 365
PENALTY_DAYS = 365
#: A complaint resolved within this many days counts as resolved in time.
RESOLVE_DAYS = 7
#: Points of each positive input at its best (they sum to 100).
WEIGHTS = {
    "holding": 25,
    "display": 15,
    "complaints": 15,
    "resolution": 10,
    "ratings": 20,
    "certificates": 15,
}
#: Complaints per 100 confirmed visits at which the complaints input earns nothing.
COMPLAINT_RATE_ZERO = 10.0
#: Deductions: points per event and the most an input may take.
PENALTIES = {"misconduct": (5, 20), "blacklisted": (10, 30)}
#: The lowest score of each grade; below the last one, D.
THRESHOLDS = (("A", 85), ("B", 70), ("C", 55))
#: The best grade an enterprise with a blacklisted worker in the window can have.
BLACKLIST_CAP = "C"
NOT_GRADED = "-"
#: How long the public directory reuses what it computed (per process).
PUBLIC_SECONDS = 60.0
#: At most this many enterprises side by side.
COMPARE_MAX = 3
RED_LISTERS = (Role.REGULATOR, Role.ISSUER_ADMIN)

CREDIT = Catalog("credit")
_define = CREDIT.define

_define("part.holding", zh="持证率", en="Holding rate")
_define("part.display", zh="亮证率", en="Display rate")
_define("part.complaints", zh="投诉率", en="Complaint rate")
_define("part.resolution", zh="投诉及时处理", en="Complaints resolved in time")
_define("part.ratings", zh="顾客评价", en="Consumer ratings")
_define("part.certificates", zh="健康证有效", en="Valid health certificates")
_define("part.misconduct", zh="违规吊销", en="Revocations for misconduct")
_define("part.blacklisted", zh="失信名单", en="Blacklist entries")
_define(
    "figure.holding",
    zh="{holding}/{registered} 名在册服务员持有效安心码（{rate}）",
    en="{holding} of {registered} registered workers hold a valid code ({rate})",
)
_define(
    "figure.display",
    zh="近 {days} 天 {displayed}/{registered} 名服务员亮证或被确认入户（{rate}）",
    en="{displayed} of {registered} workers shown or confirmed at a door in the last {days} days ({rate})",
)
_define(
    "figure.complaints",
    zh="近 {days} 天 {complaints} 起投诉，{visits} 次确认入户（每百次 {rate} 起）",
    en="{complaints} complaints and {visits} confirmed visits in the last {days} days ({rate} per 100 visits)",
)
_define("figure.complaints_none", zh="近 {days} 天没有投诉", en="no complaint in the last {days} days")
_define(
    "figure.resolution",
    zh="{complaints} 起投诉中 {in_time} 起在 {limit} 天内处理（平均 {average} 天）",
    en="{in_time} of {complaints} complaints resolved within {limit} days (average {average} days)",
)
_define(
    "figure.resolution_open",
    zh="{complaints} 起投诉中 {in_time} 起在 {limit} 天内处理，尚无已处理的投诉",
    en="{in_time} of {complaints} complaints resolved within {limit} days; none resolved yet",
)
_define("figure.resolution_none", zh="没有需要处理的投诉", en="no complaint to resolve")
_define(
    "figure.ratings",
    zh="近 {days} 天 {count} 条计入的顾客评价，加权平均 {average} 分（手机动态码确认的入户计 3，其余计 1）",
    en="{count} counted consumer ratings in the last {days} days, weighted average {average} "
    "(a visit confirmed from the phone's code counts 3, others 1)",
)
_define(
    "figure.ratings_none",
    zh="近 {days} 天没有顾客评价：按中间值计一半分数",
    en="no consumer rating in the last {days} days: half the points, as a middle value",
)
_define(
    "figure.certificates",
    zh="{lapsed}/{registered} 名服务员健康证过期或缺失",
    en="{lapsed} of {registered} workers have a lapsed or missing health certificate",
)
_define(
    "figure.misconduct",
    zh="近 {days} 天 {count} 张安心码因违规被吊销（每张扣 {each} 分，最多 {most} 分）",
    en="{count} codes revoked for misconduct in the last {days} days ({each} points each, at most {most})",
)
_define(
    "figure.blacklisted",
    zh="近 {days} 天 {count} 名服务员被列入失信名单（每人扣 {each} 分，最多 {most} 分；等级最高为 {cap}）",
    en="{count} workers put on the blacklist in the last {days} days ({each} points each, at most {most}; "
    "grade at best {cap})",
)
_define(
    "advice.holding",
    zh="为其余 {missing} 名服务员办理有效的安心码：最多加 {gain} 分",
    en="issue a valid code to the other {missing} workers: up to +{gain} points",
)
_define(
    "advice.display",
    zh="请服务员上门时出示安心码、请顾客确认入户（还有 {missing} 人近 {days} 天未亮证）：最多加 {gain} 分",
    en="have workers show their code at the door and consumers confirm the visit "
    "({missing} have not in the last {days} days): up to +{gain} points",
)
_define(
    "advice.complaints",
    zh="减少投诉（每百次上门少于 {zero} 起才得分）：最多加 {gain} 分",
    en="fewer complaints (points are earned below {zero} per 100 visits): up to +{gain} points",
)
_define(
    "advice.resolution",
    zh="在 {limit} 天内处理每一起投诉（{late} 起未及时处理）：最多加 {gain} 分",
    en="resolve every complaint within {limit} days ({late} were not): up to +{gain} points",
)
_define(
    "advice.ratings_none",
    zh="请顾客在确认入户后评价服务：最多加 {gain} 分",
    en="ask consumers to rate the visit after confirming it: up to +{gain} points",
)
_define(
    "advice.ratings",
    zh="提高服务质量，让顾客评价更高（现为 {average} 分）：最多加 {gain} 分",
    en="better service, better ratings (now {average}): up to +{gain} points",
)
_define(
    "advice.certificates",
    zh="为 {lapsed} 名服务员更新健康证：最多加 {gain} 分",
    en="renew the health certificate of {lapsed} workers: up to +{gain} points",
)
_define(
    "advice.penalty",
    zh="扣分在事件满 {days} 天后不再计入：避免新的违规",
    en="a deduction stops counting {days} days after the event: avoid new ones",
)
_define(
    "next_grade",
    zh="再得 {points} 分即可达到 {grade} 级",
    en="{points} more points reach grade {grade}",
)
_define(
    "capped",
    zh="有服务员被列入失信名单：等级最高为 {cap}（得分 {score}）",
    en="a worker was put on the blacklist: the grade is at best {cap} (score {score})",
)
_define(
    "not_graded",
    zh="暂无在册服务员：不评级",
    en="no registered worker yet: not graded",
)
_define(
    "grade.summary",
    zh="{grade} 级：得分 {score}（A ≥ 85，B ≥ 70，C ≥ 55，其余 D）",
    en="grade {grade}: score {score} (A ≥ 85, B ≥ 70, C ≥ 55, else D)",
)


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _points(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Inputs:
    """The figures of one enterprise on one day that its grade is computed from."""

    registered: int = 0
    holding: int = 0
    displayed: int = 0
    lapsed: int = 0
    visits: int = 0
    complaints: int = 0
    resolved_in_time: int = 0
    resolved: int = 0
    resolution_days_total: float = 0.0
    ratings: int = 0
    rating_weight: float = 0.0
    rating_weighted_sum: float = 0.0
    misconduct: int = 0
    blacklisted: int = 0

    @property
    def rating_average(self) -> float | None:
        return self.rating_weighted_sum / self.rating_weight if self.rating_weight else None

    @property
    def complaint_rate(self) -> float:
        """Complaints per 100 confirmed visits (a complaint is bound to a visit)."""
        visits = max(self.visits, self.complaints)
        return 100.0 * self.complaints / visits if visits else 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inputs:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Part:
    """One input's contribution: its points (negative for a deduction) out of ``weight``, the
    figure it was computed from, and what would raise it (None when it is at its best)."""

    key: str
    points: float
    weight: int
    figure: Message
    advice: Message | None = None
    gain: float = 0.0

    @property
    def label(self) -> Message:
        return CREDIT(f"part.{self.key}")

    @property
    def deduction(self) -> bool:
        return self.key in PENALTIES


@dataclass(frozen=True)
class Grade:
    """An enterprise's grade and the whole of its reasons."""

    grade: str
    score: int | None
    parts: tuple[Part, ...] = ()
    summary: Message | None = None
    cap: Message | None = None
    next_step: Message | None = None

    @property
    def graded(self) -> bool:
        return self.score is not None

    @property
    def advice(self) -> list[Part]:
        """The inputs that could add points, the largest gain first (what would raise it)."""
        return sorted((p for p in self.parts if p.advice is not None), key=lambda p: -p.gain)


def letter(score: float) -> str:
    for name, lowest in THRESHOLDS:
        if score >= lowest:
            return name
    return "D"


def _positive(inputs: Inputs) -> list[Part]:
    w = WEIGHTS
    r = inputs.registered
    parts: list[Part] = []
    holding_rate = inputs.holding / r
    points = w["holding"] * holding_rate
    missing = r - inputs.holding
    parts.append(
        Part(
            "holding",
            points,
            w["holding"],
            CREDIT("figure.holding", holding=inputs.holding, registered=r, rate=_percent(holding_rate)),
            CREDIT("advice.holding", missing=missing, gain=_points(w["holding"] - points))
            if missing
            else None,
            w["holding"] - points,
        )
    )
    display_rate = inputs.displayed / r
    points = w["display"] * display_rate
    missing = r - inputs.displayed
    parts.append(
        Part(
            "display",
            points,
            w["display"],
            CREDIT(
                "figure.display",
                displayed=inputs.displayed,
                registered=r,
                rate=_percent(display_rate),
                days=DISPLAY_DAYS,
            ),
            CREDIT("advice.display", missing=missing, days=DISPLAY_DAYS, gain=_points(w["display"] - points))
            if missing
            else None,
            w["display"] - points,
        )
    )
    rate = inputs.complaint_rate
    points = w["complaints"] * max(0.0, 1.0 - rate / COMPLAINT_RATE_ZERO)
    figure = (
        CREDIT(
            "figure.complaints",
            complaints=inputs.complaints,
            visits=inputs.visits,
            rate=_points(rate),
            days=COMPLAINT_DAYS,
        )
        if inputs.complaints
        else CREDIT("figure.complaints_none", days=COMPLAINT_DAYS)
    )
    gain = w["complaints"] - points
    parts.append(
        Part(
            "complaints",
            points,
            w["complaints"],
            figure,
            CREDIT("advice.complaints", zero=_points(COMPLAINT_RATE_ZERO), gain=_points(gain))
            if gain > 0
            else None,
            gain,
        )
    )
    if inputs.complaints:
        share = inputs.resolved_in_time / inputs.complaints
        points = w["resolution"] * share
        figure = (
            CREDIT(
                "figure.resolution",
                complaints=inputs.complaints,
                in_time=inputs.resolved_in_time,
                limit=RESOLVE_DAYS,
                average=_points(inputs.resolution_days_total / inputs.resolved),
            )
            if inputs.resolved
            else CREDIT(
                "figure.resolution_open",
                complaints=inputs.complaints,
                in_time=inputs.resolved_in_time,
                limit=RESOLVE_DAYS,
            )
        )
    else:
        points, figure = float(w["resolution"]), CREDIT("figure.resolution_none")
    late = inputs.complaints - inputs.resolved_in_time
    gain = w["resolution"] - points
    parts.append(
        Part(
            "resolution",
            points,
            w["resolution"],
            figure,
            CREDIT("advice.resolution", limit=RESOLVE_DAYS, late=late, gain=_points(gain)) if late else None,
            gain,
        )
    )
    average = inputs.rating_average
    if average is None:
        points = w["ratings"] / 2
        figure = CREDIT("figure.ratings_none", days=RATING_DAYS)
        advice: Message | None = CREDIT("advice.ratings_none", gain=_points(w["ratings"] - points))
    else:
        points = w["ratings"] * (average - 1.0) / 4.0
        figure = CREDIT(
            "figure.ratings", count=inputs.ratings, average=_points(round(average, 2)), days=RATING_DAYS
        )
        advice = (
            CREDIT("advice.ratings", average=_points(round(average, 2)), gain=_points(w["ratings"] - points))
            if average < 5
            else None
        )
    parts.append(Part("ratings", points, w["ratings"], figure, advice, w["ratings"] - points))
    points = w["certificates"] * (1.0 - inputs.lapsed / r)
    gain = w["certificates"] - points
    parts.append(
        Part(
            "certificates",
            points,
            w["certificates"],
            CREDIT("figure.certificates", lapsed=inputs.lapsed, registered=r),
            CREDIT("advice.certificates", lapsed=inputs.lapsed, gain=_points(gain))
            if inputs.lapsed
            else None,
            gain,
        )
    )
    return parts


def _deductions(inputs: Inputs) -> list[Part]:
    parts = []
    for key, count in (("misconduct", inputs.misconduct), ("blacklisted", inputs.blacklisted)):
        if not count:
            continue
        each, most = PENALTIES[key]
        points = -float(min(count * each, most))
        figure = CREDIT(
            f"figure.{key}", count=count, days=PENALTY_DAYS, each=each, most=most, cap=BLACKLIST_CAP
        )
        parts.append(Part(key, points, most, figure, CREDIT("advice.penalty", days=PENALTY_DAYS), 0.0))
    return parts


def grade_of(inputs: Inputs) -> Grade:
    """The grade the model (docs/credit.md) gives these inputs, with every reason."""
    if inputs.registered <= 0:
        return Grade(NOT_GRADED, None, summary=CREDIT("not_graded"))
    parts = _positive(inputs) + _deductions(inputs)
    score = max(0, min(100, math.floor(sum(p.points for p in parts) + 0.5)))  # half up
    name = letter(score)
    cap = None
    if inputs.blacklisted and name < BLACKLIST_CAP:
        name = BLACKLIST_CAP
        cap = CREDIT("capped", cap=BLACKLIST_CAP, score=score)
    next_step = None
    better = [(g, lowest) for g, lowest in THRESHOLDS if g < name]
    if better and cap is None:
        target, lowest = better[-1]
        next_step = CREDIT("next_grade", points=lowest - score, grade=target)
    return Grade(name, score, tuple(parts), CREDIT("grade.summary", grade=name, score=score), cap, next_step)


# -- gathering the inputs ------------------------------------------------------------------------

# Columns added to these models after their classes (migration 0003), read from their tables.
_VISIT: Any = Visit.__table__.c
_COMPLAINT: Any = Complaint.__table__.c
_RATING: Any = Rating.__table__.c


def _start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=fmt.CHINA_TZ)


def gather(ctx: Context, day: date, enterprise_ids: Iterable[int] | None = None) -> dict[int, Inputs]:
    """Every enterprise's inputs on ``day`` (grouped queries over the issuer's rows)."""
    issuer = ctx.issuer_id
    until = _start(day + timedelta(days=1))
    figures = stats.compute(ctx.store, issuer, day, period_days=DISPLAY_DAYS)
    values: dict[int, dict[str, Any]] = {}
    with ctx.store.read() as session:
        query = select(Enterprise.id).where(Enterprise.issuer_id == issuer)
        if enterprise_ids is not None:
            query = query.where(Enterprise.id.in_(list(enterprise_ids)))
        for (enterprise,) in session.execute(query):
            f = figures.get(int(enterprise), stats.Figures())
            values[int(enterprise)] = {
                "registered": f.registered,
                "holding": f.holding,
                "displayed": f.displayed,
                "lapsed": f.lapsed,
            }
        since = _start(day - timedelta(days=COMPLAINT_DAYS - 1))
        visits = session.execute(
            select(_VISIT.enterprise_id, func.count())
            .where(Visit.confirmed_at >= since, Visit.confirmed_at < until)
            .group_by(_VISIT.enterprise_id)
        )
        for enterprise, count in visits:
            if int(enterprise) in values:
                values[int(enterprise)]["visits"] = int(count)
        complaints = session.execute(
            select(_COMPLAINT.enterprise_id, _COMPLAINT.filed_at, _COMPLAINT.resolved_at).where(
                _COMPLAINT.filed_at >= since,
                _COMPLAINT.filed_at < until,
                _COMPLAINT.enterprise_id.is_not(None),
            )
        )
        for enterprise, filed, resolved in complaints:
            row = values.get(int(enterprise))
            if row is None:
                continue
            row["complaints"] = row.get("complaints", 0) + 1
            if resolved is not None and resolved < until:
                taken = (resolved - filed).total_seconds() / 86400
                row["resolved"] = row.get("resolved", 0) + 1
                row["resolution_days_total"] = row.get("resolution_days_total", 0.0) + round(taken, 2)
                if taken <= RESOLVE_DAYS:
                    row["resolved_in_time"] = row.get("resolved_in_time", 0) + 1
        rated_since = _start(day - timedelta(days=RATING_DAYS - 1))
        # The rating rule's own verdict and weight (services/rating_rule.py), as the public
        # average reads them: a rating it does not count (a photo's, repeated) moves no grade.
        ratings = session.execute(
            select(
                _RATING.enterprise_id,
                func.count(),
                func.sum(_RATING.weight),
                func.sum(_RATING.weight * Rating.score),
            )
            .where(
                Rating.source == "consumer",
                _RATING.counted.is_(True),
                Rating.created_at >= rated_since,
                Rating.created_at < until,
                _RATING.enterprise_id.is_not(None),
            )
            .group_by(_RATING.enterprise_id)
        )
        for enterprise, count, weights, weighted in ratings:
            row = values.get(int(enterprise))
            if row is None:
                continue
            row["ratings"] = int(count)
            row["rating_weight"] = float(weights or 0)
            row["rating_weighted_sum"] = float(weighted or 0)
        penalty_since = _start(day - timedelta(days=PENALTY_DAYS - 1))
        revoked = session.execute(
            select(
                Credential.enterprise_id,
                Credential.revocation_reason,
                func.count(func.distinct(Credential.worker_id)),
            )
            .where(
                Credential.issuer_id == issuer,
                Credential.subject_kind == "worker",
                Credential.status == "revoked",
                Credential.revocation_reason.in_(("misconduct", "blacklisted")),
                Credential.revoked_at >= penalty_since,
                Credential.revoked_at < until,
            )
            .group_by(Credential.enterprise_id, Credential.revocation_reason)
        )
        for enterprise, reason, count in revoked:
            row = values.get(int(enterprise))
            if row is not None:
                row[str(reason)] = int(count)
    return {enterprise: Inputs(**row) for enterprise, row in values.items()}


# -- the public directory ------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """One enterprise as the public directory shows it."""

    id: int
    name: str
    credit_code: str
    district: str
    categories: int
    star_level: int | None
    inputs: Inputs
    grade: Grade
    red_since: datetime | None = None

    @property
    def district_name(self) -> tuple[str, str] | None:
        return DISTRICTS.get(self.district)

    def to_json(self) -> dict[str, Any]:
        g = self.grade
        return {
            "id": self.id,
            "name": self.name,
            "credit_code": self.credit_code,
            "district": self.district,
            "categories": sorted(c.value for c in fmt.categories_from_bits(self.categories)),
            "star_level_stated_by_enterprise": self.star_level,
            "grade": g.grade,
            "score": g.score,
            "inputs": self.inputs.to_json(),
            "parts": [
                {"key": p.key, "points": round(p.points, 2), "weight": p.weight, "figure": p.figure.to_json()}
                for p in g.parts
            ],
            "red_list_since": self.red_since.isoformat() if self.red_since else None,
        }


@dataclass
class _Snapshot:
    at: float
    computed: datetime
    listings: dict[int, Listing] = field(default_factory=dict)


class Credit:
    """Grades, their history, the red list and the public directory of one issuer."""

    def __init__(self, ctx: Context, *, seconds: float = PUBLIC_SECONDS) -> None:
        self.ctx = ctx
        self.seconds = seconds
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        #: How many times the directory was computed (tests check the minute's cache).
        self.computations = 0

    # -- grades ------------------------------------------------------------------------------

    def grades(self, day: date) -> dict[int, tuple[Inputs, Grade]]:
        return {e: (i, grade_of(i)) for e, i in gather(self.ctx, day).items()}

    def keep(self, unit: Unit, day: date, grades: dict[int, tuple[Inputs, Grade]]) -> None:
        """Replace the day's kept grades by ``grades`` (the daily job may run twice a day)."""
        unit.session.execute(delete(CreditGrade).where(CreditGrade.day == day))
        rows = [
            {
                "enterprise_id": enterprise,
                "day": day,
                "model": MODEL_VERSION,
                "score": grade.score,
                "grade": grade.grade,
                "inputs": json.dumps(inputs.to_json(), sort_keys=True),
                "created_at": datetime.now(UTC),
            }
            for enterprise, (inputs, grade) in sorted(grades.items())
        ]
        if rows:
            unit.session.execute(insert(CreditGrade), rows)

    def history(self, enterprise_id: int, *, days: int = 365) -> list[tuple[date, str, int | None]]:
        """(day, grade, score) the daily job kept, oldest first."""
        with self.ctx.store.read() as session:
            rows = session.execute(
                select(CreditGrade.day, CreditGrade.grade, CreditGrade.score)
                .where(CreditGrade.enterprise_id == enterprise_id)
                .order_by(CreditGrade.day.desc())
                .limit(days)
            ).all()
        return [(d, str(g), s) for d, g, s in reversed(rows)]

    # -- the red list ------------------------------------------------------------------------

    def red_list(self, *, active_only: bool = True) -> list[tuple[RedListEntry, str]]:
        """(entry, enterprise name), newest first: public (the red list is published)."""
        query = select(RedListEntry, Enterprise.name).join(
            Enterprise, Enterprise.id == RedListEntry.enterprise_id
        )
        query = query.where(Enterprise.issuer_id == self.ctx.issuer_id)
        if active_only:
            query = query.where(RedListEntry.removed_at.is_(None))
        with self.ctx.store.read() as session:
            rows = session.execute(query.order_by(RedListEntry.added_at.desc(), RedListEntry.id.desc())).all()
            for entry, _name in rows:
                session.expunge(entry)
        return [(entry, str(name)) for entry, name in rows]

    def red_add(self, unit: Unit, who: Principal, data: dict[str, Any]) -> RedListEntry:
        """Put an enterprise on the red list (regulator or issuer admin), audited."""
        self.ctx.scope(who).require(*RED_LISTERS)
        errors: dict[str, tuple[str, str]] = {}
        try:
            enterprise_id = int(data.get("enterprise_id") or 0)
        except (TypeError, ValueError):
            enterprise_id = 0
        reason = str(data.get("reason") or "").strip()
        evidence = str(data.get("evidence_ref") or "").strip()
        if not reason:
            errors["reason"] = ("必填：列入原因", "required: why the enterprise is listed")
        if not evidence:
            errors["evidence_ref"] = ("必填：依据的决定或文号", "required: the decision it rests on")
        enterprise = unit.session.get(Enterprise, enterprise_id) if enterprise_id else None
        if enterprise is None or enterprise.issuer_id != self.ctx.issuer_id:
            errors["enterprise_id"] = ("请选择一家企业", "choose an enterprise")
        if errors:
            raise ValidationFailed(errors)
        listed = unit.session.execute(
            select(RedListEntry.id).where(
                RedListEntry.enterprise_id == enterprise_id, RedListEntry.removed_at.is_(None)
            )
        ).first()
        if listed is not None:
            raise Conflict("the enterprise is already on the red list", message_zh="该企业已在诚信企业名单上")
        entry = RedListEntry(
            enterprise_id=enterprise_id, reason=reason[:500], evidence_ref=evidence[:256], added_by=who.actor
        )
        unit.session.add(entry)
        unit.session.flush()
        unit.record(who, "redlist.add", "red_list", entry.id, enterprise_id=enterprise_id)
        self._snapshot = None
        return entry

    def red_remove(self, unit: Unit, who: Principal, entry_id: int, reason: str) -> RedListEntry:
        """Take an enterprise off the red list (the row stays, with the date), audited."""
        self.ctx.scope(who).require(*RED_LISTERS)
        entry = unit.session.get(RedListEntry, entry_id, with_for_update=True)
        if entry is None or entry.removed_at is not None:
            raise not_found("red list entry", "诚信企业名单记录")
        if not reason.strip():
            raise ValidationFailed({"reason": ("必填：移出原因", "required: why it is removed")})
        entry.removed_at = datetime.now(UTC)
        entry.removed_by = who.actor
        entry.removal_reason = reason.strip()[:500]
        unit.record(who, "redlist.remove", "red_list", entry.id, enterprise_id=entry.enterprise_id)
        self._snapshot = None
        return entry

    def blacklist_public(self, *, limit: int = 200) -> list[BlacklistEntry]:
        """The blacklist as the public sees it: masked identity numbers and dates, newest first."""
        with self.ctx.store.read() as session:
            rows = list(
                session.execute(
                    select(BlacklistEntry)
                    .order_by(BlacklistEntry.added_at.desc(), BlacklistEntry.id.desc())
                    .limit(limit)
                ).scalars()
            )
            for row in rows:
                session.expunge(row)
        return rows

    # -- the directory -----------------------------------------------------------------------

    def directory(self, today: date) -> tuple[datetime, dict[int, Listing]]:
        """Every enterprise of the issuer as the public sees it, computed at most once every
        :attr:`seconds` per process; (when computed, listings by id)."""
        now = time.monotonic()
        with self._lock:
            snap = self._snapshot
            if snap is not None and now - snap.at < self.seconds:
                return snap.computed, snap.listings
            snap = _Snapshot(now, datetime.now(fmt.CHINA_TZ), self._listings(today))
            self.computations += 1
            self._snapshot = snap
        return snap.computed, snap.listings

    def _listings(self, today: date) -> dict[int, Listing]:
        inputs = gather(self.ctx, today)
        with self.ctx.store.read() as session:
            enterprises = session.execute(
                select(Enterprise.id, Enterprise.name, Enterprise.credit_code, Enterprise.star_level)
                .where(Enterprise.issuer_id == self.ctx.issuer_id, Enterprise.status == "active")
                .order_by(Enterprise.name, Enterprise.id)
            ).all()
            categories: dict[int, int] = {}
            for enterprise, bits in session.execute(
                select(Worker.enterprise_id, Worker.categories)
                .where(Worker.issuer_id == self.ctx.issuer_id, Worker.status == "active")
                .distinct()
            ):
                categories[int(enterprise)] = categories.get(int(enterprise), 0) | int(bits or 0)
            red = dict(
                session.execute(
                    select(RedListEntry.enterprise_id, RedListEntry.added_at).where(
                        RedListEntry.removed_at.is_(None)
                    )
                ).all()
            )
        return {
            int(e): Listing(
                int(e),
                str(name),
                str(code),
                district_of(str(code)),
                categories.get(int(e), 0),
                star,
                inputs.get(int(e), Inputs()),
                grade_of(inputs.get(int(e), Inputs())),
                red.get(int(e)),
            )
            for e, name, code, star in enterprises
        }

    def search(self, today: date, query: str = "", district: str = "") -> list[Listing]:
        """The directory filtered by a name or credit-code fragment and a district, best grade first."""
        _at, listings = self.directory(today)
        text = query.strip().lower()
        found = [
            item
            for item in listings.values()
            if (not text or text in item.name.lower() or text in item.credit_code.lower())
            and (not district or item.district == district)
        ]
        return sorted(found, key=lambda i: (i.grade.score is None, -(i.grade.score or 0), i.name))

    def compare(self, today: date, raw: str) -> list[Listing]:
        """The listed enterprises of ``ids=ID,ID,ID`` (at most three), in the order asked;
        :class:`ValidationFailed` or a 404 (bilingual) otherwise."""
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if not parts:
            raise ValidationFailed(
                {
                    "ids": (
                        "请给出要比较的企业编号，如 ids=1,2,3",
                        "give the enterprises to compare, as ids=1,2,3",
                    )
                }
            )
        if len(parts) > COMPARE_MAX:
            raise ValidationFailed(
                {
                    "ids": (
                        f"最多同时比较 {COMPARE_MAX} 家企业",
                        f"compare at most {COMPARE_MAX} enterprises at once",
                    )
                }
            )
        try:
            ids = [int(p) for p in parts]
        except ValueError:
            raise ValidationFailed(
                {"ids": ("企业编号应为数字，以逗号分隔", "ids are numbers separated by commas")}
            ) from None
        if len(set(ids)) != len(ids):
            raise ValidationFailed({"ids": ("同一家企业只能出现一次", "name each enterprise once")})
        _at, listings = self.directory(today)
        unknown = [i for i in ids if i not in listings]
        if unknown:
            names = ", ".join(str(i) for i in unknown)
            raise not_found(f"enterprise {names}", f"企业 {names}")
        return [listings[i] for i in ids]

    def districts(self, today: date) -> list[str]:
        _at, listings = self.directory(today)
        return sorted({item.district for item in listings.values()})


__all__ = [
    "COMPARE_MAX",
    "CREDIT",
    "MODEL_VERSION",
    "THRESHOLDS",
    "WEIGHTS",
    "Credit",
    "Grade",
    "Inputs",
    "Listing",
    "Part",
    "gather",
    "grade_of",
    "letter",
]
