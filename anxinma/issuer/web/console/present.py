"""How a record shows on a page: badges and labels, decided once in Python (not per cell
in a template macro), with the labels translated once per request. The worker list of 50
rows renders several times faster this way (docs/benchmarks.md, "consoles")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from anxinma import credential as fmt
from anxinma.issuer.store.models import Credential

#: Days before a health certificate or insurance lapses that a warning shows.
WARN_DAYS = 30

_LABELS: dict[str, Any] = {
    "no_code": lazy_gettext("No code"),
    "revoked": lazy_gettext("Revoked"),
    "suspended": lazy_gettext("Suspended"),
    "yellow": lazy_gettext("Valid (yellow)"),
    "valid": lazy_gettext("Valid"),
    "active": lazy_gettext("Working"),
    "left": lazy_gettext("Left"),
    "blacklisted": lazy_gettext("Blacklisted"),
    "missing": lazy_gettext("Missing"),
    "lapsed": lazy_gettext("Lapsed"),
    "complaint.quality": lazy_gettext("Quality of the service"),
    "complaint.attitude": lazy_gettext("Attitude"),
    "complaint.safety": lazy_gettext("Safety"),
    "complaint.fee": lazy_gettext("Fees"),
    "complaint.no_show": lazy_gettext("Did not come as agreed"),
    "complaint.other": lazy_gettext("Other"),
    "source.consumer": lazy_gettext("Consumer"),
    "source.enterprise": lazy_gettext("Enterprise"),
    "source.worker": lazy_gettext("Worker, of the enterprise"),
}


def label(key: str) -> str:
    """A label in the page's language, translated once per request."""
    cache: dict[str, str] | None = g.get("console_labels")
    if cache is None:
        cache = g.console_labels = {name: str(text) for name, text in _LABELS.items()}
    return cache[key]


def complaint_label(category: str) -> str:
    """What a complaint is about, as the consumer chose it on the page."""
    return label(f"complaint.{category}") if f"complaint.{category}" in _LABELS else category


def rating_source_label(source: str) -> str:
    """Who rated: the consumer, the enterprise (of its worker), the worker (of the enterprise)."""
    return label(f"source.{source}") if f"source.{source}" in _LABELS else source


@dataclass(frozen=True)
class Badge:
    css: str  # ok | warn | bad | none
    text: str


def credential_badge(row: Credential | None) -> Badge:
    if row is None:
        return Badge("none", label("no_code"))
    if row.status == "revoked":
        return Badge("bad", label("revoked"))
    if row.status == "suspended":
        return Badge("warn", label("suspended"))
    if row.status_value == 3:
        return Badge("warn", label("yellow"))
    return Badge("ok", label("valid"))


def worker_badge(status: str) -> Badge:
    css = {"active": "ok", "left": "none"}.get(status, "bad")
    return Badge(css, label(status if status in ("active", "left") else "blacklisted"))


@dataclass(frozen=True)
class Validity:
    """How a dated document stands today: ``state`` is missing, lapsed, soon or ok."""

    until: date | None
    state: str
    days: int | None

    @classmethod
    def of(cls, until: date | None, today: date) -> Validity:
        if until is None:
            return cls(None, "missing", None)
        days = (until - today).days
        if days < 0:
            return cls(until, "lapsed", days)
        return cls(until, "soon" if days <= WARN_DAYS else "ok", days)

    @property
    def badge(self) -> Badge | None:
        if self.state == "missing":
            return Badge("bad", label("missing"))
        if self.state == "lapsed":
            return Badge("bad", label("lapsed"))
        if self.state == "soon":
            return Badge("warn", _("%(days)s days left", days=self.days))
        return None


def categories_text(bits: int, *, chinese: bool) -> str:
    """The categories of a bit set, in order, joined as each language does (、 or a comma)."""
    names = sorted(fmt.categories_from_bits(bits or 0), key=lambda c: c.bit)
    if chinese:
        return "、".join(c.zh for c in names)
    return ", ".join(c.en for c in names)


def with_times(items: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    """API items with their ISO 8601 times as datetimes, which pages show in China time."""
    return [
        {**item, **{name: datetime.fromisoformat(item[name]) if item.get(name) else None for name in names}}
        for item in items
    ]
