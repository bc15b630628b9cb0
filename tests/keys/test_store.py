"""The key directory on disk: creation, protection, rotation, retirement, compromise, JWKS."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma import credential as fmt
from anxinma.errors import KeyStoreError
from anxinma.keys import KeyDirectory, KeyStatus, jwks
from anxinma.keys.jwk import b64url_decode
from tests.keys._support import issue_with


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_a_root_key_and_an_issuer_key_encrypted_and_private(
    ningbo: KeyDirectory, passphrase: str
) -> None:
    root_file = ningbo.path / "root.key.pem"
    issuer_file = ningbo.path / f"issuer-{ningbo.signing_kid.hex()}.key.pem"
    for path in (root_file, issuer_file):
        pem = path.read_bytes()
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")  # PKCS#8, encrypted
        assert mode(path) == 0o600
        with pytest.raises(TypeError):  # an encrypted key does not load without its password
            serialization.load_pem_private_key(pem, password=None)
        key = serialization.load_pem_private_key(pem, password=passphrase.encode())
        assert isinstance(key, Ed25519PrivateKey)
    assert mode(ningbo.path) == 0o700
    assert ningbo.encrypted
    assert [r.status for r in ningbo.key_records()] == [KeyStatus.ACTIVE]
    root = serialization.load_pem_private_key(root_file.read_bytes(), password=passphrase.encode())
    assert isinstance(root, Ed25519PrivateKey)
    assert root.public_key().public_bytes_raw() == ningbo.root_public_key


def test_the_kid_is_derived_from_the_issuer_public_key(ningbo: KeyDirectory) -> None:
    record = ningbo.key(ningbo.signing_kid)
    assert record.kid == fmt.derive_kid(record.public_key)


def test_no_private_key_is_written_into_the_public_keyring(ningbo: KeyDirectory, passphrase: str) -> None:
    keyring = (ningbo.path / "keyring.json").read_text("utf-8")
    _, key = ningbo.signing_key()
    assert key.seed.hex() not in keyring
    assert "PRIVATE" not in keyring


def test_init_refuses_without_a_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANXINMA_KEY_PASSPHRASE", raising=False)
    with pytest.raises(KeyStoreError, match="ANXINMA_KEY_PASSPHRASE") as caught:
        KeyDirectory.init(tmp_path / "keys")
    assert "ANXINMA_KEY_PASSPHRASE" in caught.value.message_zh
    assert not (tmp_path / "keys").exists()  # nothing half-made


def test_insecure_dev_keys_are_unencrypted_and_the_keyring_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANXINMA_KEY_PASSPHRASE", "ignored for dev keys")
    directory = KeyDirectory.init(tmp_path / "dev", insecure_dev=True)
    pem = (directory.path / "root.key.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert mode(directory.path / "root.key.pem") == 0o600
    assert json.loads((directory.path / "keyring.json").read_text())["encrypted"] is False
    monkeypatch.delenv("ANXINMA_KEY_PASSPHRASE")
    kid, _ = KeyDirectory(directory.path).signing_key()  # no passphrase needed
    assert kid == directory.signing_kid


def test_init_never_overwrites_an_existing_directory(ningbo: KeyDirectory) -> None:
    before = (ningbo.path / "keyring.json").read_bytes()
    with pytest.raises(KeyStoreError, match="already holds keys"):
        KeyDirectory.init(ningbo.path)
    assert (ningbo.path / "keyring.json").read_bytes() == before


def test_a_wrong_passphrase_is_a_clear_error(ningbo: KeyDirectory) -> None:
    wrong = KeyDirectory(ningbo.path, passphrase="not the passphrase")
    with pytest.raises(KeyStoreError, match="wrong passphrase") as caught:
        wrong.signing_key()
    assert "口令错误" in caught.value.message_zh
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        wrong.root_signing_key()


def test_a_missing_passphrase_for_encrypted_keys_is_a_clear_error(
    ningbo: KeyDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANXINMA_KEY_PASSPHRASE")
    with pytest.raises(KeyStoreError, match=r"is not set; the keys in .* are encrypted"):
        KeyDirectory(ningbo.path).signing_key()


def test_opening_a_directory_that_is_not_one_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="anxinma keys init"):
        KeyDirectory(tmp_path / "nothing")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "keyring.json").write_text("{not json")
    with pytest.raises(KeyStoreError, match="unreadable"):
        KeyDirectory(tmp_path / "broken")


def test_rotate_adds_a_signing_key_and_keeps_the_old_one_active(ningbo: KeyDirectory) -> None:
    old = ningbo.signing_kid
    new = ningbo.rotate()
    assert new.kid != old and ningbo.signing_kid == new.kid
    assert {r.kid: r.status for r in ningbo.key_records()} == {
        old: KeyStatus.ACTIVE,
        new.kid: KeyStatus.ACTIVE,
    }
    assert mode(ningbo.path / f"issuer-{new.kid.hex()}.key.pem") == 0o600
    reopened = KeyDirectory(ningbo.path)
    assert reopened.signing_kid == new.kid
    kid, key = reopened.signing_key()
    assert kid == new.kid and key.public_key == new.public_key


def test_retiring_the_signing_key_falls_back_to_the_newest_active_one(ningbo: KeyDirectory) -> None:
    first = ningbo.signing_kid
    second = ningbo.rotate().kid
    retired = ningbo.retire(second)
    assert retired.status is KeyStatus.RETIRED and retired.valid_to is not None
    assert ningbo.signing_kid == first
    ningbo.retire(first)
    with pytest.raises(KeyStoreError, match="no active signing key"):
        _ = ningbo.signing_kid


def test_a_compromised_key_stays_compromised(ningbo: KeyDirectory) -> None:
    kid = ningbo.signing_kid
    ningbo.rotate()
    assert ningbo.compromised(kid).status is KeyStatus.COMPROMISED
    with pytest.raises(KeyStoreError, match="already marked compromised"):
        ningbo.retire(kid)
    with pytest.raises(KeyStoreError, match="no key"):
        ningbo.retire(b"\x00\x00")


def test_the_jwks_lists_the_active_keys_as_okp_ed25519(ningbo: KeyDirectory) -> None:
    first = ningbo.signing_kid
    second = ningbo.rotate().kid
    third = ningbo.rotate().kid
    ningbo.retire(first)
    ningbo.compromised(second)
    document = jwks(ningbo)
    assert [k["kid"] for k in document["keys"]] == [third.hex()]
    (key,) = document["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA"
    assert b64url_decode(key["x"]) == ningbo.key(third).public_key
    assert "d" not in key  # never the private part


def test_a_credential_signed_by_the_directory_verifies_under_its_recorded_key(ningbo: KeyDirectory) -> None:
    cred = issue_with(ningbo)()
    cred.verify_signature(ningbo.key(cred.kid).public_key)


def test_the_root_public_key_is_a_pem_verifiers_can_pin(ningbo: KeyDirectory) -> None:
    pem = ningbo.root_public_pem()
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    loaded = serialization.load_pem_public_key(pem)
    assert (
        loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        == ningbo.root_public_key
    )


def test_init_refuses_a_directory_left_half_made_by_an_interrupted_init(
    tmp_path: Path, passphrase: str
) -> None:
    directory = tmp_path / "keys"
    directory.mkdir()
    (directory / "root.key.pem").write_bytes(b"left over")
    with pytest.raises(KeyStoreError, match="interrupted") as caught:
        KeyDirectory.init(directory)
    assert "中断" in caught.value.message_zh
    assert (directory / "root.key.pem").read_bytes() == b"left over"
