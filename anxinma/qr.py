"""QR rendering of a credential: a writer kept apart from the format, as segno keeps its
writers apart from its encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import segno

from anxinma.credential import Credential, Presentation

#: Error correction M: survives a scuffed badge (15 % of codewords) at version 8 or lower.
ERROR_LEVEL = "m"


def make_qr(credential: Credential | Presentation, base_url: str) -> Any:
    """The QR code of the URL of a credential or a dynamic code: prefix in alphanumeric mode,
    payload in numeric.

    ``boost_error`` is off so the level stays M and the version is the smallest that fits,
    which is what the size budget (docs/format.md) promises.
    """
    segments: Any = credential.qr_segments(base_url)
    return segno.make(segments, error=ERROR_LEVEL, boost_error=False)


def render(
    credential: Credential, base_url: str, path: Path | str, *, scale: int = 8, border: int = 4
) -> int:
    """Write the QR as SVG or PNG (by the file's suffix); returns the QR version."""
    target = Path(path)
    if target.suffix.lower() not in (".svg", ".png"):
        raise ValueError("the QR file must end in .svg or .png")
    qr = make_qr(credential, base_url)
    qr.save(str(target), scale=scale, border=border)
    return int(qr.version)
