"""The regulator's figures: 持证率 (holding rate) and 亮证率 (display rate), per enterprise and
for the city, today and over time.

Definitions (docs/consoles.md):

* registered — workers whose status is ``active`` (not left, not blacklisted);
* holding — of those, the ones with a credential that is ``active`` (not suspended, not
  revoked) and valid on the day (issued on or before it, expiring after it); a yellow
  安心码 (attention) still counts: the credential is valid, a certificate is what lapsed;
* displayed — of the registered, the ones whose code was looked up online (``scan_counts``,
  kept per worker and day without recording who scanned) or whose visit was confirmed
  (确认入户, ``visits``) at least once in the ``period`` days up to and including the day.

holding rate = holding / registered; display rate = displayed / registered.

History: ``anxinma jobs daily`` writes each enterprise's figures of the day into
``daily_stats`` (:func:`snapshot`); the charts read those rows (an index range of the days)
and add today's figure computed live. Live figures are three grouped queries over the
workers (index scans; docs/benchmarks.md gives their time at 60,000 workers), so the
dashboard keeps them for :data:`LIVE_SECONDS` and offers a refresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, union
from sqlalchemy.orm import Session

from anxinma import credential as fmt
from anxinma.issuer.store.db import Store
from anxinma.issuer.store.models import Credential, DailyStat, Enterprise, ScanCount, Visit, Worker

#: The window of the display rate, in days, unless a page asks for another.
PERIOD_DAYS = 30
#: The windows the dashboard offers; the daily job keeps the history of each.
PERIODS = (7, 30, 90)
#: Credentials expiring within this many days are "expiring soon".
EXPIRING_DAYS = 30
#: How long a live figure is reused before it is computed again.
LIVE_SECONDS = 60.0


@dataclass(frozen=True)
class Figures:
    """One enterprise's (or the city's) counts on a day."""

    registered: int = 0
    holding: int = 0
    displayed: int = 0
    lapsed: int = 0
    expiring: int = 0

    @property
    def holding_rate(self) -> float | None:
        return self.holding / self.registered if self.registered else None

    @property
    def display_rate(self) -> float | None:
        return self.displayed / self.registered if self.registered else None

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.registered + other.registered,
            self.holding + other.holding,
            self.displayed + other.displayed,
            self.lapsed + other.lapsed,
            self.expiring + other.expiring,
        )


def total(figures: Iterable[Figures]) -> Figures:
    result = Figures()
    for item in figures:
        result = result + item
    return result


@dataclass(frozen=True)
class DistrictRow:
    """One district's (区县) sums on the city dashboard: its enterprises' figures and loop counts."""

    code: str
    enterprises: int
    figures: Figures
    checked_in: int
    open_complaints: int


def by_district(
    figures: dict[int, Figures],
    districts: dict[int, str],
    checked_in: dict[int, int],
    open_complaints: dict[int, int],
) -> list[DistrictRow]:
    """The per-enterprise figures summed per district (``districts``: each enterprise's code;
    an enterprise without figures today counts as one with none), by code."""
    members: dict[str, list[int]] = {}
    for enterprise, code in districts.items():
        members.setdefault(code, []).append(enterprise)
    return [
        DistrictRow(
            code,
            len(ids),
            total(figures.get(i, Figures()) for i in ids),
            sum(checked_in.get(i, 0) for i in ids),
            sum(open_complaints.get(i, 0) for i in ids),
        )
        for code, ids in sorted(members.items())
    ]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, clock(0), tzinfo=fmt.CHINA_TZ)


def lapsed_condition(day: date) -> Any:
    """A worker counted under "health certificate lapsed" on ``day`` (the tile and its list)."""
    return and_(
        Worker.attention.is_(True),
        or_(Worker.health_valid_until < day, Worker.health_valid_until.is_(None)),
    )


def expiring_condition(day: date, days: int = EXPIRING_DAYS) -> Any:
    """A credential counted under "expiring within ``days``" on ``day`` (the tile and its list):
    the card credential (a phone credential is renewed by enrolling the phone again)."""
    return and_(
        Credential.status == "active",
        Credential.form == "card",
        Credential.expires_on > day,
        Credential.expires_on <= day + timedelta(days=days),
    )


def compute(
    store: Store,
    issuer_id: int,
    day: date,
    *,
    period_days: int = PERIOD_DAYS,
    enterprise_id: int | None = None,
) -> dict[int, Figures]:
    """Each enterprise's figures on ``day`` (only enterprises with workers appear)."""
    since = day - timedelta(days=period_days - 1)
    active = and_(Worker.issuer_id == issuer_id, Worker.status == "active")
    if enterprise_id is not None:
        active = and_(active, Worker.enterprise_id == enterprise_id)
    # One set of the workers seen in the window (scanned, or a confirmed visit), joined once:
    # a hash semi-join, where a correlated EXISTS per worker makes PostgreSQL's planner expect
    # a cost that switches its JIT on (seconds of compiling for a 60 ms query).
    seen = union(
        select(ScanCount.worker_id).where(ScanCount.day >= since, ScanCount.day <= day),
        select(Visit.worker_id).where(
            Visit.confirmed_at >= _day_start(since), Visit.confirmed_at < _day_start(day + timedelta(days=1))
        ),
    )
    lapsed = lapsed_condition(day)
    group = Worker.enterprise_id
    queries = {
        "registered": select(group, func.count()).where(active).group_by(group),
        # A worker with a card and a phone credential holds a code once (count the workers).
        "holding": select(group, func.count(func.distinct(Worker.id)))
        .join(Credential, Credential.worker_id == Worker.id)
        .where(
            active,
            Credential.status == "active",
            Credential.issued_on <= day,
            Credential.expires_on > day,
        )
        .group_by(group),
        "displayed": select(group, func.count()).where(active, Worker.id.in_(seen)).group_by(group),
        "lapsed": select(group, func.count()).where(active, lapsed).group_by(group),
        "expiring": select(group, func.count(func.distinct(Worker.id)))
        .join(Credential, Credential.worker_id == Worker.id)
        .where(active, expiring_condition(day))
        .group_by(group),
    }
    counts: dict[int, dict[str, int]] = {}
    with store.read() as session:
        for name, query in queries.items():
            for enterprise, number in session.execute(query):
                counts.setdefault(int(enterprise), {})[name] = int(number)
    return {enterprise: Figures(**values) for enterprise, values in counts.items()}


