"""The one tenant rule: what a caller may see, as a query filter and as a fetch that answers
"not found".

An enterprise administrator (or a card operator whose token names an enterprise) sees its own
enterprise's rows only; a district regulator (an account naming a district, 区县) sees the
enterprises registered in that district only (:func:`~anxinma.issuer.services.district.district_of`
of their 统一社会信用代码), never the rows of no enterprise; the issuer admin, the city's
regulator and an issuer-wide card operator see every enterprise of this issuer. Every read and write of tenant data goes through a
:class:`Scope`, so the rule is written here once (the Flask tutorial's
``get_post(id, check_author=True)``: the safe way is the only short way):

* ``scope.filter(query, Model, enterprise_id)`` — the rows of ``Model`` the caller may see,
  narrowed to ``enterprise_id`` when asked; another enterprise's listing is empty, never an
  error that confirms the enterprise exists;
* ``scope.get(session, Model, key)`` — one row, or :func:`~anxinma.issuer.errors.not_found`:
  another enterprise's worker looks exactly like no worker;
* ``scope.target(session, enterprise_id)`` — the enterprise a write goes to (one's own; the
  issuer admin names it).

The tables it knows are listed in :data:`TENANT_TABLES` with the column that carries their
enterprise (and their issuer, where they carry one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session

from anxinma.issuer.errors import ValidationFailed, forbidden, not_found
from anxinma.issuer.services.auth import Principal, Role
from anxinma.issuer.services.district import district_column
from anxinma.issuer.store.models import (
    CardBatch,
    CheckIn,
    CodeReport,
    Complaint,
    Credential,
    Enterprise,
    ImportJob,
    Rating,
    Visit,
    Worker,
)

M = TypeVar("M")
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])

#: Roles that read tenant data (every role; a route narrows further where it must).
READERS = (Role.ISSUER_ADMIN, Role.REGULATOR, Role.ENTERPRISE_ADMIN, Role.CARD_OPERATOR)


def _column(model: type, name: str) -> Any:
    """A column added to a model after its class (migration 0003's ``enterprise_id``s)."""
    return model.__table__.c[name]  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TenantTable:
    """How a table belongs to a tenant: its key, its enterprise column, its issuer column (None:
    the issuer is the enterprise's), whether a row without an enterprise is the issuer's own
    (seen by issuer-wide callers only), and how "not found" names it (English, 中文)."""

    key: Any
    enterprise: Any
    issuer: Any
    shared_when_null: bool
    what: tuple[str, str]


TENANT_TABLES: dict[type, TenantTable] = {
    Enterprise: TenantTable(
        Enterprise.id, Enterprise.id, Enterprise.issuer_id, False, ("enterprise", "企业")
    ),
    Worker: TenantTable(Worker.id, Worker.enterprise_id, Worker.issuer_id, False, ("worker", "服务员")),
    Credential: TenantTable(
        Credential.serial, Credential.enterprise_id, Credential.issuer_id, False, ("credential", "安心码")
    ),
    CardBatch: TenantTable(CardBatch.id, CardBatch.enterprise_id, None, True, ("batch", "批次")),
    ImportJob: TenantTable(ImportJob.id, ImportJob.enterprise_id, None, False, ("import", "导入任务")),
    Visit: TenantTable(Visit.id, _column(Visit, "enterprise_id"), None, False, ("visit", "入户记录")),
    Rating: TenantTable(Rating.id, _column(Rating, "enterprise_id"), None, False, ("rating", "评价")),
    Complaint: TenantTable(
        Complaint.id, _column(Complaint, "enterprise_id"), None, False, ("complaint", "投诉")
    ),
    CheckIn: TenantTable(CheckIn.id, CheckIn.enterprise_id, None, False, ("check-in", "打卡记录")),
    # A report of a code that is not one of this issuer's credentials (forged, another
    # issuer's, unreadable) has no enterprise: the regulator's (city-wide callers') only.
    CodeReport: TenantTable(CodeReport.id, CodeReport.enterprise_id, None, True, ("report", "举报")),
}


@dataclass(frozen=True)
class Scope:
    """Who is asking (``principal``) and the issuer whose data this service holds."""

    principal: Principal
    issuer_id: int

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def enterprise_id(self) -> int | None:
        """The one enterprise the caller is confined to; None: every enterprise of the issuer."""
        return self.principal.enterprise_id

    @property
    def district(self) -> str | None:
        """The district the caller is confined to (a district regulator's); None: no district."""
        return self.principal.district

    @property
    def city_wide(self) -> bool:
        """Whether the caller sees many enterprises (the issuer's, or a district's: pages add an
        enterprise filter and column for it), not one enterprise's rows."""
        return self.enterprise_id is None

    def _ours(self) -> Select[Any]:
        """The ids of the enterprises a caller without an enterprise sees: this issuer's, in
        the caller's district when it has one."""
        query = select(Enterprise.id).where(Enterprise.issuer_id == self.issuer_id)
        if self.district is not None:
            query = query.where(district_column() == self.district)
        return query

    def require(self, *roles: Role) -> Scope:
        """This scope, or 403 when the caller's role is not one of ``roles``."""
        if self.principal.role not in roles:
            raise forbidden()
        return self

    def where(self, column: Any, enterprise_id: int | None = None, *, shared: bool = False) -> list[Any]:
        """The conditions on an ``enterprise_id`` ``column``: the caller's enterprise, or this
        issuer's enterprises narrowed to ``enterprise_id``; asking for another enterprise than
        one's own gives a condition that matches nothing. ``shared``: a row without an
        enterprise is the issuer's own (issuer-wide callers see it)."""
        own = self.enterprise_id
        if own is not None:
            return [column == own] if enterprise_id in (None, own) else [false()]
        ours: ColumnElement[bool] = column.in_(self._ours())
        if enterprise_id is not None:
            return [column == enterprise_id, ours]
        return [or_(column.is_(None), ours) if shared and self.district is None else ours]

    def conditions(self, model: type, enterprise_id: int | None = None) -> list[Any]:
        """:meth:`where` for a table of :data:`TENANT_TABLES` (its issuer column too)."""
        table = TENANT_TABLES[model]
        if table.issuer is not None:
            own = self.enterprise_id
            if own is not None and enterprise_id not in (None, own):
                return [false()]
            narrowed = own if own is not None else enterprise_id
            found = [table.issuer == self.issuer_id]
            if self.district is not None and own is None:
                found.append(table.enterprise.in_(self._ours()))
            return found + ([table.enterprise == narrowed] if narrowed is not None else [])
        return self.where(table.enterprise, enterprise_id, shared=table.shared_when_null)

    def filter(self, query: Q, model: type, enterprise_id: int | None = None) -> Q:
        """``query`` narrowed to the rows of ``model`` the caller may see."""
        return query.where(*self.conditions(model, enterprise_id))

    def get(self, session: Session, model: type[M], key: Any, *, lock: bool = False) -> M:
        """The row of ``model`` with this key, or 404 when there is none the caller may see."""
        table = TENANT_TABLES[model]
        query = self.filter(select(model).where(table.key == key), model)
        if lock:
            query = query.with_for_update()
        row = session.execute(query).scalar_one_or_none()
        if row is None:
            raise not_found(*table.what)
        return row

    def get_many(
        self, session: Session, model: type[M], keys: Sequence[Any], *, lock: bool = False
    ) -> dict[Any, M]:
        """The rows of ``model`` with these keys (by key), or 404 when any is not the caller's."""
        table = TENANT_TABLES[model]
        found: dict[Any, M] = {}
        for start in range(0, len(keys), 900):
            query = self.filter(select(model).where(table.key.in_(keys[start : start + 900])), model)
            if lock:
                query = query.with_for_update()
            found.update({getattr(row, table.key.key): row for row in session.execute(query).scalars()})
        if len(found) != len(set(keys)):
            raise not_found(*table.what)
        return found

    def visible_keys(self, session: Session, model: type, keys: Iterable[Any]) -> set[Any]:
        """Which of ``keys`` name rows of ``model`` the caller may see (the rest are left out)."""
        wanted = list(dict.fromkeys(keys))
        table = TENANT_TABLES[model]
        seen: set[Any] = set()
        for start in range(0, len(wanted), 900):
            query = self.filter(select(table.key).where(table.key.in_(wanted[start : start + 900])), model)
            seen |= set(session.execute(query).scalars())
        return seen

    def choose(self, asked: int | None) -> int | None:
        """The enterprise a form or request means: one's own, whatever was asked; for a
        city-wide caller the one asked for (None: not chosen)."""
        return self.enterprise_id if self.enterprise_id is not None else asked

    def target(self, session: Session, enterprise_id: int | None) -> Enterprise:
        """The enterprise a write of the caller goes to: its own; the issuer admin names one
        (400 when it does not); another enterprise than one's own, or none of this issuer, 404."""
        if self.enterprise_id is not None and enterprise_id not in (None, self.enterprise_id):
            raise not_found(*TENANT_TABLES[Enterprise].what)
        chosen = self.choose(enterprise_id)
        if chosen is None:
            raise ValidationFailed(
                {"enterprise_id": ("必填（签发机构管理员须指定企业）", "required for an issuer admin")}
            )
        return self.get(session, Enterprise, chosen)


__all__ = ["READERS", "TENANT_TABLES", "Scope", "TenantTable"]
