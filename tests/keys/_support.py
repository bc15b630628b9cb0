"""Helpers shared by the key tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from anxinma import credential as fmt
from anxinma.keys import KeyDirectory


def worker_claims(issuer_code: int = 330200, serial: int = 61442) -> fmt.Claims:
    """A worker credential valid today (issued 30 days ago, for a year): no test ages out."""
    today = datetime.now(fmt.CHINA_TZ).date()
    return fmt.Claims.from_mapping(
        {
            "issuer_code": issuer_code,
            "serial": serial,
            "archive_id": 123456,
            "enterprise_id": 253,
            "display_name": "李*霞",
            "categories": ["保洁"],
            "issued_at": (today - timedelta(days=30)).isoformat(),
            "expires_at": (today + timedelta(days=335)).isoformat(),
        }
    )


def issue_with(directory: KeyDirectory) -> Callable[..., fmt.Credential]:
    """A function that signs a worker credential with the directory's current signing key."""

    def issue(serial: int = 61442) -> fmt.Credential:
        kid, key = directory.signing_key()
        return fmt.sign(worker_claims(directory.issuer.code, serial), key, kid)

    return issue