def day_rows(
    store: Store, issuer_id: int, day: date, periods: tuple[int, ...] = PERIODS
) -> tuple[list[dict[str, Any]], int]:
    """The ``daily_stats`` rows of ``day`` (one per enterprise and display-rate window) and
    the number of enterprises they cover."""
    rows = []
    enterprises: set[int] = set()
    for period in periods:
        for enterprise, f in compute(store, issuer_id, day, period_days=period).items():
            enterprises.add(enterprise)
            rows.append(
                {
                    "day": day,
                    "period_days": period,
                    "enterprise_id": enterprise,
                    "registered": f.registered,
                    "holding": f.holding,
                    "displayed": f.displayed,
                }
            )
    return rows, len(enterprises)


def keep(session: Session, day: date, periods: tuple[int, ...], rows: list[dict[str, Any]]) -> None:
    """Replace the day's figures by ``rows`` (so the job may run twice a day)."""
    session.execute(delete(DailyStat).where(DailyStat.day == day, DailyStat.period_days.in_(periods)))
    if rows:
        session.execute(insert(DailyStat), rows)


def snapshot(store: Store, issuer_id: int, day: date, *, periods: tuple[int, ...] = PERIODS) -> int:
    """Compute and keep the day's figures in one go; returns the number of enterprises. The
    daily job keeps them through :meth:`~anxinma.issuer.services.daily.Daily.snapshot`, which
    audits the run; this is the same write for fixtures and benchmarks that seed a history."""
    rows, count = day_rows(store, issuer_id, day, periods)
    with store.write() as session:
        keep(session, day, periods, rows)
    return count


@dataclass(frozen=True)
class Point:
    day: date
    figures: Figures
    live: bool = False


def history(
    store: Store,
    since: date,
    until: date,
    *,
    period_days: int = PERIOD_DAYS,
    enterprise_id: int | None = None,
    enterprise_ids: Collection[int] | None = None,
) -> list[Point]:
    """The city's (or one enterprise's, or the sum of ``enterprise_ids``': a district's)
    snapshot figures per day from ``since`` to ``until``."""
    query = select(
        DailyStat.day,
        func.sum(DailyStat.registered),
        func.sum(DailyStat.holding),
        func.sum(DailyStat.displayed),
    ).where(DailyStat.period_days == period_days, DailyStat.day >= since, DailyStat.day <= until)
    if enterprise_id is not None:
        query = query.where(DailyStat.enterprise_id == enterprise_id)
    if enterprise_ids is not None:
        query = query.where(DailyStat.enterprise_id.in_(list(enterprise_ids)))
    with store.read() as session:
        rows = session.execute(query.group_by(DailyStat.day).order_by(DailyStat.day)).all()
    return [Point(day, Figures(int(r or 0), int(h or 0), int(d or 0))) for day, r, h, d in rows]


def enterprise_names(store: Store, issuer_id: int) -> dict[int, str]:
    with store.read() as session:
        return dict(
            session.execute(
                select(Enterprise.id, Enterprise.name).where(Enterprise.issuer_id == issuer_id)
            ).all()
        )


class LiveFigures:
    """Today's figures, computed at most every :data:`LIVE_SECONDS` per (day, period, scope)."""

    def __init__(
        self,
        store: Store,
        issuer_id: int,
        *,
        flush: Callable[[], None] | None = None,
        seconds: float = LIVE_SECONDS,
    ) -> None:
        self.store = store
        self.issuer_id = issuer_id
        self.flush = flush  # the scan counter's buffer, written before figures are computed
        self.seconds = seconds
        self._cache: dict[tuple[Any, ...], tuple[float, datetime, dict[int, Figures]]] = {}
        self._lock = threading.Lock()

    def get(self, day: date, period_days: int, *, fresh: bool = False) -> tuple[datetime, dict[int, Figures]]:
        """(when computed, each enterprise's figures)."""
        key = (day, period_days)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and not fresh and now - cached[0] < self.seconds:
            return cached[1], cached[2]
        if self.flush is not None:
            self.flush()
        figures = compute(self.store, self.issuer_id, day, period_days=period_days)
        stamp = datetime.now(fmt.CHINA_TZ)
        with self._lock:
            self._cache[key] = (now, stamp, figures)
            if len(self._cache) > 32:
                self._cache.pop(next(iter(self._cache)))
        return stamp, figures
