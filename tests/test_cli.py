"""The ``anxinma`` command line, exactly as operators script it (issue 3's surface).

Through click's CliRunner in-process (fast), and once as a real subprocess. Every error is one
line, ``错误 / error: …`` in Chinese and English, exit status 2, never a traceback; ``verify``
exits 0 only for a valid credential and 1 for any other verdict.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from anxinma import credential as fmt
from anxinma.cli import main
from anxinma.keys import KeyDirectory

PASSPHRASE = "口令 for tests"
CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(
        main, list(args), input=input, env={"ANXINMA_KEY_PASSPHRASE": PASSPHRASE, **(env or {})}
    )


def assert_one_line_error(result: Result, *words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("错误 / error: ")
    assert CJK.search(lines[0]), "a person reads Chinese first"
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], (word, lines[0])


def claims_file(tmp_path: Path, **changes: Any) -> Path:
    today = datetime.now(fmt.CHINA_TZ).date()
    data = {
        "issuer_code": 330200,
        "serial": 61442,
        "subject_kind": "worker",
        "archive_id": 123456,
        "enterprise_id": 253,
        "display_name": "李*霞",
        "categories": ["育婴", "养老护理", "保洁"],
        "issued_at": (today - timedelta(days=1)).isoformat(),
        "expires_at": (today + timedelta(days=364)).isoformat(),
        **changes,
    }
    path = tmp_path / f"claims-{len(list(tmp_path.glob('claims-*')))}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    result = run("keys", "init", "--dir", str(directory), "--issuer-code", "330200")
    assert result.exit_code == 0, result.output
    return directory


@pytest.fixture
def published(keys: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(trust list file, root public key file) of the key directory."""
    trust, root = tmp_path / "trust.jwt", tmp_path / "root.pem"
    assert run("keys", "trust-list", "--dir", str(keys), "-o", str(trust)).exit_code == 0
    root_result = run("keys", "root", "--dir", str(keys))
    assert root_result.exit_code == 0
    root.write_text(root_result.stdout)
    return trust, root


def issue(keys: Path, tmp_path: Path, *extra: str, **changes: Any) -> str:
    result = run(
        "credential", "issue", "--dir", str(keys), "--claims", str(claims_file(tmp_path, **changes)), *extra
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


# -- keys -----------------------------------------------------------------------------------


def test_keys_init_creates_encrypted_keys_and_says_which(tmp_path: Path) -> None:
    result = run(
        "keys", "init", "--dir", str(tmp_path / "k"), "--issuer-code", "500000", "--issuer-name", "重庆"
    )
    assert result.exit_code == 0
    assert "issuer 500000" in result.stdout
    directory = KeyDirectory(tmp_path / "k", passphrase=PASSPHRASE)
    assert directory.encrypted and directory.issuer.code == 500000
    assert directory.signing_kid.hex() in result.stdout


def test_keys_init_without_a_passphrase_refuses_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["keys", "init", "--dir", str(tmp_path / "k")], env={"ANXINMA_KEY_PASSPHRASE": ""}
    )
    assert_one_line_error(result, "ANXINMA_KEY_PASSPHRASE", "--insecure-dev")
    assert not (tmp_path / "k" / "keyring.json").exists()


def test_keys_init_insecure_dev_warns_that_keys_are_not_encrypted(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["keys", "init", "--dir", str(tmp_path / "k"), "--insecure-dev"], env={}
    )
    assert result.exit_code == 0
    assert "NOT encrypted" in result.stderr
    assert not KeyDirectory(tmp_path / "k").encrypted


def test_keys_init_defaults_to_anxinma_home(tmp_path: Path) -> None:
    result = run("keys", "init", env={"ANXINMA_HOME": str(tmp_path / "home")})
    assert result.exit_code == 0
    assert (tmp_path / "home" / "keys" / "keyring.json").exists()


