"""The issuer's identity changes only on purpose (issue 15, finding 6): ``serve --port`` on a
fresh home makes one base URL for keyring, trust list, discovery and printed codes; other
commands leave the keyring alone; a mismatch is one warning line with the command that changes
it; ``keys set-base-url`` is that command. And the live record's 404 means "no such credential"."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from anxinma import credential as fmt
from anxinma.cli import main
from anxinma.issuer import IssuerConfig
from anxinma.issuer.app import build_runtime
from anxinma.keys import KeyDirectory, TrustList
from tests.conftest import LiveIssuer, free_port, wait_for_port
from tests.keys._support import worker_claims


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANXINMA_", "DATABASE_URL", "REDIS_URL"))}
    env["ANXINMA_HOME"] = str(home)
    return env


def _serve(home: Path, port: int, *, probe: bool = True) -> tuple[str, dict[str, object]]:
    """Run ``anxinma serve --port``; return its output and what it served (discovery, trust list)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "anxinma.cli", "serve", "--port", str(port)],
        env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    served: dict[str, object] = {}
    try:
        wait_for_port(port, timeout=120)
        base = f"http://127.0.0.1:{port}"
        served["discovery"] = requests.get(base + "/.well-known/anxinma", timeout=30).json()
        served["trust_list"] = requests.get(base + "/trust-list", timeout=30).text
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0]
    return output, served


def test_serve_on_a_fresh_home_makes_one_base_url_and_token_create_leaves_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    output, served = _serve(home, port)
    base = f"http://127.0.0.1:{port}"
    keys = KeyDirectory(home / "keys")
    assert keys.issuer.base_url == base
    discovery = served["discovery"]
    assert isinstance(discovery, dict) and discovery["base_url"] == base
    assert discovery["status_freshness"] == f"{base}/status/330200/freshness"
    trust = TrustList.load(str(served["trust_list"]), keys.root_public_key)
    assert trust.issuers[330200].base_url == base
    printed = re.search(r"demo credential: (\S+)", output)
    assert printed is not None and printed.group(1).startswith(f"{base}/v/")
    assert "differs from" not in output
    keyring = (home / "keys" / "keyring.json").read_bytes()
    made = subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "token", "create", "--role", "regulator"],
        env=_env(home), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (home / "keys" / "keyring.json").read_bytes() == keyring  # finding 6: no rewrite to :8600


