"""The test vectors: data files, documented in docs/format.md ("Test vectors") and docs/interfaces.md.

Beside the credential format's vectors (one file per positive vector, ``negative*.json``) this
folder holds the vectors of other formats (``status-compact.json``, the dynamic code's
``presentation.json``, which has no ``credential_hex`` key) and the case tables of the trust rules
(``trust-rules.json``), of the holder proof (``holder-proof-rules.json``) and of a chip's Web NFC
serial number read as a card UID (``card-serial-rules.json``);
:data:`CREDENTIAL_VECTORS` are the positive credential vectors only.
"""

from __future__ import annotations

import json
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent


def _is_credential_vector(path: Path) -> bool:
    document = json.loads(path.read_text("utf-8"))
    return isinstance(document, dict) and "credential_hex" in document


#: The positive vectors of the credential format (generate.py writes one file each).
CREDENTIAL_VECTORS = sorted(
    p for p in DIRECTORY.glob("*.json") if not p.name.startswith("negative") and _is_credential_vector(p)
)
