"""Password hashes (issue 19, item 7): scrypt at N=2^17 by default, and a hash stored with older
parameters is replaced at the next successful sign-in (services/auth.py)."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys

import pytest
from sqlalchemy import select, update

from anxinma.issuer.services import auth
from anxinma.issuer.store.models import AuditEntry, User
from tests.conftest import LiveIssuer
from tests.issuer.console_support import account


def _old_hash(password: str, n: int = 2**14) -> str:
    """What the service stored before this change: scrypt N=2^14, r=8, p=1."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    return f"scrypt${n}$8$1${salt.hex()}${digest.hex()}"


def test_the_default_cost_is_scrypt_n_2_17() -> None:
    """Measured in a fresh interpreter: the suite itself lowers the cost (tests/conftest.py)."""
    code = "from anxinma.issuer.services.auth import hash_password; print(hash_password('correct horse'))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    made = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    scheme, n, r, p, salt, digest = made.stdout.strip().split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**17, 8, 1)
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32


def test_an_old_hash_is_upgraded_at_the_next_sign_in(
    live_issuer: LiveIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "SCRYPT_N", 2**17)  # the service's default, in this test
    username, _ = account(live_issuer, "regulator")
    password = "an-old-password-2024"
    store = live_issuer.runtime.store
    with store.write() as session:
        session.execute(
            update(User).where(User.username == username).values(password_hash=_old_hash(password))
        )
    assert auth.needs_rehash(_old_hash(password))
    client = live_issuer.app.test_client()
    assert (
        client.post("/api/v1/sessions", json={"username": username, "password": password}).status_code == 201
    )
    with store.read() as session:
        stored = session.execute(select(User.password_hash).where(User.username == username)).scalar_one()
        last = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(2)).scalars().all()
    assert stored.startswith(f"scrypt${2**17}$8$1$")
    assert auth.check_password(password, stored) and not auth.needs_rehash(stored)
    assert sorted(e.action for e in last) == ["session.start", "user.rehash"]
    # Signing in again does not rehash again, and the password still works.
    assert (
        client.post("/api/v1/sessions", json={"username": username, "password": password}).status_code == 201
    )
    with store.read() as session:
        assert (
            session.execute(select(User.password_hash).where(User.username == username)).scalar_one()
            == stored
        )


def test_a_wrong_password_does_not_touch_an_old_hash(live_issuer: LiveIssuer) -> None:
    username, _ = account(live_issuer, "regulator")
    old = _old_hash("the-real-password")
    with live_issuer.runtime.store.write() as session:
        session.execute(update(User).where(User.username == username).values(password_hash=old))
    response = live_issuer.app.test_client().post(
        "/api/v1/sessions", json={"username": username, "password": "not-the-password"}
    )
    assert response.status_code == 401
    with live_issuer.runtime.store.read() as session:
        assert (
            session.execute(select(User.password_hash).where(User.username == username)).scalar_one() == old
        )


@pytest.mark.parametrize(
    "stored",
    ["", "scrypt$1$8$1$00$00", "scrypt$16384$8$1$zz$00", "bcrypt$2b$12$x", "scrypt$2097152$8$1$00$00"],
)
def test_a_malformed_or_absurd_hash_never_matches(stored: str) -> None:
    assert not auth.check_password("anything", stored)
