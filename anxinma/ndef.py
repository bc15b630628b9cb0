"""The NDEF form of a credential: the message written to an NFC card (a writer, like ``qr``).

Two records, each optional by choice of :class:`NdefForm`:

* a URI record (NFC Forum URI RTD, prefix code 0x04 for ``https://``) holding the credential's
  URL, so that an ordinary Android phone or iPhone opens the verification page on a tap, with
  no app; it comes first, because phones act on the first record of a message;
* an NFC Forum external-type record ``axm.cn:c`` whose payload is the binary credential,
  the compact form a desk reader or the station reads (it alone fits an NTAG213, UID bound).

This module is pure (ndeflib only, no reader), so the issuer can hand the NDEF bytes to an
encoding station without importing the NFC hardware package. docs/nfc.md has the byte budget.
"""

from __future__ import annotations

import re
from enum import StrEnum

import ndef

from anxinma import credential as fmt
from anxinma.errors import MalformedCredential

__all__ = [
    "EXTERNAL_TYPE",
    "NdefForm",
    "decode_message",
    "encode_message",
    "parse_type2_tlv",
    "serial_number_uid",
    "type2_tlv",
]

#: NFC Forum External Type (NFC RTD 1.0 §3.2.2): "<domain>:<type>". Every byte of it is paid on
#: every card, and NTAG213 has none to spare: a UID-bound worker credential (128 bytes) in an
#: external record is 3 + len(type) + 128 bytes, and the chip holds a 142-byte message at most
#: (docs/nfc.md). ``anxinma.cn:c`` (12) misses by one byte; ``axm.cn:c`` (8, AnXinMa, a domain
#: the programme registers) leaves 3 bytes for larger serials and enterprise ids.
EXTERNAL_TYPE = "urn:nfc:ext:axm.cn:c"
_URI_TYPE = "urn:nfc:wkt:U"
_MAX_MESSAGE = 8192
_SERIAL_NUMBER = re.compile(
    r"[0-9a-fA-F]{2}(?::?[0-9a-fA-F]{2})*"
)  # larger than any card we write; anything bigger is refused unparsed


class NdefForm(StrEnum):
    """Which records go on the card."""

    EXTERNAL = "external"  # binary credential only: fits NTAG213 (144 bytes)
    URI = "uri"  # the URL only: a phone opens the page
    BOTH = "both"  # URL first (phones), binary second (desk readers): fits NTAG215


def encode_message(credential: fmt.Credential, base_url: str, form: NdefForm | str = NdefForm.BOTH) -> bytes:
    """The raw NDEF message (the bytes that go inside the NDEF TLV) for ``credential``."""
    chosen = NdefForm(form)
    records: list[ndef.Record] = []
    if chosen in (NdefForm.URI, NdefForm.BOTH):
        records.append(ndef.UriRecord(credential.to_url(base_url)))
    if chosen in (NdefForm.EXTERNAL, NdefForm.BOTH):
        records.append(ndef.Record(EXTERNAL_TYPE, "", credential.to_bytes()))
    return b"".join(ndef.message_encoder(records))


def decode_message(data: bytes) -> bytes:
    """The binary credential carried by an NDEF message.

    Accepts the external record, the URI record or both (which must then agree), and ignores
    every unrelated record (a transit card's own data, a vCard). Raises
    :class:`MalformedCredential` when the message does not parse or carries no credential.
    """
    if len(data) > _MAX_MESSAGE:
        raise MalformedCredential("the NDEF message is too large to be a card's", message_zh="NDEF 消息过长")
    try:
        records = list(ndef.message_decoder(bytes(data), errors="strict"))
    except (ndef.DecodeError, ValueError, TypeError, IndexError) as exc:
        # ndeflib's own words ("ndef.record.Record TYPE_LENGTH …") stay in the chained exception
        # for whoever debugs; the person at the reader is told what to do.
        raise MalformedCredential(
            "the card's data cannot be read (damaged, or written by other software): tap again; "
            "if it fails again, have the card rewritten at the card desk",
            message_zh="无法读取卡内数据（已损坏，或由其他软件写入）：请重新刷卡；仍不行请到制卡点重写此卡",
        ) from exc
    from_external: bytes | None = None
    from_uri: bytes | None = None
    for record in records:
        if record.type == EXTERNAL_TYPE and from_external is None:
            from_external = bytes(record.data)
        elif record.type == _URI_TYPE and from_uri is None:
            try:
                from_uri = fmt.parse_text(record.iri)
            except MalformedCredential:
                continue  # some other link on a shared card: not ours
    if from_external is not None and from_uri is not None and from_external != from_uri:
        raise MalformedCredential(
            "the card's URI and binary records carry different credentials",
            message_zh="卡内网址记录与二进制记录不一致",
        )
    found = from_external if from_external is not None else from_uri
    if found is None:
        raise MalformedCredential("no 安心码 on this card", message_zh="卡内没有安心码")
    return found


def serial_number_uid(serial_number: object) -> bytes | None:
    """The card UID in a chip's serial number as Web NFC gives it (``NDEFReadingEvent.serialNumber``,
    ``"04:a2:24:5a:9b:6c:80"``; the colons may be left out), or None when it is not 4 to 10
    bytes of hex pairs. verify.js ``serialNumberUid`` is the same rule; one case file
    (tests/vectors/card-serial-rules.json) drives both."""
    if not isinstance(serial_number, str) or not _SERIAL_NUMBER.fullmatch(serial_number):
        return None
    uid = bytes.fromhex(serial_number.replace(":", ""))
    return uid if 4 <= len(uid) <= 10 else None


def type2_tlv(message: bytes) -> bytes:
    """An NDEF message TLV (NFC Forum Type 2 Tag §2.3) with its terminator: what a Type 2 card
    stores in user memory, so its length is what must fit the chip."""
    length = len(message)
    head = bytes([0x03, length]) if length < 0xFF else bytes([0x03, 0xFF]) + length.to_bytes(2, "big")
    return head + message + b"\xfe"


def parse_type2_tlv(memory: bytes) -> bytes:
    """The NDEF message inside Type 2 Tag data-area bytes (the inverse of :func:`type2_tlv`).

    Skips NULL, Lock Control and Memory Control TLVs before the NDEF TLV, as a reader does;
    raises :class:`MalformedCredential` when there is no complete NDEF message TLV.
    """
    offset = 0
    while offset < len(memory):
        kind = memory[offset]
        if kind == 0x00:
            offset += 1
            continue
        if kind == 0xFE or offset + 1 >= len(memory):
            break
        length, head = memory[offset + 1], 2
        if length == 0xFF:
            if offset + 4 > len(memory):
                break
            length, head = int.from_bytes(memory[offset + 2 : offset + 4], "big"), 4
        start = offset + head
        if kind == 0x03:
            if start + length > len(memory):
                break
            return bytes(memory[start : start + length])
        offset = start + length
    raise MalformedCredential("no NDEF message TLV in these bytes", message_zh="数据中没有 NDEF 消息")
