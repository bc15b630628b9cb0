"""The regulator's watch lists: credentials about to expire and workers whose health
certificate or insurance lapsed, page by page or whole (a CSV export), under the caller's
scope. The conditions are the dashboard's tiles' (:mod:`anxinma.issuer.services.stats`), so a
list counts what its tile counts."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from anxinma.issuer.services import stats
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context
from anxinma.issuer.store.models import Credential, Enterprise, Worker

WATCHERS = (Role.REGULATOR, Role.ISSUER_ADMIN)


class Watchlists:
    """The watch lists of one issuer."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def expiring(self, who: Principal, today: date, days: int) -> Any:
        """(serial, expires_on, card_uid, worker id, name, enterprise id, name) of the live
        credentials of active workers that expire within ``days``, soonest first."""
        scope = self.ctx.scope(who).require(*WATCHERS)
        return scope.filter(
            select(
                Credential.serial,
                Credential.expires_on,
                Credential.card_uid,
                Worker.id,
                Worker.name,
                Enterprise.id,
                Enterprise.name,
            )
            .join(Worker, Worker.id == Credential.worker_id)
            .join(Enterprise, Enterprise.id == Credential.enterprise_id)
            .where(Worker.status == "active", stats.expiring_condition(today, days))  # as the tile counts
            .order_by(Credential.expires_on, Credential.serial),
            Credential,
        )

    def lapsed(self, who: Principal, today: date) -> Any:
        """(worker id, name, health until, insurance until, enterprise id, name) of active
        workers with a lapsed certificate or insurance, the longest lapsed first."""
        scope = self.ctx.scope(who).require(*WATCHERS)
        return scope.filter(
            select(
                Worker.id,
                Worker.name,
                Worker.health_valid_until,
                Worker.insurance_valid_until,
                Enterprise.id,
                Enterprise.name,
            )
            .join(Enterprise, Enterprise.id == Worker.enterprise_id)
            .where(Worker.status == "active", stats.lapsed_condition(today))
            .order_by(Worker.health_valid_until, Worker.id),
            Worker,
        )

    def page(self, query: Any, number: int, per_page: int) -> tuple[list[Any], bool, int]:
        """One page of a list: (rows, whether more follow, how many in all)."""
        with self.ctx.store.read() as session:
            rows = session.execute(query.offset((number - 1) * per_page).limit(per_page + 1)).all()
            count = session.execute(
                select(func.count()).select_from(query.order_by(None).subquery())
            ).scalar_one()
        return list(rows[:per_page]), len(rows) > per_page, int(count)

    def rows(self, query: Any) -> list[Any]:
        """The whole list (a CSV export), read in batches of 1,000."""
        with self.ctx.store.read() as session:
            return list(session.execute(query.execution_options(yield_per=1000)))


__all__ = ["WATCHERS", "Watchlists"]
