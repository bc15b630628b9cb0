"""How many NDEF message bytes each kind of card holds: the one table docs/nfc.md is measured from.

A Type 2 tag stores the message inside an NDEF TLV in its data area (the size its capability
container declares): one type byte and one length byte, or three length bytes from 255 up
(NFC Forum Type 2 Tag §2.3.4); the terminator TLV is optional and written only when room is
left, as nfcpy does. A factory-fresh NTAG213 also carries a 5-byte Lock Control TLV in front
(NTAG213/215/216 datasheet §8.5, "initial memory content") which describes the dynamic lock
bytes at exactly their default place (T2T §2.3.1), so the writer may drop it when the message
needs the room ("compact" layout). A Type 4 tag keeps the message in an NDEF file after a
2-byte NLEN (Type 4 Tag §5.1); a Type 3 tag in 16-byte blocks after one attribute block.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CHIPS",
    "Chip",
    "TagType",
    "chip",
    "larger_chips",
    "larger_chips_text",
    "message_capacity",
    "tag_type_of",
]

#: Lock Control TLV of a factory NTAG213: 01 03 A0 0C 34.
LOCK_CONTROL_TLV_SIZE = 5


class TagType(StrEnum):
    TYPE2 = "type2"
    TYPE3 = "type3"
    TYPE4 = "type4"


@dataclass(frozen=True)
class Chip:
    """A card product as the NDEF layer sees it."""

    name: str
    tag_type: TagType
    #: Type 2: data area bytes the CC declares; Type 3: NDEF blocks x 16; Type 4: NDEF file size.
    data_area: int
    #: Bytes in front of the NDEF TLV on a factory-fresh card (Type 2 only).
    factory_prefix: int = 0
    note: str = ""

    def capacity(self, *, compact: bool = True) -> int:
        """The largest NDEF message this chip holds (compact: factory Lock Control TLV dropped)."""
        prefix = 0 if compact else self.factory_prefix
        return message_capacity(self.tag_type, self.data_area - prefix)

    def fits(self, message_length: int, *, compact: bool = True) -> bool:
        return message_length <= self.capacity(compact=compact)


def message_capacity(tag_type: TagType, area: int) -> int:
    """NDEF message bytes that fit an area of ``area`` bytes of the given tag type."""
    if tag_type is TagType.TYPE2:
        # nfcpy's get_capacity: the 3-byte length form only pays once the area exceeds 256.
        return area - (4 if area > 256 else 2)
    if tag_type is TagType.TYPE4:
        return area - 2  # NLEN
    return area  # Type 3: the length lives in the attribute block


CHIPS: tuple[Chip, ...] = (
    Chip("NTAG213", TagType.TYPE2, 144, LOCK_CONTROL_TLV_SIZE, "CC E1 10 12 00"),
    Chip("NTAG215", TagType.TYPE2, 496, 0, "CC E1 10 3E 00: 496 of its 504 user bytes"),
    Chip("NTAG216", TagType.TYPE2, 872, 0, "CC E1 10 6D 00: 872 of its 888 user bytes"),
    Chip("FeliCa Lite-S", TagType.TYPE3, 13 * 16, 0, "13 NDEF blocks after the attribute block"),
    Chip("Type 4, 256-byte NDEF file", TagType.TYPE4, 256, 0, "e.g. NTAG 424 DNA"),
    Chip("Type 4, 2048-byte NDEF file", TagType.TYPE4, 2048, 0, "e.g. a DESFire EV2/EV3 NDEF application"),
)


def chip(name: str) -> Chip:
    """The chip named ``name`` (case-insensitive); raises KeyError."""
    for entry in CHIPS:
        if entry.name.lower() == name.lower():
            return entry
    raise KeyError(name)


def tag_type_of(nfcpy_type: str) -> TagType | None:
    """The table's tag type of an nfcpy tag (``Type2Tag`` …); None for one it does not list."""
    return {"Type2Tag": TagType.TYPE2, "Type3Tag": TagType.TYPE3, "Type4Tag": TagType.TYPE4}.get(nfcpy_type)


def larger_chips_text(message_length: int, nfcpy_type: str) -> str:
    """The chips of the card's own type that hold ``message_length`` bytes, as an operator
    reads them in "use a larger card (…)"; "—" when none does."""
    return "/".join(larger_chips(message_length, tag_type_of(nfcpy_type))) or "—"


def larger_chips(message_length: int, tag_type: TagType | None = None) -> list[str]:
    """The chips of the table (of ``tag_type``, when given) that hold ``message_length`` bytes:
    what an operator is told to use instead when a card is too small."""
    return [
        entry.name
        for entry in CHIPS
        if entry.fits(message_length) and (tag_type is None or entry.tag_type is tag_type)
    ]