def test_serve_on_another_port_says_so_in_one_line_and_keeps_the_identity(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = free_port()
    KeyDirectory.init(home / "keys", insecure_dev=True, base_url=f"http://127.0.0.1:{first}")
    keyring = (home / "keys" / "keyring.json").read_bytes()
    other = free_port()
    output, served = _serve(home, other)
    lines = [line for line in output.splitlines() if "keys set-base-url" in line]
    assert len(lines) == 1, output
    (line,) = lines
    assert f"http://127.0.0.1:{other}" in line and f"http://127.0.0.1:{first}" in line
    assert "警告" in line and "warning" in line
    assert f"anxinma keys set-base-url http://127.0.0.1:{other} --dir {home / 'keys'}" in line
    discovery = served["discovery"]
    assert isinstance(discovery, dict) and discovery["base_url"] == f"http://127.0.0.1:{first}"
    assert (home / "keys" / "keyring.json").read_bytes() == keyring


def test_anxinma_base_url_differing_from_the_keyring_is_one_notice(tmp_path: Path) -> None:
    KeyDirectory.init(tmp_path / "keys", insecure_dev=True, base_url="https://v.ningbo.gov.cn")
    config = IssuerConfig.from_env(
        {"ANXINMA_HOME": str(tmp_path), "ANXINMA_BASE_URL": "https://anxinma.example.cn"}, background=False
    )
    runtime = build_runtime(config)
    try:
        (notice,) = runtime.notices
        assert "\n" not in notice and "ANXINMA_BASE_URL" in notice and "anxinma keys set-base-url" in notice
        assert notice.zh in notice and notice.en in notice
        assert runtime.config.base_url == "https://v.ningbo.gov.cn"  # the keyring's: the identity
    finally:
        runtime.close()
    quiet = build_runtime(IssuerConfig.from_env({"ANXINMA_HOME": str(tmp_path)}, background=False))
    try:
        assert quiet.notices == [] and quiet.config.base_url == "https://v.ningbo.gov.cn"
    finally:
        quiet.close()


def test_keys_set_base_url_changes_it_on_purpose_and_the_service_republishes(live_issuer: LiveIssuer) -> None:
    runner = CliRunner()
    key_dir = str(live_issuer.home / "keys")
    for bad in ("ftp://v.ningbo.gov.cn", "v.ningbo.gov.cn", "https://", "https://v.ningbo.gov.cn/?a=1"):
        refused = runner.invoke(main, ["keys", "set-base-url", bad, "--dir", key_dir])
        assert refused.exit_code != 0 and "base URL" in refused.output, bad
    changed = runner.invoke(main, ["keys", "set-base-url", "https://v.ningbo.gov.cn/", "--dir", key_dir])
    assert changed.exit_code == 0, changed.output
    assert KeyDirectory(key_dir).issuer.base_url == "https://v.ningbo.gov.cn"
    trust = TrustList.load(live_issuer.trust_list(), live_issuer.root_public_key)
    assert trust.issuers[330200].base_url == "https://v.ningbo.gov.cn"


def test_keys_init_without_a_code_is_root_only_and_the_old_options_still_make_a_city(tmp_path: Path) -> None:
    runner = CliRunner()
    regulator = tmp_path / "regulator"
    made = runner.invoke(main, ["keys", "init", "--dir", str(regulator), "--insecure-dev"])
    assert made.exit_code == 0 and "root key only" in made.stdout
    assert KeyDirectory(regulator).root_only and not list(regulator.glob("issuer-*.key.pem"))
    city = runner.invoke(
        main,
        ["keys", "init", "--dir", str(tmp_path / "cq"), "--insecure-dev", "--issuer-code", "500000",
         "--issuer-name", "重庆市商务委员会", "--base-url", "https://v.cq.gov.cn"],
    )  # fmt: skip
    assert city.exit_code == 0 and "issuer 500000" in city.stdout
    assert KeyDirectory(tmp_path / "cq").issuer.base_url == "https://v.cq.gov.cn"
    half = runner.invoke(main, ["keys", "init", "--dir", str(tmp_path / "x"), "--base-url", "https://a.cn"])
    assert half.exit_code != 0 and "--issuer-code" in half.output
    descriptor = tmp_path / "cq.json"
    descriptor.write_text(runner.invoke(main, ["keys", "descriptor", "--dir", str(tmp_path / "cq")]).stdout)
    assert (
        runner.invoke(main, ["keys", "add-issuer", str(descriptor), "--dir", str(regulator)]).exit_code == 0
    )
    out = tmp_path / "t.jwt"
    assert runner.invoke(main, ["keys", "trust-list", "--dir", str(regulator), "-o", str(out)]).exit_code == 0
    trust = TrustList.load(out.read_text(), KeyDirectory(regulator).root_public_key)
    assert set(trust.issuers) == {500000}  # exactly the added issuers, no own entry


def test_the_live_record_says_404_only_for_no_such_credential(live_issuer: LiveIssuer) -> None:
    issued = live_issuer.credential()
    kid, key = live_issuer.runtime.keys.signing_key()
    forged = fmt.sign(worker_claims(330200, serial=987654), key, kid)  # a genuine signature, never recorded
    unknown = live_issuer.api("POST", "/api/v1/live", token="", json={"code": forged.to_url(live_issuer.url)})
    assert unknown.status_code == 404
    error = unknown.json()["error"]
    assert error["code"] == "not_found" and error["zh"] and error["en"]
    # The store failing is not "no such credential": a 500, never a 404.
    with live_issuer.runtime.store.write() as session:
        session.connection().exec_driver_sql("ALTER TABLE credentials RENAME TO credentials_away")
    try:
        broken = live_issuer.api("POST", "/api/v1/live", token="", json={"code": issued["code"]})
        assert broken.status_code == 500 and broken.json()["error"]["code"] == "internal"
    finally:
        with live_issuer.runtime.store.write() as session:
            session.connection().exec_driver_sql("ALTER TABLE credentials_away RENAME TO credentials")


@pytest.mark.parametrize("code", [330200])
def test_discovery_pins_the_keyrings_root_without_anxinma_root_key(
    live_issuer: LiveIssuer, code: int
) -> None:
    document = requests.get(live_issuer.url + "/.well-known/anxinma", timeout=10).json()
    assert document["issuer_code"] == code
    assert document["root_public_key"].encode().strip() == live_issuer.runtime.keys.root_public_pem().strip()
    assert live_issuer.app.config["ANXINMA_TRUSTED_ORIGINS"]() == [live_issuer.url]
    status = requests.get(live_issuer.url + "/trust-list/status", timeout=10).json()
    assert status["mode"] == "root_key" and status["sequence"] == 1 and status["last_error"] is None
    assert json.dumps(status) and datetime.fromisoformat(status["expires_at"]) > datetime.now(UTC)
