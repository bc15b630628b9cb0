"""The rows of the consumer's loop: visits, ratings and complaints, the queries that read them
in the API's JSON shape and the insert that a unique index allows once. The rules about them
(who may rate, when a visit closes) are :mod:`anxinma.issuer.services.visits`'."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from anxinma import credential as fmt
from anxinma.issuer.errors import ApiError, not_found
from anxinma.issuer.store.models import Complaint, Rating, Visit, Worker

visits_t: Table = Visit.__table__  # type: ignore[assignment]
ratings_t: Table = Rating.__table__  # type: ignore[assignment]
complaints_t: Table = Complaint.__table__  # type: ignore[assignment]


#: A visit's own columns, in the order :class:`VisitRow` and the visit listing read them.
VISIT_COLUMNS = (
    visits_t.c.id,
    visits_t.c.credential_serial,
    visits_t.c.worker_id,
    visits_t.c.enterprise_id,
    visits_t.c.confirmed_at,
)


@dataclass(frozen=True)
class VisitRow:
    id: int
    serial: int
    worker_id: int
    enterprise_id: int
    confirmed_at: datetime
    token_hash: str
    verified: bool = False


def visit_row(session: Any, visit_id: int, *, lock: bool = False, conditions: Sequence[Any] = ()) -> VisitRow:
    """The visit, or 404 (also when ``conditions``, a caller's scope, leave it out)."""
    query = select(*VISIT_COLUMNS, visits_t.c.token_hash, visits_t.c.verified).where(
        visits_t.c.id == visit_id, *conditions
    )
    if lock:
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is None:
        raise not_found("visit", "入户记录")
    return VisitRow(int(row[0]), int(row[1]), int(row[2]), int(row[3]), row[4], str(row[5]), bool(row[6]))


def public_summary_columns(worker_id: Any) -> tuple[Any, Any, Any, Any]:
    """Scalar subqueries of a worker's public rating (docs/page.md, the rating rule): the
    counted consumer ratings, the sum of their weights, of weight × score, and how many came
    from verified visits. ``worker_id`` is a column or a bound parameter."""
    c = ratings_t.c
    counted = (c.worker_id == worker_id, c.source == "consumer", c.counted.is_(True))
    return (
        select(func.count(c.id)).where(*counted).scalar_subquery(),
        select(func.sum(c.weight)).where(*counted).scalar_subquery(),
        select(func.sum(c.weight * c.score)).where(*counted).scalar_subquery(),
        select(func.count(c.id)).where(*counted, c.verified.is_(True)).scalar_subquery(),
    )


def public_summary(count: Any, weights: Any, weighted: Any, verified: Any) -> dict[str, Any]:
    """The live record's ``rating``: ``count`` counted ratings, their weighted ``average`` (one
    decimal; None when there are none) and ``verified_count``, those from verified visits."""
    total = int(weights or 0)
    return {
        "count": int(count or 0),
        "average": round(int(weighted or 0) / total, 1) if total else None,
        "verified_count": int(verified or 0),
    }


def consumer_summary(session: Any, worker_id: int) -> dict[str, Any]:
    """The public rating of one worker, as the live record shows it."""
    return public_summary(*session.execute(select(*public_summary_columns(worker_id))).one())


def bound(visit: VisitRow) -> dict[str, Any]:
    """The columns a rating or a complaint copies from its visit."""
    return {
        "worker_id": visit.worker_id,
        "visit_id": visit.id,
        "enterprise_id": visit.enterprise_id,
        "credential_serial": visit.serial,
    }


def insert_once(session: Any, table: Table, values: dict[str, Any], refusal: ApiError) -> int:
    """Insert one row a unique index allows once per visit (and side); ``refusal`` when it is
    there already, also when a concurrent request got there first."""
    try:
        with session.begin_nested():
            return int(session.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())
    except IntegrityError:
        raise refusal from None


def _bound_columns(table: Table) -> tuple[Any, ...]:
    """The columns a rating and a complaint both copy from their visit, after their own id."""
    c = table.c
    return (c.id, c.visit_id, c.worker_id, c.enterprise_id, c.credential_serial)


def rating_query() -> Any:
    return select(
        *_bound_columns(ratings_t),
        ratings_t.c.source,
        ratings_t.c.score,
        ratings_t.c.comment,
        ratings_t.c.created_at,
        ratings_t.c.verified,
        ratings_t.c.counted,
        ratings_t.c.weight,
        ratings_t.c.flag,
    )


def rating_json(session: Any, rating_id: int) -> dict[str, Any]:
    return rating_row(session.execute(rating_query().where(ratings_t.c.id == rating_id)).one())


def rating_row(row: Any) -> dict[str, Any]:
    return {
        "id": int(row[0]),
        "visit_id": row[1],
        "worker_id": int(row[2]),
        "enterprise_id": row[3],
        "credential_serial": row[4],
        "source": row[5],
        "score": int(row[6]),
        "comment": row[7],
        "created_at": row[8].isoformat(),
        "verified": bool(row[9]),
        "counted": bool(row[10]),
        "weight": int(row[11]),
        "flag": row[12],
    }


def complaint_json(session: Any, complaint_id: int) -> dict[str, Any]:
    row = session.execute(complaint_query().where(complaints_t.c.id == complaint_id)).first()
    if row is None:
        raise not_found("complaint", "投诉")
    return complaint_row(row)


def complaint_query() -> Any:
    return select(
        *_bound_columns(complaints_t),
        complaints_t.c.category,
        complaints_t.c.summary,
        complaints_t.c.filed_at,
        complaints_t.c.resolved,
        complaints_t.c.resolved_at,
        complaints_t.c.resolved_by,
        complaints_t.c.resolution,
        Worker.name,
    ).join(Worker, Worker.id == complaints_t.c.worker_id)


def complaint_row(row: Any) -> dict[str, Any]:
    return {
        "id": int(row[0]),
        "visit_id": row[1],
        "worker_id": int(row[2]),
        "worker_display_name": fmt.mask_name(row[12]),
        "enterprise_id": row[3],
        "credential_serial": row[4],
        "category": row[5],
        "summary": row[6],
        "filed_at": row[7].isoformat(),
        "resolved": bool(row[8]),
        "resolved_at": row[9].isoformat() if row[9] is not None else None,
        "resolved_by": row[10],
        "resolution": row[11],
    }


__all__ = [
    "VISIT_COLUMNS",
    "VisitRow",
    "bound",
    "complaint_json",
    "complaint_query",
    "complaint_row",
    "complaints_t",
    "consumer_summary",
    "insert_once",
    "public_summary",
    "public_summary_columns",
    "rating_json",
    "rating_query",
    "rating_row",
    "ratings_t",
    "visit_row",
    "visits_t",
]
