"""JSON shapes of the API's resources (docs/api.md and the OpenAPI document describe them)."""

from __future__ import annotations

import json
from typing import Any

from anxinma import credential as fmt
from anxinma.issuer.services.rules import attention_items, mask_credit_code, today_in_china
from anxinma.issuer.store.models import BlacklistEntry, Credential, Enterprise, Training, Worker
from anxinma.ndef import NdefForm, encode_message


def _categories(bits: int) -> list[fmt.Category]:
    return sorted(fmt.categories_from_bits(bits), key=lambda c: c.bit)


def enterprise_json(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "id": enterprise.id,
        "name": enterprise.name,
        "credit_code": enterprise.credit_code,
        "credit_code_masked": mask_credit_code(enterprise.credit_code),
        "star_level": enterprise.star_level,
        "status": enterprise.status,
        "created_at": enterprise.created_at.isoformat(),
    }


def worker_json(
    worker: Worker, trainings: list[Training] | None = None, live: Credential | None = None
) -> dict[str, Any]:
    categories = _categories(worker.categories)
    body: dict[str, Any] = {
        "id": worker.id,
        "enterprise_id": worker.enterprise_id,
        "name": worker.name,
        "display_name": fmt.mask_name(worker.name),
        "id_number_masked": worker.id_masked,
        "phone_masked": worker.phone_masked,
        "categories": [c.value for c in categories],
        "categories_zh": [c.zh for c in categories],
        "skills": json.loads(worker.skills or "[]"),
        "star_level": worker.star_level,
        "health_certificate_valid_until": _date(worker.health_valid_until),
        "insurance_valid_until": _date(worker.insurance_valid_until),
        "attention": attention_items(worker, today_in_china()),
        "status": worker.status,
        "photo_url": worker.photo_url,
        "created_at": worker.created_at.isoformat(),
        "updated_at": worker.updated_at.isoformat(),
    }
    if trainings is not None:
        body["trainings"] = [
            {"name": t.name, "issued_on": t.issued_on.isoformat(), "institution": t.institution}
            for t in trainings
        ]
    if trainings is not None or live is not None:
        body["credential"] = {"serial": live.serial, "status": live.status} if live is not None else None
    return body


def credential_json(
    row: Credential,
    base_url: str,
    *,
    signed: fmt.Credential | None = None,
    replaced_serial: int | None = None,
) -> dict[str, Any]:
    cred = signed or fmt.decode(row.raw)
    return {
        "serial": row.serial,
        "subject_kind": row.subject_kind,
        "worker_id": row.worker_id,
        "enterprise_id": row.enterprise_id,
        "status": row.status,
        "attention": row.status_value == 3,
        "revocation": (
            {"reason": row.revocation_reason, "at": row.revoked_at.isoformat() if row.revoked_at else None}
            if row.status == "revoked"
            else None
        ),
        "kid": row.kid,
        "issued_at": cred.claims.issued_at.isoformat(),
        "expires_at": cred.claims.expires_at.isoformat(),
        "card_uid": row.card_uid,
        "replaced_serial": replaced_serial,
        "replaced_by": row.replaced_by,
        "display_name": cred.claims.display_name,
        "code": cred.to_url(base_url),
        "hex": cred.to_hex(),
        "ndef_hex": encode_message(cred, base_url, NdefForm.BOTH).hex(),
        "qr_url": f"{base_url}/api/v1/credentials/{row.serial}/qr.png",
        "size": len(cred.to_bytes()),
    }


def blacklist_json(entry: BlacklistEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "id_number_masked": entry.id_masked,
        "reason": entry.reason,
        "evidence_ref": entry.evidence_ref,
        "added_by": entry.added_by,
        "added_at": entry.added_at.isoformat(),
        "removed_at": entry.removed_at.isoformat() if entry.removed_at else None,
        "removed_by": entry.removed_by,
        "removal_reason": entry.removal_reason,
    }


def _date(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