def test_keys_init_twice_is_an_error_and_changes_nothing(keys: Path) -> None:
    before = (keys / "keyring.json").read_bytes()
    assert_one_line_error(run("keys", "init", "--dir", str(keys)), "已有密钥", "already holds keys")
    assert (keys / "keyring.json").read_bytes() == before


def test_a_wrong_passphrase_is_one_clear_line(keys: Path, tmp_path: Path) -> None:
    result = run(
        "credential", "issue", "--dir", str(keys), "--claims", str(claims_file(tmp_path)),
        env={"ANXINMA_KEY_PASSPHRASE": "wrong"},
    )  # fmt: skip
    assert_one_line_error(result, "口令错误", "wrong passphrase")


def test_rotate_retire_and_compromised_change_the_jwks(keys: Path) -> None:
    first = KeyDirectory(keys).signing_kid.hex()
    rotated = run("keys", "rotate", "--dir", str(keys))
    assert rotated.exit_code == 0
    second = KeyDirectory(keys).signing_kid.hex()
    assert second in rotated.stdout and second != first
    jwks = json.loads(run("keys", "jwks", "--dir", str(keys)).stdout)
    assert {k["kid"] for k in jwks["keys"]} == {first, second}
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and len(k["x"]) == 43 for k in jwks["keys"])
    assert run("keys", "retire", first, "--dir", str(keys)).exit_code == 0
    assert [k["kid"] for k in json.loads(run("keys", "jwks", "--dir", str(keys)).stdout)["keys"]] == [second]
    compromised = run("keys", "compromised", second, "--dir", str(keys))
    assert compromised.exit_code == 0 and "compromised" in compromised.stdout
    assert json.loads(run("keys", "jwks", "--dir", str(keys)).stdout) == {"keys": []}


@pytest.mark.parametrize("kid", ["zz", "abcdef", "a"])
def test_a_malformed_kid_is_one_line(keys: Path, kid: str) -> None:
    assert_one_line_error(run("keys", "retire", kid, "--dir", str(keys)), "2 字节", "2 bytes")


def test_an_unknown_kid_is_one_line(keys: Path) -> None:
    assert_one_line_error(run("keys", "compromised", "0000", "--dir", str(keys)), "0000")


def test_keys_root_prints_the_pem_verifiers_pin(keys: Path) -> None:
    result = run("keys", "root", "--dir", str(keys))
    assert result.exit_code == 0
    assert result.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert result.stdout.encode().strip() == KeyDirectory(keys).root_public_pem().strip()


def test_a_missing_key_directory_is_one_line_with_the_fix(tmp_path: Path) -> None:
    assert_one_line_error(run("keys", "jwks", "--dir", str(tmp_path / "none")), "keys init")


def test_descriptor_and_add_issuer_bring_another_city_into_the_trust_list(keys: Path, tmp_path: Path) -> None:
    other = tmp_path / "chongqing"
    assert run("keys", "init", "--dir", str(other), "--issuer-code", "500000").exit_code == 0
    descriptor = tmp_path / "chongqing.json"
    descriptor.write_text(run("keys", "descriptor", "--dir", str(other)).stdout, "utf-8")
    added = run("keys", "add-issuer", str(descriptor), "--dir", str(keys))
    assert added.exit_code == 0 and "500000" in added.stdout
    trust, root = tmp_path / "trust.jwt", tmp_path / "root.pem"
    assert run("keys", "trust-list", "--dir", str(keys), "-o", str(trust)).exit_code == 0
    root.write_text(run("keys", "root", "--dir", str(keys)).stdout)
    code = issue(other, tmp_path, issuer_code=500000)
    verified = run("credential", "verify", code, "--trust-list", str(trust), "--root-key", str(root))
    assert verified.exit_code == 0, verified.output
    assert "VALID" in verified.stdout and "issuer 500000" in verified.stdout


