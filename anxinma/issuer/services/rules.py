"""Domain rules shared by the service, the live record and the serialisers: how personal
fields are masked, which two-bit status a credential has, and what makes a 安心码 yellow."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from anxinma import credential as fmt
from anxinma.issuer.store.models import Worker
from anxinma.status_list import CredentialStatus


def today_in_china() -> date:
    return datetime.now(fmt.CHINA_TZ).date()


def mask_id(id_number: str) -> str:
    return id_number[:3] + "*" * 11 + id_number[-4:]


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def mask_credit_code(code: str) -> str:
    return code[:4] + "*" * 10 + code[-4:]


def status_value(status: str, attention: bool) -> int:
    if status == "revoked":
        return int(CredentialStatus.REVOKED)
    if status == "suspended":
        return int(CredentialStatus.SUSPENDED)
    return int(CredentialStatus.ATTENTION if attention else CredentialStatus.VALID)


def attention_items(worker: Worker, today: date) -> list[dict[str, str | None]]:
    """What makes a worker's 安心码 yellow: a missing or lapsed health certificate or insurance.

    ``since`` is the first day without cover (the day after ``valid_until``), None when missing.
    """
    return lapsed(worker.health_valid_until, worker.insurance_valid_until, today)


def lapsed(health: date | None, insurance: date | None, today: date) -> list[dict[str, str | None]]:
    items: list[dict[str, str | None]] = []
    for item, until in (("health_certificate", health), ("insurance", insurance)):
        if until is None:
            items.append({"item": item, "since": None})
        elif until < today:
            items.append({"item": item, "since": (until + timedelta(days=1)).isoformat()})
    return items
