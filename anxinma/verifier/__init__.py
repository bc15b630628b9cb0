"""The verifier: offline checks against a trust bundle, then the live record when online.

``Verifier.from_bundle(dir).verify(code)`` is the one obvious entry point (docs/verifier.md);
sync lives in :mod:`anxinma.verifier.sync`, image scanning in :mod:`anxinma.verifier.scan`
(imported on use: they pull in requests and zxing-cpp).
"""

from anxinma.verifier.bundle import TrustBundle
from anxinma.verifier.offline import OfflineVerifier, TrustAnchor
from anxinma.verifier.result import Source, Status, VerificationResult
from anxinma.verifier.verifier import Verifier

__all__ = [
    "OfflineVerifier",
    "Source",
    "Status",
    "TrustAnchor",
    "TrustBundle",
    "VerificationResult",
    "Verifier",
]