def test_add_issuer_with_a_file_that_is_not_json_is_one_line(keys: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert_one_line_error(run("keys", "add-issuer", str(bad), "--dir", str(keys)), "不是 JSON")


# -- credential issue / inspect -------------------------------------------------------------


def test_issue_prints_the_url_form_by_default(keys: Path, tmp_path: Path) -> None:
    url = issue(keys, tmp_path)
    assert url.startswith("http://127.0.0.1:8600/v/")
    cred = fmt.decode_text(url)
    assert cred.claims.display_name == "李*霞" and cred.kid == KeyDirectory(keys).signing_kid


def test_issue_formats_hex_and_binary_are_the_same_credential(keys: Path, tmp_path: Path) -> None:
    hex_form = issue(keys, tmp_path, "--format", "hex")
    binary = run(
        "credential",
        "issue",
        "--dir",
        str(keys),
        "--claims",
        str(claims_file(tmp_path)),
        "--format",
        "binary",
    )
    assert binary.exit_code == 0
    assert binary.stdout_bytes == bytes.fromhex(hex_form)  # deterministic: same claims, same bytes
    url = issue(keys, tmp_path, "--base-url", "https://v.anxinma.gov.cn")
    assert url.startswith("https://v.anxinma.gov.cn/v/") and fmt.parse_text(url) == bytes.fromhex(hex_form)


def test_issue_accepts_english_category_slugs(keys: Path, tmp_path: Path) -> None:
    slugs = issue(keys, tmp_path, "--format", "hex", categories=["infant_care", "elderly_care", "cleaning"])
    assert slugs == issue(keys, tmp_path, "--format", "hex")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"display_name": "李小霞"}, ("脱敏", "masked")),
        ({"categories": ["洗车"]}, ("未知的服务类别", "洗车")),
        ({"issued_at": "2026-11-23T10:00:00+08:00"}, ("整日", "whole day")),
        ({"id_number": "110101199003071234"}, ("id_number",)),
    ],
)
def test_issue_with_bad_claims_is_one_line_naming_the_problem(
    keys: Path, tmp_path: Path, changes: dict[str, Any], words: tuple[str, ...]
) -> None:
    result = run("credential", "issue", "--dir", str(keys), "--claims", str(claims_file(tmp_path, **changes)))
    assert_one_line_error(result, *words)
    assert result.stdout == ""  # nothing half-printed


def test_issue_with_a_claims_file_that_is_not_json_is_one_line(keys: Path, tmp_path: Path) -> None:
    bad = tmp_path / "claims.json"
    bad.write_text("issuer_code: 330200")
    assert_one_line_error(run("credential", "issue", "--dir", str(keys), "--claims", str(bad)), "不是 JSON")
    assert_one_line_error(
        run("credential", "issue", "--dir", str(keys), "--claims", str(tmp_path / "no.json"))
    )


def test_inspect_shows_the_claims_and_kid_and_says_it_did_not_verify(keys: Path, tmp_path: Path) -> None:
    code = issue(keys, tmp_path)
    result = run("credential", "inspect", code)
    assert result.exit_code == 0
    assert "未验证" in result.stdout and "NOT VERIFIED" in result.stdout
    assert KeyDirectory(keys).signing_kid.hex() in result.stdout
    assert "李*霞" in result.stdout and "育婴" in result.stdout


def test_inspect_json_is_machine_readable(keys: Path, tmp_path: Path) -> None:
    code = issue(keys, tmp_path, "--format", "hex")
    info = json.loads(run("credential", "inspect", code, "--json").stdout)
    assert info["kid"] == KeyDirectory(keys).signing_kid.hex()
    assert info["size"] == len(bytes.fromhex(code)) <= 120
    assert info["claims"]["categories"] == ["保洁", "育婴", "养老护理"]


def test_code_dash_reads_any_form_from_standard_input(keys: Path, tmp_path: Path) -> None:
    url = issue(keys, tmp_path)
    hex_form = issue(keys, tmp_path, "--format", "hex")
    binary = bytes.fromhex(hex_form)
    for given in (url + "\n", hex_form, binary):
        result = run("credential", "inspect", "-", "--json", input=given)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["size"] == len(binary)


