"""The audit log is a keyed hash chain anchored by signed checkpoints outside the database:
`anxinma audit verify` finds removed and altered entries, a cut tail, a rewound database and a
history re-chained with the audit key."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from anxinma.ed25519 import SigningKey
from anxinma.issuer.services import checkpoints
from anxinma.issuer.services.checkpoints import read_tokens
from anxinma.issuer.store import audit
from anxinma.issuer.store.models import AuditEntry, Counter
from anxinma.keys.jwk import b64url, b64url_decode
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


def _cut_tail(issuer: LiveIssuer, keep: int) -> None:
    """The attack of issue 17, finding 5: plain SQL, no key — delete the newest entries and point
    the head counter at the new last entry's stored hash."""
    with issuer.runtime.store.write() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq > keep))
        stored = session.execute(select(AuditEntry.hash).where(AuditEntry.seq == keep)).scalar_one()
        session.execute(update(Counter).where(Counter.name == "audit").values(value=keep, head=stored))


def test_cutting_the_tail_and_the_head_with_sql_is_detected(issuer_on: LiveIssuer) -> None:
    issuer_on.credential()
    with issuer_on.runtime.store.read() as session:
        kept = session.execute(select(func.max(AuditEntry.seq))).scalar_one()
    issued = issuer_on.credential()
    issuer_on.api("POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "misconduct"})
    assert _verify(issuer_on).returncode == 0
    _cut_tail(issuer_on, kept)  # the revocation and the second credential are gone from the log
    cut = _verify(issuer_on)
    assert cut.returncode == 1, cut.stdout
    assert "intact" not in cut.stdout
    assert "removed from the end" in cut.stderr and f"the chain ends at {kept}" in cut.stderr


def _verify_with(issuer: LiveIssuer, *extra: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANXINMA_HOME": str(issuer.home), "DATABASE_URL": issuer.database_url}
    options = [arg for path in extra for arg in ("--checkpoints", str(path))]
    return subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "audit", "verify", *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _sqlite_copy(source: str, target: str) -> None:
    """Copy one SQLite database onto another with SQLite's online backup (the service keeps running)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def test_restoring_an_older_copy_of_the_database_is_detected(live_issuer: LiveIssuer, tmp_path: Path) -> None:
    live_issuer.credential()
    database = live_issuer.database_url.removeprefix("sqlite:///")
    backup = str(tmp_path / "older.sqlite3")
    _sqlite_copy(database, backup)  # last night's backup
    with live_issuer.runtime.store.read() as session:
        old_size = session.execute(select(func.max(AuditEntry.seq))).scalar_one()
    issued = live_issuer.credential()
    live_issuer.api("POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "misconduct"})
    _sqlite_copy(backup, database)  # the revocation is undone by restoring the older, consistent copy
    rewound = _verify(live_issuer)
    assert rewound.returncode == 1 and "older copy of the database restored" in rewound.stderr
    assert f"the chain ends at {old_size}" in rewound.stderr
    # and when the rewound service has since written as many entries again, they differ from the signed ones
    for _ in range(3):
        live_issuer.credential()
    regrown = _verify(live_issuer)
    assert regrown.returncode == 1
    assert f"entry {old_size + 1} differs from the checkpoint of" in regrown.stderr


def test_a_history_rechained_with_the_audit_key_is_detected(issuer_on: LiveIssuer) -> None:
    """Someone holding the database AND secret/audit.key alters an entry and re-chains every later
    one: the keyed chain alone calls it intact, the signed checkpoints do not."""
    issued = issuer_on.credential()
    issuer_on.api("POST", f"/api/v1/credentials/{issued['serial']}/revoke", json={"reason": "misconduct"})
    issuer_on.credential()
    key = issuer_on.runtime.vault.audit_key
    with issuer_on.runtime.store.write() as session:
        entries = list(session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
        previous = audit.GENESIS
        for entry in entries:
            if entry.action == "credential.revoke":
                entry.details = '{"reason":"left"}'
            entry.hash = previous = audit.link(
                key, previous, audit.canonical(entry.seq, entry.at, entry, entry.details)
            )
        session.execute(update(Counter).where(Counter.name == "audit").values(head=previous))
    anchors = issuer_on.home / "audit" / "checkpoints"
    kept = anchors.read_bytes()
    anchors.unlink()
    assert issuer_on.runtime.service.audit_verify().ok  # what the chain alone can tell
    anchors.write_bytes(kept)
    rechained = _verify(issuer_on)
    assert rechained.returncode == 1 and "differs from the checkpoint of" in rechained.stderr


def test_a_served_checkpoint_kept_elsewhere_still_catches_a_cut_tail(
    live_issuer: LiveIssuer, tmp_path: Path
) -> None:
    live_issuer.credential()
    with live_issuer.runtime.store.read() as session:
        kept = session.execute(select(func.max(AuditEntry.seq))).scalar_one()
    live_issuer.credential()
    served = live_issuer.api("GET", "/audit/checkpoint", token="")  # what a monitor fetches and keeps
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("application/jwt")
    copy = tmp_path / "checkpoints-copy"
    copy.write_text(served.text + "\n")
    _cut_tail(live_issuer, kept)
    (live_issuer.home / "audit" / "checkpoints").unlink()  # the host's file is gone too
    assert _verify_with(live_issuer).returncode == 0  # nothing left to compare with: only a warning
    assert "no signed checkpoint" in _verify_with(live_issuer).stderr
    caught = _verify_with(live_issuer, copy)
    assert caught.returncode == 1 and "removed from the end" in caught.stderr


def test_a_checkpoint_that_does_not_verify_is_reported(live_issuer: LiveIssuer) -> None:
    live_issuer.credential()
    path = live_issuer.home / "audit" / "checkpoints"
    good = read_tokens(path)
    assert good and "intact" in _verify(live_issuer).stdout
    header, claims, signature = good[-1].split(".")
    forged_claims = b64url(json.dumps({**json.loads(b64url_decode(claims)), "size": 1}).encode())
    with path.open("a") as handle:
        handle.write(f"{header}.{forged_claims}.{signature}\n")
    forged = _verify(live_issuer)
    assert forged.returncode == 1 and "the signature does not verify" in forged.stderr


def test_checkpoints_are_refused_unless_signed_by_this_issuer(live_issuer: LiveIssuer) -> None:
    keys = live_issuer.runtime.keys
    kid, key = keys.signing_key()
    now = datetime.now(UTC)
    token = checkpoints.sign(keys.issuer.code, 7, "ab" * 32, key, kid, now)
    read = checkpoints.load(token, keys)
    assert (read.size, read.head, read.issuer_code) == (7, "ab" * 32, keys.issuer.code)
    other = SigningKey.generate()
    for bad in (
        checkpoints.sign(keys.issuer.code, 7, "ab" * 32, other, kid, now),  # another key, same kid
        checkpoints.sign(keys.issuer.code + 1, 7, "ab" * 32, key, kid, now),  # another issuer's claims
        token.replace(
            token.split(".")[0], b64url(b'{"alg":"EdDSA","typ":"JWT","kid":"' + kid.hex().encode() + b'"}')
        ),
        "not-a-token",
    ):
        with pytest.raises(checkpoints.BadCheckpoint):
            checkpoints.load(bad, keys)


def test_every_commit_that_audits_writes_a_checkpoint_of_its_head(live_issuer: LiveIssuer) -> None:
    path = live_issuer.home / "audit" / "checkpoints"
    before = len(read_tokens(path))
    live_issuer.enterprise()
    tokens = read_tokens(path)
    assert len(tokens) == before + 1
    newest = checkpoints.load(tokens[-1], live_issuer.runtime.keys)
    with live_issuer.runtime.store.read() as session:
        head = session.execute(select(Counter).where(Counter.name == "audit")).scalar_one()
    assert (newest.size, newest.head) == (int(head.value), head.head)


def test_the_served_checkpoint_is_the_newest_signed_after_a_commit(live_issuer: LiveIssuer) -> None:
    live_issuer.credential()
    with live_issuer.runtime.store.read() as session:
        head = session.execute(select(Counter).where(Counter.name == "audit")).scalar_one()
    served = checkpoints.load(
        live_issuer.api("GET", "/audit/checkpoint", token="").text, live_issuer.runtime.keys
    )
    assert (served.size, served.head) == (int(head.value), head.head)
    _cut_tail(live_issuer, 1)  # the database's writer moves the head back: the service signs no such head
    again = checkpoints.load(
        live_issuer.api("GET", "/audit/checkpoint", token="").text, live_issuer.runtime.keys
    )
    assert again.size == int(head.value)


def test_no_checkpoint_is_served_before_the_first_commit(tmp_path: Path, live_issuer: LiveIssuer) -> None:
    empty = checkpoints.AuditCheckpoints(tmp_path / "none", live_issuer.runtime.keys)
    assert empty.newest() is None


def test_a_scan_reads_the_checkpoint_files_as_they_were_when_it_began(
    live_issuer: LiveIssuer, tmp_path: Path
) -> None:
    """Lines of commits made while the chain is walked are not read (they could name entries the
    walk did not see, a false 'removed from the end')."""
    live_issuer.credential()
    anchors = live_issuer.runtime.service.checkpoints
    before = len(read_tokens(anchors.path))
    scan = anchors.scan()
    live_issuer.credential()  # commits during the walk
    assert len(read_tokens(anchors.path)) > before
    assert len(list(scan)) == before


def test_every_checkpoint_is_checked_however_many_there_are(live_issuer: LiveIssuer, tmp_path: Path) -> None:
    live_issuer.credential()
    keys = live_issuer.runtime.keys
    kid, key = keys.signing_key()
    with live_issuer.runtime.store.read() as session:
        first = session.execute(select(AuditEntry).where(AuditEntry.seq == 1)).scalar_one()
    now = datetime.now(UTC)
    good = checkpoints.sign(keys.issuer.code, 1, first.hash, key, kid, now)
    wrong = checkpoints.sign(keys.issuer.code, 1, "0" * 64, key, kid, now)
    kept = tmp_path / "many"
    kept.write_text("\n".join([good] * 2500 + [wrong]) + "\n")  # the wrong one is on the third page
    report = live_issuer.runtime.service.audit_verify([kept])
    assert report.anchors >= 2501 and not report.ok
    assert [p.key for p in report.problems] == ["anchor_mismatch"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_checkpoint_is_refused_never_an_error(live_issuer: LiveIssuer, data: st.DataObject) -> None:
    keys = live_issuer.runtime.keys
    kid, key = keys.signing_key()
    token = checkpoints.sign(keys.issuer.code, 3, "cd" * 32, key, kid, datetime(2026, 12, 8, tzinfo=UTC))
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.text(min_size=0, max_size=3))
    mutated = token[:position] + replacement + token[position + 1 :]
    try:
        read = checkpoints.load(mutated, keys)
    except checkpoints.BadCheckpoint:
        return
    assert (read.size, read.head) == (3, "cd" * 32)  # only a change the signature does not cover


def test_a_checkpoint_that_cannot_be_written_is_logged_and_the_change_stands(
    live_issuer: LiveIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    path = live_issuer.home / "audit" / "checkpoints"
    path.unlink(missing_ok=True)
    path.mkdir()  # the file cannot be opened for writing
    worker = live_issuer.worker()  # 201: the change commits although its checkpoint fails
    assert live_issuer.api("GET", f"/api/v1/workers/{worker['id']}").status_code == 200
    assert any("audit checkpoint" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    path.rmdir()
    live_issuer.worker()
    assert read_tokens(path)  # the next commit anchors everything before it
