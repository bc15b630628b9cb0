"""Key directories for the key tests: real files, real PKCS#8 encryption."""

from __future__ import annotations

from pathlib import Path

import pytest

from anxinma.keys import KeyDirectory

PASSPHRASE = "正确 horse battery staple"


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ANXINMA_KEY_PASSPHRASE", PASSPHRASE)
    return PASSPHRASE


@pytest.fixture
def ningbo(tmp_path: Path, passphrase: str) -> KeyDirectory:
    """Ningbo's key directory (root + issuer 330200), encrypted."""
    return KeyDirectory.init(tmp_path / "ningbo", issuer_code=330200, issuer_name="宁波市商务局")
