"""Fixtures of the NFC tests: credentials, simulated cards behind a real ContactlessFrontend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from anxinma import credential as fmt
from anxinma.nfc.reader import Reader
from tests.nfc.credentials import make_credential
from tests.nfc.ntag import Chip, FakeDevice, frontend_with


@pytest.fixture
def credential_factory() -> Callable[..., fmt.Credential]:
    return make_credential


@pytest.fixture
def fake_reader() -> Iterator[Callable[..., tuple[Reader, FakeDevice]]]:
    """``reader, device = fake_reader(card, …, frame_size=…)``: a Reader over a real
    ContactlessFrontend whose driver is the simulated one (NTAG21x or Type 4 cards)."""

    def build(*cards: Chip, frame_size: int = 252) -> tuple[Reader, FakeDevice]:
        device = FakeDevice(*cards, frame_size=frame_size)
        return Reader(frontend_with(device), "fake", ("106A",)), device

    yield build


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANXINMA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
