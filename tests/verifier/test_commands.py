"""``anxinma verify`` and ``anxinma verifier sync|status`` end to end: every status, offline and online."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anxinma import credential as fmt
from anxinma.cli import main
from anxinma.ed25519 import SigningKey
from anxinma.status_list import CredentialStatus
from anxinma.verifier.sync import sync
from tests.verifier.images import badge, encoded, photograph
from tests.verifier.publisher import Publisher

#: name -> (the status offline, the status online). Online, a stale bundle is settled live.
EXPECTED = {
    "valid": ("valid", "valid"),
    "attention": ("attention", "attention"),
    "revoked": ("revoked", "revoked"),
    "suspended": ("suspended", "suspended"),
    "expired": ("expired", "expired"),
    "not_yet_valid": ("not_yet_valid", "not_yet_valid"),
    "unknown_issuer": ("unknown_issuer", "unknown_issuer"),
    "unknown_key": ("unknown_key", "unknown_key"),
    "key_retired": ("key_retired", "key_retired"),
    "compromised": ("unknown_key", "unknown_key"),
    "bad_signature": ("bad_signature", "bad_signature"),
    "malformed": ("malformed", "malformed"),
    "stale": ("status_unknown", "valid"),
}


@dataclass
class World:
    bundle: Path
    codes: dict[str, str]
    ningbo: Publisher
    nanjing: Publisher


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One Ningbo issuer whose keys went through retirement and compromise, one stale Nanjing
    issuer, a stranger never synced; one bundle directory holding both synced issuers."""
    root = tmp_path_factory.mktemp("world")
    ningbo = Publisher(root / "ningbo")
    nanjing = Publisher(root / "nanjing", issuer_code=320100, name="南京市商务局")
    stranger = Publisher(root / "shenzhen", issuer_code=440300, name="深圳市商务局")
    try:
        base = ningbo.base_url
        retired = ningbo.issue(900)
        ningbo.keys.rotate()
        compromised = ningbo.issue(901)
        ningbo.keys.rotate()
        ningbo.keys.retire(retired.kid)
        ningbo.keys.compromised(compromised.kid)
        creds = {
            "valid": ningbo.issue(1),
            "attention": ningbo.issue(2, status=CredentialStatus.ATTENTION),
            "revoked": ningbo.issue(3, status=CredentialStatus.REVOKED),
            "suspended": ningbo.issue(4, status=CredentialStatus.SUSPENDED),
            "expired": ningbo.issue(5, valid_from=-800, valid_days=730),
            "not_yet_valid": ningbo.issue(6, valid_from=10),
            "unknown_issuer": stranger.issue(7),
            "key_retired": retired,
            "compromised": compromised,
        }
        outsider_key = SigningKey(bytes(range(1, 33)))
        creds["unknown_key"] = fmt.sign(creds["valid"].claims, outsider_key)
        nanjing_cred = nanjing.issue(8)
        nanjing.status_list_age = timedelta(hours=30)
        ningbo.publish()
        nanjing.publish()
        bundle = root / "bundles"
        sync(ningbo.base_url, bundle)
        sync(nanjing.base_url, bundle)
        codes = {name: cred.to_url(base) for name, cred in creds.items()}
        raw = bytearray(creds["valid"].to_bytes())
        raw[-3] ^= 0x40
        codes["bad_signature"] = bytes(raw).hex()
        codes["malformed"] = "https://qr.alipay.com/fkx19384abcdef"
        codes["stale"] = nanjing_cred.to_url(nanjing.base_url)
        yield World(bundle, codes, ningbo, nanjing)
    finally:
        for publisher in (ningbo, nanjing, stranger):
            publisher.stop()


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), input=input, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("online", [False, True], ids=["offline", "online"])
def test_every_status_is_reachable_through_the_cli(world: World, name: str, online: bool) -> None:
    expected = EXPECTED[name][1 if online else 0]
    posts_before = len(world.ningbo.log) + len(world.nanjing.log)
    args = ["verify", world.codes[name], "--bundle", str(world.bundle), "--json"]
    result = run(*args) if online else run(*args, "--offline")
    document = json.loads(result.stdout)
    assert document["status"] == expected, document["reasons"]
    assert result.exit_code == (0 if expected == "valid" else 1)
    assert set(document) >= {"status", "reasons", "claims", "source", "live"}
    assert isinstance(document["reasons"], list) and document["reasons"]
    assert all(isinstance(reason, str) for reason in document["reasons"])
    if expected == "malformed":
        assert document["claims"] is None
    else:
        assert document["claims"]["serial"] >= 1
    touched = len(world.ningbo.log) + len(world.nanjing.log) - posts_before
    if not online:
        assert touched == 0 and document["live"] is None and document["source"]["kind"] == "offline"
    if online and name in ("valid", "revoked", "attention", "stale"):
        assert document["live"] is not None and document["live"]["status"] == expected
    if name == "stale" and not online:
        assert "1 d 6 h" in document["reasons"][0]
    if name == "stale" and online:
        assert document["source"]["kind"] == "live"


