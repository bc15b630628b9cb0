"""安心码 (Anxinma): signed, offline-verifiable credentials for home-service workers.

The few names most users need; everything else lives in its module. They are imported on first
use (PEP 562), so ``import anxinma.cli`` (``anxinma --help``) or ``import anxinma.errors``
loads neither the format nor the verifier.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Where each public name lives: (module, attribute).
_HOMES = {
    "Category": ("anxinma.credential", "Category"),
    "Claims": ("anxinma.credential", "Claims"),
    "Credential": ("anxinma.credential", "Credential"),
    "SubjectKind": ("anxinma.credential", "SubjectKind"),
    "decode": ("anxinma.credential", "decode"),
    "decode_text": ("anxinma.credential", "decode_text"),
    "issue": ("anxinma.credential", "sign"),
    "Status": ("anxinma.verifier", "Status"),
    "VerificationResult": ("anxinma.verifier", "VerificationResult"),
    "Verifier": ("anxinma.verifier", "Verifier"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module 'anxinma' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
