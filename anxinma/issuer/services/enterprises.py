"""Enterprises (家政企业) of this issuer: registering one, listing and reading them under
the caller's scope."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select

from anxinma.issuer.errors import Conflict
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context, Unit
from anxinma.issuer.services.district import district_column
from anxinma.issuer.services.scope import READERS
from anxinma.issuer.services.validation import EnterpriseFields
from anxinma.issuer.store.models import Credential, Enterprise, Worker


class Enterprises:
    """The enterprises of one issuer."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def create(self, unit: Unit, principal: Principal, data: dict[str, Any]) -> Enterprise:
        self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        values = EnterpriseFields.parse(data).model_dump()
        session = unit.session
        if session.execute(
            select(Enterprise.id).where(Enterprise.credit_code == values["credit_code"])
        ).first():
            raise Conflict(
                "an enterprise with this credit code exists", message_zh="该统一社会信用代码的企业已存在"
            )
        enterprise = Enterprise(issuer_id=self.ctx.issuer_id, **values)
        session.add(enterprise)
        session.flush()
        unit.record(principal, "enterprise.create", "enterprise", enterprise.id)
        return enterprise

    def listing(self, principal: Principal, *, after: int = 0, limit: int = 50) -> list[Enterprise]:
        scope = self.ctx.scope(principal).require(*READERS)
        with self.ctx.store.read() as session:
            query = scope.filter(select(Enterprise).where(Enterprise.id > after), Enterprise)
            return list(session.execute(query.order_by(Enterprise.id).limit(limit)).scalars())

    def get(self, principal: Principal, enterprise_id: int) -> Enterprise:
        scope = self.ctx.scope(principal).require(*READERS)
        with self.ctx.store.read() as session:
            return scope.get(session, Enterprise, enterprise_id)

    def choices(self, principal: Principal) -> list[tuple[int, str]]:
        """(id, name) of every enterprise the caller may pick in a filter, by name: two
        columns, no ORM objects (a city has 500, a province thousands)."""
        scope = self.ctx.scope(principal).require(*READERS)
        query = select(Enterprise.id, Enterprise.name).order_by(Enterprise.name, Enterprise.id)
        with self.ctx.store.read() as session:
            return [(int(i), str(n)) for i, n in session.execute(scope.filter(query, Enterprise)).all()]

    def names(self, principal: Principal, ids: Iterable[int] | None = None) -> dict[int, str]:
        """The names of the enterprises the caller may see (of ``ids``, when given), by id."""
        scope = self.ctx.scope(principal).require(*READERS)
        query = select(Enterprise.id, Enterprise.name)
        if ids is not None:
            query = query.where(Enterprise.id.in_(list(ids)))
        with self.ctx.store.read() as session:
            query = scope.filter(query, Enterprise)
            return {int(i): str(n) for i, n in session.execute(query).all()}

    def districts(self, principal: Principal) -> dict[int, str]:
        """The district (区县 division code, :func:`~anxinma.issuer.services.district.district_of`)
        of each enterprise the caller may see, by id: the regulator dashboard's district rows."""
        scope = self.ctx.scope(principal).require(*READERS)
        query = select(Enterprise.id, district_column())
        with self.ctx.store.read() as session:
            return {int(i): str(d) for i, d in session.execute(scope.filter(query, Enterprise)).all()}

    def figures(
        self, principal: Principal, enterprise_ids: Sequence[int]
    ) -> tuple[dict[int, int], dict[int, int]]:
        """(active workers, serial of the live enterprise code) of each listed enterprise the
        caller may see: the admin's enterprise list."""
        scope = self.ctx.scope(principal).require(*READERS)
        ids = list(enterprise_ids)
        with self.ctx.store.read() as session:
            workers = session.execute(
                scope.filter(
                    select(Worker.enterprise_id, func.count())
                    .where(Worker.enterprise_id.in_(ids), Worker.status == "active")
                    .group_by(Worker.enterprise_id),
                    Worker,
                )
            ).all()
            codes = session.execute(
                scope.filter(
                    select(Credential.enterprise_id, Credential.serial).where(
                        Credential.enterprise_id.in_(ids),
                        Credential.subject_kind == "enterprise",
                        Credential.status != "revoked",
                    ),
                    Credential,
                )
            ).all()
        return {int(e): int(n) for e, n in workers}, {int(e): int(s) for e, s in codes}


__all__ = ["Enterprises"]
