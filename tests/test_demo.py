"""The README's first command ends in `anxinma demo`: it must issue, render and verify."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import zxingcpp
from PIL import Image

from anxinma import credential as fmt


def test_demo_issues_renders_and_verifies_a_credential(tmp_path: Path) -> None:
    env = {**os.environ, "ANXINMA_HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "demo"], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "VALID" in run.stdout
    # Signed locally, registered with no service: the command must say so (a live page would
    # otherwise call the credential unknown with no explanation).
    assert "没有登记到任何签发服务" in run.stdout and "registered with no issuer service" in run.stdout
    url = next(line for line in run.stdout.splitlines() if "/v/" in line).strip()
    decoded = zxingcpp.read_barcodes(Image.open(tmp_path / "demo-qr.png"))
    assert len(decoded) == 1
    assert fmt.parse_text(decoded[0].text) == fmt.parse_text(url)
    assert (tmp_path / "keys" / "keyring.json").exists()
    assert oct((tmp_path / "keys" / "root.key.pem").stat().st_mode & 0o777) == "0o600"
