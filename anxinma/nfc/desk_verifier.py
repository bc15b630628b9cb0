"""The check-in desk's offline verifier: a verify function reloaded when its trust data changes.

A desk runs all day; a sync of its trust bundle swaps a new generation in (revocations, keys),
and the desk must follow it without a restart. :class:`ReloadingTapVerifier` asks its
:class:`TrustSource` every few seconds whether the data changed (one small read), reloads when
it did, keeps the one in use when the new one is broken, and turns each result into the
:class:`~anxinma.nfc.checkin.TapVerdict` the desk decides on.

The NFC part never imports the verifier (docs/interfaces.md, "Layers"): what it needs of it is
this module's two protocols, and ``anxinma/cli.py`` (the composition root) wires the real
source, a verifier trust-bundle directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Protocol

from anxinma import credential as fmt
from anxinma.errors import AnxinmaError
from anxinma.nfc.checkin import TapVerdict

__all__ = ["OfflineResult", "ReloadingTapVerifier", "TrustSource", "VerifyCard"]


class _Status(Protocol):
    """A verifier status as the desk reads it (``anxinma.verifier.Status``)."""

    @property
    def value(self) -> str: ...
    @property
    def label_zh(self) -> str: ...
    @property
    def label_en(self) -> str: ...
    @property
    def genuine(self) -> bool: ...


class OfflineResult(Protocol):
    """What the desk reads of a verification result (``anxinma.verifier.VerificationResult``)."""

    @property
    def status(self) -> _Status: ...
    @property
    def reasons(self) -> tuple[str, ...]: ...
    @property
    def card_binding(self) -> str | None: ...
    @property
    def claims(self) -> fmt.Claims | None: ...


#: Verify a card's binary credential against that card's UID, offline.
VerifyCard = Callable[[bytes, bytes], OfflineResult]


class TrustSource(Protocol):
    """The desk's trust data: its current state on disk, and a verifier loaded from it."""

    def state(self) -> Hashable:
        """The state of the data now (cheap: called every few seconds); equal states, same data."""
        ...

    def load(self) -> tuple[Hashable, VerifyCard]:
        """(state, verify) of the data now. Raises :class:`AnxinmaError` when it is broken."""
        ...


class ReloadingTapVerifier:
    """A :class:`~anxinma.nfc.checkin.TapVerifier` over a :class:`TrustSource`, reloaded when the
    source's state changes (checked at most every :attr:`RECHECK_SECONDS`, on a tap)."""

    RECHECK_SECONDS = 5.0

    def __init__(self, source: TrustSource, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self._clock = clock
        self._state, self._verify = source.load()
        self._checked = clock()

    def refresh(self) -> bool:
        """Reload when the data changed; True if it did. A broken new state is ignored (the one
        in use stays, and is tried again at the next check)."""
        self._checked = self._clock()
        if self.source.state() == self._state:
            return False
        try:
            self._state, self._verify = self.source.load()
        except AnxinmaError:
            return False
        return True

    def __call__(self, credential: bytes, card_uid: bytes) -> TapVerdict:
        if self._clock() - self._checked > self.RECHECK_SECONDS:
            self.refresh()
        result = self._verify(credential, card_uid)
        status = result.status
        return TapVerdict(
            status=status.value,
            label_zh=status.label_zh,
            label_en=status.label_en,
            reasons=tuple(result.reasons),
            genuine=status.genuine,
            card_binding=result.card_binding,
            claims=result.claims,
        )