@pytest.mark.parametrize("code", ["hello", "https://v.anxinma.gov.cn/x/123", "8447a2", "37233458055414850"])
def test_inspect_of_something_that_is_not_a_credential_is_one_line(code: str) -> None:
    assert_one_line_error(run("credential", "inspect", code))


# -- credential verify ----------------------------------------------------------------------


def verify(code: str, published: tuple[Path, Path], *extra: str, input: str | None = None) -> Result:
    trust, root = published
    return run(
        "credential", "verify", code, "--trust-list", str(trust), "--root-key", str(root), *extra, input=input
    )


def test_verify_a_valid_credential_exits_0(keys: Path, tmp_path: Path, published: tuple[Path, Path]) -> None:
    result = verify(issue(keys, tmp_path), published)
    assert result.exit_code == 0, result.output
    assert "李*霞" in result.stdout
    # Issue 15: it checks no revocation, and says so plainly instead of "有效 VALID".
    assert "有效 VALID" not in result.stdout
    assert "SIGNATURE VALID — revocation NOT checked" in result.stdout
    assert "不检查吊销状态" in result.stdout and "anxinma verify" in result.stdout
    assert (
        json.loads(verify(issue(keys, tmp_path), published, "--json").stdout)["revocation_checked"] is False
    )


def test_verify_reads_the_code_from_standard_input(
    keys: Path, tmp_path: Path, published: tuple[Path, Path]
) -> None:
    assert verify("-", published, input=issue(keys, tmp_path)).exit_code == 0


def test_verify_json_reports_status_and_reasons(
    keys: Path, tmp_path: Path, published: tuple[Path, Path]
) -> None:
    result = verify(issue(keys, tmp_path), published, "--json")
    report = json.loads(result.stdout)
    assert report["status"] == "valid" and report["reasons"] and report["claims"]["serial"] == 61442
    assert report["kid"] == KeyDirectory(keys).signing_kid.hex()


def test_verify_of_each_kind_of_bad_credential_exits_1_with_its_status(
    keys: Path, tmp_path: Path, published: tuple[Path, Path]
) -> None:
    today = datetime.now(fmt.CHINA_TZ).date()
    expired = issue(
        keys, tmp_path, issued_at="2020-01-01", expires_at=(today - timedelta(days=1)).isoformat()
    )
    future = issue(keys, tmp_path, issued_at=(today + timedelta(days=10)).isoformat())
    foreign = issue(keys, tmp_path, issuer_code=500000)
    tampered = bytearray.fromhex(issue(keys, tmp_path, "--format", "hex"))
    tampered[-1] ^= 1
    cases = {
        "expired": expired,
        "not_yet_valid": future,
        "unknown_issuer": foreign,
        "bad_signature": tampered.hex(),
        "malformed": "8447a20127",
    }
    for status, code in cases.items():
        result = verify(code, published, "--json")
        assert result.exit_code == 1, (status, result.output)
        assert json.loads(result.stdout)["status"] == status


def test_verify_after_retire_and_compromise(keys: Path, tmp_path: Path) -> None:
    old = issue(keys, tmp_path)
    old_kid = KeyDirectory(keys).signing_kid.hex()
    run("keys", "rotate", "--dir", str(keys))
    newer = issue(keys, tmp_path)
    newer_kid = KeyDirectory(keys).signing_kid.hex()
    run("keys", "rotate", "--dir", str(keys))
    run("keys", "retire", old_kid, "--dir", str(keys))
    run("keys", "compromised", newer_kid, "--dir", str(keys))
    trust, root = tmp_path / "t.jwt", tmp_path / "r.pem"
    run("keys", "trust-list", "--dir", str(keys), "-o", str(trust))
    root.write_text(run("keys", "root", "--dir", str(keys)).stdout)
    for code, status in ((old, "key_retired"), (newer, "unknown_key"), (issue(keys, tmp_path), "valid")):
        result = verify(code, (trust, root), "--json")
        assert json.loads(result.stdout)["status"] == status
        assert result.exit_code == (0 if status == "valid" else 1)