def test_human_output_is_chinese_first_and_exit_code_follows_the_verdict(world: World) -> None:
    valid = run("verify", world.codes["valid"], "--bundle", str(world.bundle), "--offline")
    assert valid.exit_code == 0
    assert "trusted on first use" in valid.stderr  # the world's bundles were synced without --root-key
    assert valid.stdout.startswith("有效 VALID")
    assert "李*霞" in valid.stdout and "离线信任包" in valid.stdout
    revoked = run("verify", world.codes["revoked"], "--bundle", str(world.bundle))
    assert revoked.exit_code == 1 and revoked.stdout.startswith("已吊销 REVOKED")
    assert "企业 enterprise" in revoked.stdout  # the live record was shown


def test_code_from_stdin(world: World) -> None:
    result = run(
        "verify", "-", "--bundle", str(world.bundle), "--offline", "--json", input=world.codes["valid"] + "\n"
    )
    assert json.loads(result.stdout)["status"] == "valid" and result.exit_code == 0


@pytest.mark.parametrize(
    "transform",
    [
        lambda url: url,
        lambda url: url.replace("/v/", "/v#"),
        lambda url: url.upper(),
        lambda url: url.split("://", 1)[1],
    ],
    ids=["link", "fragment", "upper-case QR form", "no scheme"],
)
def test_url_option_takes_every_form_of_the_link(world: World, transform: object) -> None:
    link = transform(world.codes["valid"])  # type: ignore[operator]
    result = run("verify", "--url", link, "--bundle", str(world.bundle), "--offline", "--json")
    assert json.loads(result.stdout)["status"] == "valid", result.stdout


def test_url_option_with_another_systems_link_is_malformed(world: World) -> None:
    result = run(
        "verify",
        "--url",
        "https://example.com/pay?id=1",
        "--bundle",
        str(world.bundle),
        "--offline",
        "--json",
    )
    assert result.exit_code == 1 and json.loads(result.stdout)["status"] == "malformed"


def test_image_option_verifies_a_photographed_badge_and_reports_the_scan(
    world: World, tmp_path: Path
) -> None:
    cred = fmt.decode_text(world.codes["revoked"])
    photo = tmp_path / "badge.jpg"
    photo.write_bytes(encoded(photograph(badge(cred, world.ningbo.base_url), angle=10, blur=0.8), "JPEG"))
    result = run("verify", "--image", str(photo), "--bundle", str(world.bundle), "--offline", "--json")
    document = json.loads(result.stdout)
    assert document["status"] == "revoked" and result.exit_code == 1
    assert document["scan"]["chosen"] == 1 and document["scan"]["codes"][0]["kind"] == "anxinma"


