"""The check-in desk's reloading verifier (anxinma/nfc/desk_verifier.py), with no verifier in sight.

It lives beside the desk and takes its trust data through a small protocol, so these tests feed
it a fake source; the CLI wires the real one (tests/nfc/test_checkin.py runs that end to end).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anxinma.errors import AnxinmaError
from anxinma.nfc.desk_verifier import ReloadingTapVerifier

NFC = Path(__file__).resolve().parent.parent.parent / "anxinma" / "nfc"


@dataclass(frozen=True)
class _Status:
    value: str
    label_zh: str = "有效"
    label_en: str = "valid"
    genuine: bool = True


@dataclass(frozen=True)
class _Result:
    status: _Status
    reasons: tuple[str, ...] = ()
    card_binding: str | None = "match"
    claims: Any = None


@dataclass
class _Source:
    generation: int = 1
    broken: bool = False
    loads: list[int] = field(default_factory=list)

    def state(self) -> Hashable:
        return self.generation

    def load(self) -> tuple[Hashable, Any]:
        if self.broken:
            raise AnxinmaError("half-written generation")
        generation = self.generation
        self.loads.append(generation)
        return generation, lambda credential, uid: _Result(_Status(f"gen{generation}"), (credential.hex(),))


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_tap_gets_the_verdict_of_the_generation_in_use_and_a_new_one_after_a_sync() -> None:
    source, clock = _Source(), _Clock()
    verify = ReloadingTapVerifier(source, clock=clock)
    verdict = verify(b"\x01", b"\x04\x05")
    assert (verdict.status, verdict.reasons, verdict.card_binding, verdict.genuine) == (
        "gen1",
        ("01",),
        "match",
        True,
    )
    source.generation = 2
    assert verify(b"\x01", b"").status == "gen1"  # within RECHECK_SECONDS: no look at the disk
    clock.now += ReloadingTapVerifier.RECHECK_SECONDS + 1
    assert verify(b"\x01", b"").status == "gen2"
    assert source.loads == [1, 2]


def test_a_broken_new_generation_leaves_the_one_in_use() -> None:
    source = _Source()
    verify = ReloadingTapVerifier(source, clock=_Clock())
    source.generation, source.broken = 2, True
    assert verify.refresh() is False and verify(b"\x02", b"").status == "gen1"
    source.broken = False
    assert verify.refresh() is True and verify(b"\x02", b"").status == "gen2"
    assert verify.refresh() is False  # unchanged since: nothing reloaded


def test_the_nfc_part_never_imports_the_verifier() -> None:
    """docs/interfaces.md, "Layers": nfc and verifier are on one floor; the CLI wires them."""
    importing = re.compile(
        r"^\s*(from anxinma\.verifier\b|import anxinma\.verifier\b|from anxinma import verifier)", re.M
    )
    assert [p.name for p in sorted(NFC.glob("*.py")) if importing.search(p.read_text("utf-8"))] == []
