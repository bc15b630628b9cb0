"""NFC cards: NDEF forms, nfcpy reader and writer, card UID binding, the encoding station, and
the tap check-in desk (按月打卡, :mod:`.checkin`: it takes the verifier as a callable).

The NDEF forms live in :mod:`anxinma.ndef` (a form of the credential, like its QR, so the
issuer can produce them without nfcpy) and are re-exported here. The reader (:mod:`.reader`),
the originality check (:mod:`.originality`) and the station (:mod:`.station`) import nfcpy and
are loaded on first use: ``from anxinma.nfc import Reader``.
"""

from __future__ import annotations

import importlib
from typing import Any

from anxinma.ndef import EXTERNAL_TYPE, NdefForm, decode_message, encode_message, parse_type2_tlv, type2_tlv
from anxinma.nfc.budget import CHIPS, Chip

__all__ = [
    "CHIPS",
    "EXTERNAL_TYPE",
    "Card",
    "CheckInDesk",
    "CheckInQueue",
    "CheckInSender",
    "Chip",
    "EncodedCard",
    "NdefForm",
    "Originality",
    "OriginalityStatus",
    "Reader",
    "Station",
    "StationOptions",
    "TapVerdict",
    "decode_message",
    "encode_message",
    "parse_type2_tlv",
    "type2_tlv",
]

_LAZY = {
    "Card": "anxinma.nfc.reader",
    "Reader": "anxinma.nfc.reader",
    "Originality": "anxinma.nfc.originality",
    "OriginalityStatus": "anxinma.nfc.originality",
    "EncodedCard": "anxinma.nfc.station",
    "Station": "anxinma.nfc.station",
    "StationOptions": "anxinma.nfc.station",
    "CheckInDesk": "anxinma.nfc.checkin",
    "CheckInSender": "anxinma.nfc.checkin",
    "TapVerdict": "anxinma.nfc.checkin",
    "CheckInQueue": "anxinma.nfc.checkin_queue",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'anxinma.nfc' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