def test_verify_with_a_trust_list_from_another_root_is_an_error(
    keys: Path, tmp_path: Path, published: tuple[Path, Path]
) -> None:
    other = tmp_path / "other"
    run("keys", "init", "--dir", str(other))
    other_root = tmp_path / "other.pem"
    other_root.write_text(run("keys", "root", "--dir", str(other)).stdout)
    result = verify(issue(keys, tmp_path), (published[0], other_root))
    assert_one_line_error(result, "根签名", "root key")


def test_verify_with_missing_or_broken_files_is_one_line(
    keys: Path, tmp_path: Path, published: tuple[Path, Path]
) -> None:
    code = issue(keys, tmp_path)
    assert_one_line_error(verify(code, (tmp_path / "none.jwt", published[1])), "none.jwt")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    assert_one_line_error(verify(code, (published[0], not_pem)), "PEM")
    garbage = tmp_path / "garbage.jwt"
    garbage.write_text("a.b.c")
    assert_one_line_error(verify(code, (garbage, published[1])), "信任列表")


# -- qr -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_qr_writes_the_file_and_reports_its_version(keys: Path, tmp_path: Path, suffix: str) -> None:
    output = tmp_path / f"badge{suffix}"
    result = run("qr", issue(keys, tmp_path, "--base-url", "https://v.anxinma.gov.cn"), "-o", str(output))
    assert result.exit_code == 0, result.output
    assert output.stat().st_size > 200
    assert "version 8-M" in result.stdout


def test_qr_of_a_hex_code_takes_the_base_url_option(keys: Path, tmp_path: Path) -> None:
    output = tmp_path / "q.svg"
    hex_form = issue(keys, tmp_path, "--format", "hex")
    assert run("qr", hex_form, "-o", str(output), "--base-url", "https://v.anxinma.gov.cn").exit_code == 0
    assert output.read_text().startswith("<?xml")


def test_qr_to_another_file_type_is_one_line(keys: Path, tmp_path: Path) -> None:
    assert_one_line_error(run("qr", issue(keys, tmp_path), "-o", str(tmp_path / "q.jpg")), ".svg", ".png")


# -- the whole program ----------------------------------------------------------------------


def test_an_unknown_command_or_option_is_one_line() -> None:
    assert_one_line_error(run("nosuch"), "nosuch")
    assert_one_line_error(run("credential", "issue", "--nope"), "--nope")


def test_help_and_version_exit_0() -> None:
    for args in (["--help"], ["keys", "--help"], ["credential", "verify", "-h"], ["--version"]):
        assert run(*args).exit_code == 0


def test_the_installed_command_runs_end_to_end_as_a_subprocess(tmp_path: Path) -> None:
    """The real entry point, no CliRunner: init, issue, trust list, verify; exit codes as documented."""
    env = {"ANXINMA_HOME": str(tmp_path), "ANXINMA_KEY_PASSPHRASE": PASSPHRASE, "PATH": "/usr/bin:/bin"}
    anxinma = [sys.executable, "-m", "anxinma.cli"]

    def sh(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*anxinma, *args], env=env, capture_output=True, text=True, input=input, timeout=60
        )

    assert sh("keys", "init", "--issuer-code", "330200").returncode == 0
    code = sh("credential", "issue", "--claims", str(claims_file(tmp_path))).stdout.strip()
    assert sh("keys", "trust-list", "-o", str(tmp_path / "t.jwt")).returncode == 0
    (tmp_path / "r.pem").write_text(sh("keys", "root").stdout)
    ok = sh(
        "credential",
        "verify",
        "-",
        "--trust-list",
        str(tmp_path / "t.jwt"),
        "--root-key",
        str(tmp_path / "r.pem"),
        input=code,
    )
    assert ok.returncode == 0, ok.stderr
    bad = sh("credential", "inspect", "not a code")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.startswith("错误 / error:")


