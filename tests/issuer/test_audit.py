"""The audit log is a keyed hash chain: `anxinma audit verify` finds removed and altered entries."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import delete, select, update

from anxinma.issuer.store.models import AuditEntry
from tests.conftest import LiveIssuer


def _verify(issuer: LiveIssuer) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANXINMA_HOME": str(issuer.home), "DATABASE_URL": issuer.database_url}
    return subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_audit_verify_detects_an_altered_and_a_removed_entry(issuer_on: LiveIssuer) -> None:
    issued = issuer_on.credential()
    issuer_on.api("POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "misconduct"})
    issuer_on.credential()
    clean = _verify(issuer_on)
    assert clean.returncode == 0, clean.stderr
    assert "intact" in clean.stdout
    store = issuer_on.runtime.store
    with store.read() as session:
        revoke_seq = session.execute(
            select(AuditEntry.seq).where(AuditEntry.action == "credential.revoke")
        ).scalar_one()
    with store.write() as session:  # someone with database access rewrites history
        session.execute(
            update(AuditEntry).where(AuditEntry.seq == revoke_seq).values(details='{"reason":"lost"}')
        )
    altered = _verify(issuer_on)
    assert altered.returncode == 1 and f"entry {revoke_seq} was altered" in altered.stderr
    with store.write() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == revoke_seq))
    removed = _verify(issuer_on)
    assert removed.returncode == 1 and f"entries {revoke_seq}–{revoke_seq} are missing" in removed.stderr


def test_removing_the_last_entries_is_detected(live_issuer: LiveIssuer) -> None:
    live_issuer.credential()
    with live_issuer.runtime.store.write() as session:
        last = session.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
        session.execute(delete(AuditEntry).where(AuditEntry.seq == last))
    report = live_issuer.runtime.service.audit_verify()
    assert not report.ok and "removed from the end" in report.problems[0]


def test_audit_entries_hold_no_personal_data(live_issuer: LiveIssuer) -> None:
    worker = live_issuer.worker(name="欧阳娜娜", phone="13612345678")
    live_issuer.api("PATCH", f"/api/v1/workers/{worker['id']}", json={"phone": "13687654321"})
    with live_issuer.runtime.store.read() as session:
        text = " ".join(f"{e.actor} {e.details}" for e in session.execute(select(AuditEntry)).scalars())
    assert "欧阳" not in text and "1361234" not in text and "1368765" not in text
