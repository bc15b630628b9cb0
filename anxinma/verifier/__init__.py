"""The verifier: offline checks against a trust bundle, then the live record when online."""

from anxinma.verifier.offline import Verifier
from anxinma.verifier.result import Source, Status, VerificationResult

__all__ = ["Source", "Status", "VerificationResult", "Verifier"]