def test_image_that_is_not_an_image_is_a_clear_error(world: World, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.png"
    bogus.write_text("this is not a picture")
    result = run("verify", "--image", str(bogus), "--bundle", str(world.bundle))
    assert result.exit_code == 2
    assert result.stderr.startswith("错误 / error:") and "图片" in result.stderr


def test_card_uid_option_rejects_a_copy(world: World) -> None:
    bound = world.ningbo.issue(50, card_uid=bytes.fromhex("04a1b2c3d4e5f6"))
    # not yet in the synced status list (serial 50): the binding verdict comes first
    code = bound.to_hex()
    result = run(
        "verify",
        code,
        "--bundle",
        str(world.bundle),
        "--offline",
        "--json",
        "--card-uid",
        "04:ff:ff:ff:ff:ff:ff",
    )
    document = json.loads(result.stdout)
    assert document["status"] == "bad_signature" and document["card_binding"] == "mismatch"
    bad = run("verify", code, "--bundle", str(world.bundle), "--card-uid", "zz")
    assert bad.exit_code == 2 and "card UID" in bad.stderr


def test_usage_errors_and_a_missing_bundle_exit_2(world: World, tmp_path: Path) -> None:
    assert run("verify", "--bundle", str(world.bundle)).exit_code == 2
    assert run("verify", "x", "--url", "y", "--bundle", str(world.bundle)).exit_code == 2
    missing = run("verify", world.codes["valid"], "--bundle", str(tmp_path / "empty"))
    assert missing.exit_code == 2 and "anxinma verifier sync" in missing.stderr


def test_default_bundle_directory_is_under_anxinma_home(world: World, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"ANXINMA_HOME": str(home)}
    synced = run("verifier", "sync", "--issuer", world.ningbo.base_url, env=env)
    assert synced.exit_code == 0, synced.output
    assert (home / "bundles" / f"127.0.0.1_{world.ningbo.port}" / "current").exists()
    result = run("verify", world.codes["valid"], "--offline", "--json", env=env)
    assert json.loads(result.stdout)["status"] == "valid"


def test_sync_command_warns_loudly_on_first_use_and_reports_what_changed(
    world: World, tmp_path: Path
) -> None:
    target = tmp_path / "b"
    first = run("verifier", "sync", "--issuer", world.ningbo.base_url, "--dir", str(target))
    assert first.exit_code == 0
    assert "WARNING: first contact" in first.stderr and "仅限开发环境" in first.stderr
    assert "已同步 / synced 宁波市商务局 (330200)" in first.stdout
    second = run("verifier", "sync", "--issuer", world.ningbo.base_url, "--dir", str(target), "--json")
    [report] = json.loads(second.stdout)
    assert report["changed"] == [] and report["root_source"] == "tofu"


def test_sync_command_with_root_key_and_several_issuers(world: World, tmp_path: Path) -> None:
    target = tmp_path / "b"
    pem = tmp_path / "root.pem"
    pem.write_bytes(world.ningbo.root_pem)
    result = run(
        "verifier", "sync", "--issuer", world.ningbo.base_url, "--dir", str(target), "--root-key", str(pem)
    )
    assert result.exit_code == 0 and "WARNING" not in result.stderr
    both = run(
        "verifier",
        "sync",
        "--issuer",
        world.ningbo.base_url,
        "--issuer",
        "http://127.0.0.1:9",
        "--dir",
        str(target),
        "--root-key",
        str(pem),
    )
    assert both.exit_code == 2
    assert "已同步 / synced 宁波市商务局" in both.stdout and "127.0.0.1:9" in both.stderr


def test_status_command_lists_bundles_and_their_ages(world: World) -> None:
    human = run("verifier", "status", "--dir", str(world.bundle))
    assert human.exit_code == 0
    assert "宁波市商务局 (330200)" in human.stdout and "南京市商务局 (320100)" in human.stdout
    assert "STALE" in human.stdout and "root trusted on first use" in human.stdout
    document = json.loads(run("verifier", "status", "--dir", str(world.bundle), "--json").stdout)
    stale = {b["issuer_code"]: b["status_lists"][0]["stale"] for b in document["bundles"]}
    assert stale == {330200: False, 320100: True}


def test_the_installed_command_never_prints_a_stack_trace(world: World, tmp_path: Path) -> None:
    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom(3000))
    env = {**os.environ, "ANXINMA_HOME": str(tmp_path / "h")}
    cases = [
        (["verify", "\x01garbage ☃", "--bundle", str(world.bundle), "--offline"], 1),
        (["verify", "--image", str(noise), "--bundle", str(world.bundle)], 2),
        (["verify", world.codes["valid"]], 2),  # no bundle in this home
        (["verifier", "sync", "--issuer", "not a url"], 2),
    ]
    for args, status in cases:
        run_ = subprocess.run(
            [sys.executable, "-m", "anxinma.cli", *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert run_.returncode == status, (args, run_.stdout, run_.stderr)
        assert "Traceback" not in run_.stderr + run_.stdout


def test_verify_prints_the_last_valid_day_not_the_exclusive_end(world: World) -> None:
    """``expires_at`` is the first day a code no longer verifies; a person reads the day before,
    as the badge, the page and ``anxinma credential verify`` print it (issue 16)."""
    code = world.codes["valid"]
    claims = fmt.decode_text(code).claims
    printed = run("verify", code, "--bundle", str(world.bundle), "--offline").stdout
    assert f"valid {claims.issued_at.date()} – {claims.last_valid_day}" in printed, printed
    assert str(claims.expires_at.date()) not in printed