def test_an_unexpected_failure_is_one_line_and_exit_2_unless_debugging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import click
    from click.testing import CliRunner

    from anxinma.cli_support import friendly

    @click.command()
    @friendly
    def broken() -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.delenv("ANXINMA_DEBUG", raising=False)
    result = CliRunner().invoke(broken, [])
    assert result.exit_code == 2
    assert "内部错误 / internal error: ZeroDivisionError: boom" in result.output
    assert "Traceback" not in result.output
    monkeypatch.setenv("ANXINMA_DEBUG", "1")
    assert isinstance(CliRunner().invoke(broken, []).exception, ZeroDivisionError)


# -- `anxinma --help` stays fast (issue 19, item 7) ------------------------------------------------


def test_help_imports_no_part_of_the_library() -> None:
    """``anxinma --help`` lists every command from the table in cli.py: it imports neither the
    format, the verifier, the issuer, the NFC part nor Flask (before: every subcommand module)."""
    probe = (
        "import sys\n"
        "from anxinma.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('anxinma.credential', 'anxinma.keys', 'anxinma.verifier', 'anxinma.issuer',\n"
        "         'anxinma.nfc', 'anxinma.badge', 'flask', 'sqlalchemy', 'cryptography')\n"
        "print(sorted({m.split('.')[0] if not m.startswith('anxinma') else '.'.join(m.split('.')[:2])\n"
        "              for m in sys.modules if m.startswith(heavy)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "Commands:" in done.stdout and "station" in done.stdout, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_lazy_table_describes_each_command_as_the_command_itself_does() -> None:
    import click

    from anxinma.cli import LAZY_COMMANDS

    context = click.Context(main)
    for name, entry in LAZY_COMMANDS.items():
        command = main.get_command(context, name)
        assert command is not None, name
        assert command.get_short_help_str(limit=10_000) == entry.help, name


def test_verify_prints_the_last_valid_day_as_the_badge_and_the_page_do(
    keys: Path, tmp_path: Path, published: tuple[Path, Path]
) -> None:
    """expires_at is the exclusive end; a person reads the last day it is valid (issue 16)."""
    result = verify(issue(keys, tmp_path, issued_at="2026-12-06", expires_at="2028-12-06"), published)
    assert "valid 2026-12-06 – 2028-12-05" in result.stdout, result.stdout


def test_verify_card_takes_no_status_list_signed_by_a_retired_key(tmp_path: Path) -> None:
    """``verify-card --trust-list … --status-list …`` counts a status list only under an active key
    of the list, as every other verifier does (it used to take any listed key, retired too)."""
    from anxinma.cli import _card_verifier
    from anxinma.errors import StatusListError
    from tests.verifier.publisher import Publisher

    issuer = Publisher(tmp_path / "issuer")
    try:
        issuer.issue(1)
        issuer.publish()
        old_list = issuer.status_tokens[0]  # signed by the key about to be retired
        old_kid = issuer.keys.signing_kid
        issuer.keys.rotate()
        issuer.keys.retire(old_kid)
        issuer.publish()
        trust, root, status = tmp_path / "trust.jwt", tmp_path / "root.pem", tmp_path / "status.jwt"
        trust.write_text(issuer.trust_list)
        root.write_bytes(issuer.root_pem)
        status.write_text(old_list)
        with pytest.raises(StatusListError):
            _card_verifier(None, trust, root, (status,))
        status.write_text(issuer.status_tokens[0])  # the same statuses under the active key: taken
        assert _card_verifier(None, trust, root, (status,)) is not None
    finally:
        issuer.stop()
