"""Enterprises (家政企业) of this issuer: registering one, listing and reading them under
the caller's scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from anxinma.issuer.errors import Conflict, ValidationFailed
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.context import Context, Unit
from anxinma.issuer.services.scope import READERS
from anxinma.issuer.services.validation import normalise_credit_code, normalise_org_name, parse_star_level
from anxinma.issuer.store.models import Enterprise


class Enterprises:
    """The enterprises of one issuer."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def create(self, unit: Unit, principal: Principal, data: dict[str, Any]) -> Enterprise:
        self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        errors: dict[str, tuple[str, str]] = {}
        values: dict[str, Any] = {}
        for name, parse in (
            ("name", normalise_org_name),
            ("credit_code", normalise_credit_code),
            ("star_level", parse_star_level),
        ):
            if name not in data:
                if name != "star_level":
                    errors[name] = ("必填", "required")
                continue
            try:
                values[name] = parse(data[name])
            except ValueError as exc:
                errors[name] = (exc.args[0], exc.args[-1])
        for name in data:
            if name not in ("name", "credit_code", "star_level"):
                errors[name] = ("未知字段", "unknown field")
        if errors:
            raise ValidationFailed(errors)
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


__all__ = ["Enterprises"]
