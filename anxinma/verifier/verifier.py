"""The public :class:`Verifier`: the offline checks, loading from a bundle, and the online step.

It composes the parts of the package so that none of them needs another's internals:
:mod:`~anxinma.verifier.offline` (the checks), :mod:`~anxinma.verifier.bundle` (what is on disk)
and :mod:`~anxinma.verifier.online` (the live record).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from anxinma import credential as fmt
from anxinma.verifier.bundle import TrustBundle
from anxinma.verifier.holder import HOLDER_STATUSES
from anxinma.verifier.offline import OfflineVerifier
from anxinma.verifier.result import Status, VerificationResult


class Verifier(OfflineVerifier):
    """Verifies credentials: :meth:`verify` offline, :meth:`verify_online` with the live record."""

    @classmethod
    def from_bundle(cls, directory: Path | str, **policy: Any) -> Verifier:
        """Every issuer of a bundle directory side by side (docs/verifier.md, "Bundle layout").

        ``policy`` sets ``clock``, ``clock_skew``, ``status_max_age``; ``require_status`` is on.
        Raises :class:`~anxinma.verifier.errors.BundleError` when the directory holds no usable
        bundle at all; a broken origin beside good ones is skipped and named in ``problems``.
        """
        return cls.from_trust_bundle(TrustBundle.load(directory), **policy)

    @classmethod
    def from_trust_bundle(cls, bundle: TrustBundle, **policy: Any) -> Verifier:
        policy.setdefault("require_status", True)
        return cls(anchors=bundle.anchors(), problems=bundle.problems, **policy)

    def verify_online(
        self,
        code: bytes | str | fmt.Credential,
        *,
        card_uid: bytes | None = None,
        client: Any = None,
        timeout: float | None = None,
    ) -> VerificationResult:
        """:meth:`verify`, then the live record from the issuer the trust list names.

        The live status wins when it differs (``source.kind`` becomes ``"live"``); a timeout
        or any failure of the live step leaves the offline result standing, with a reason
        saying so. ``client`` is a :class:`~anxinma.verifier.online.LiveClient` (one is made
        with ``timeout``, default 2 s). Never raises for bad input or a network failure.
        """
        from anxinma.verifier.online import LiveClient, add_live_record

        offline = self.verify(code, card_uid=card_uid)
        if client is None:
            client = LiveClient() if timeout is None else LiveClient(timeout=timeout)
        if offline.status in HOLDER_STATUSES and offline.credential is not None:
            return self._live_over_holder_proof(offline, card_uid, client)
        return add_live_record(self, offline, client)

    def _live_over_holder_proof(
        self, offline: VerificationResult, card_uid: bytes | None, client: Any
    ) -> VerificationResult:
        """A holder-proof verdict asks the live record too (docs/verifier.md, "The holder proof"):
        a credential the issuer revoked or suspended since the last sync reads so, whatever was
        shown; any other live answer leaves the holder verdict (and attaches nothing)."""
        from anxinma.verifier.online import add_live_record

        assert offline.credential is not None
        own = self._verify_credential(offline.credential, self.clock(), card_uid, None)
        merged = add_live_record(self, own, client)
        if merged.status in (Status.REVOKED, Status.SUSPENDED):
            return dataclasses.replace(merged, reasons=(*merged.reasons, *offline.reasons[:1]))
        return offline
