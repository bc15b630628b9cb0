"""安心码 (Anxinma): signed, offline-verifiable credentials for home-service workers.

The few names most users need; everything else lives in its module.
"""

from anxinma.credential import Category, Claims, Credential, SubjectKind, decode, decode_text
from anxinma.credential import sign as issue
from anxinma.verifier import Status, VerificationResult, Verifier

__all__ = [
    "Category",
    "Claims",
    "Credential",
    "Status",
    "SubjectKind",
    "VerificationResult",
    "Verifier",
    "decode",
    "decode_text",
    "issue",
]
__version__ = "0.1.0"
