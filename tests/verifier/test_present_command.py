"""``anxinma present`` and ``anxinma verify --at``: the dynamic code through the CLI, against a
real synced bundle (issue 18, item 2; docs/verifier.md, "The holder proof")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization

from anxinma import credential as fmt
from anxinma.cli import main
from anxinma.ed25519 import SigningKey
from anxinma.status_list import CredentialStatus
from anxinma.verifier.sync import sync
from tests.verifier.publisher import Publisher

HOLDER = SigningKey(bytes(range(40, 72)))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Publisher, Path]]:
    root = tmp_path_factory.mktemp("present")
    ningbo = Publisher(root / "ningbo")
    try:
        ningbo.issue(1, holder_key=HOLDER.public_key)
        ningbo.issue(2, holder_key=HOLDER.public_key, status=CredentialStatus.REVOKED)
        ningbo.issue(3)
        ningbo.publish()
        bundle = root / "bundles"
        sync(ningbo.base_url, bundle)
        key_file = root / "holder.pem"
        key_file.write_bytes(
            HOLDER.to_cryptography().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        yield bundle, ningbo, key_file
    finally:
        ningbo.stop()


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result


def verify_json(bundle: Path, code: str, at: datetime) -> tuple[int, dict[str, object]]:
    result = run("verify", code, "--bundle", str(bundle), "--offline", "--json", "--at", at.isoformat())
    return result.exit_code, json.loads(result.stdout)


AT = datetime.now(UTC).replace(microsecond=0)


def test_present_prints_the_link_and_verify_finds_it_fresh_then_expired(
    world: tuple[Path, Publisher, Path],
) -> None:
    bundle, ningbo, key_file = world
    url = ningbo.issued[1].to_url(ningbo.base_url)
    shown = run("present", url, "--holder-key", str(key_file), "--at", AT.isoformat())
    assert shown.exit_code == 0, shown.output
    code = shown.stdout.strip()
    assert code.startswith(f"{ningbo.base_url}/v/") and fmt.is_presentation(fmt.parse_text(code))
    exit_code, fresh = verify_json(bundle, code, AT + timedelta(seconds=20))
    assert (exit_code, fresh["status"]) == (0, "valid")
    exit_code, stale = verify_json(bundle, code, AT + timedelta(seconds=91))
    assert (exit_code, stale["status"]) == (1, "holder_proof_expired")
    assert stale["reason_keys"][0]["key"] == "holder_proof_expired"  # type: ignore[index]
    exit_code, ahead = verify_json(bundle, code, AT - timedelta(seconds=31))
    assert (exit_code, ahead["status"], ahead["reason_keys"][0]["key"]) == (  # type: ignore[index]
        1,
        "holder_proof_expired",
        "holder_proof_future",
    )


def test_a_holder_bound_credential_without_its_proof_is_holder_proof_missing(
    world: tuple[Path, Publisher, Path],
) -> None:
    bundle, ningbo, _ = world
    for code in (ningbo.issued[1].to_url(ningbo.base_url), ningbo.issued[1].to_hex()):
        exit_code, document = verify_json(bundle, code, AT)
        assert (exit_code, document["status"]) == (1, "holder_proof_missing")


def test_a_proof_that_does_not_verify_is_bad_holder_proof(world: tuple[Path, Publisher, Path]) -> None:
    bundle, ningbo, _ = world
    raw = bytearray(fmt.present(ningbo.issued[1], HOLDER, int(AT.timestamp())).raw)
    raw[-1] ^= 0x01
    exit_code, document = verify_json(bundle, bytes(raw).hex(), AT)
    assert (exit_code, document["status"]) == (1, "bad_holder_proof")


def test_a_revoked_credential_reads_revoked_with_or_without_a_fresh_proof(
    world: tuple[Path, Publisher, Path],
) -> None:
    bundle, ningbo, key_file = world
    url = ningbo.issued[2].to_url(ningbo.base_url)
    code = run("present", url, "--holder-key", str(key_file), "--at", AT.isoformat()).stdout.strip()
    assert verify_json(bundle, code, AT)[1]["status"] == "revoked"
    assert verify_json(bundle, url, AT)[1]["status"] == "revoked"


def test_a_card_credential_verifies_as_before_and_has_no_dynamic_code(
    world: tuple[Path, Publisher, Path],
) -> None:
    bundle, ningbo, key_file = world
    url = ningbo.issued[3].to_url(ningbo.base_url)
    exit_code, document = verify_json(bundle, url, AT)
    assert (exit_code, document["status"]) == (0, "valid")
    refused = run("present", url, "--holder-key", str(key_file))
    assert refused.exit_code == 2 and "holder key" in refused.output


def test_present_refuses_a_key_file_that_is_not_a_key_and_verify_a_bad_time(
    world: tuple[Path, Publisher, Path], tmp_path: Path
) -> None:
    bundle, ningbo, _ = world
    url = ningbo.issued[1].to_url(ningbo.base_url)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    assert run("present", url, "--holder-key", str(junk)).exit_code == 2
    assert run("verify", url, "--bundle", str(bundle), "--offline", "--at", "yesterday").exit_code == 2


def test_online_a_phone_credential_revoked_since_the_sync_reads_revoked_whatever_was_shown(
    world: tuple[Path, Publisher, Path],
) -> None:
    bundle, ningbo, key_file = world
    cred = ningbo.issue(4, holder_key=HOLDER.public_key)  # issued and then revoked after the sync
    ningbo.set_status(4, CredentialStatus.REVOKED)
    url = cred.to_url(ningbo.base_url)
    stale = run("present", url, "--holder-key", str(key_file), "--at", (AT - timedelta(hours=1)).isoformat())
    for code in (url, stale.stdout.strip()):
        result = run("verify", code, "--bundle", str(bundle), "--json")
        document = json.loads(result.stdout)
        assert (result.exit_code, document["status"], document["source"]["kind"]) == (1, "revoked", "live")
    offline = run("verify", url, "--bundle", str(bundle), "--offline", "--json")
    assert json.loads(offline.stdout)["status"] == "holder_proof_missing"  # what the bundle alone can say
