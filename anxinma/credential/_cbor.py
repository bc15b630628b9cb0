"""Deterministic CBOR (RFC 8949 §4.2.1): the few heads the format writes, and the reference
check that a byte string is the deterministic encoding of what it decodes to."""

from __future__ import annotations

import struct
from typing import Any

import cbor2

from anxinma.errors import MalformedCredential

MAJOR_UINT = 0x00
MAJOR_BYTES = 0x40
MAJOR_TEXT = 0x60
MAJOR_ARRAY = 0x80
MAJOR_MAP = 0xA0


ONE_BYTE = tuple(bytes((i,)) for i in range(256))
PACK_1 = struct.Struct(">BB").pack
PACK_2 = struct.Struct(">BH").pack
PACK_4 = struct.Struct(">BI").pack
PACK_8 = struct.Struct(">BQ").pack


def head(major: int, value: int) -> bytes:
    """The shortest head of a data item (RFC 8949 §4.2.1: preferred serialization)."""
    if value < 24:
        return ONE_BYTE[major | value]
    if value < 0x100:
        return PACK_1(major | 24, value)
    if value < 0x10000:
        return PACK_2(major | 25, value)
    if value < 0x100000000:
        return PACK_4(major | 26, value)
    return PACK_8(major | 27, value)


def bstr(data: bytes) -> bytes:
    return head(MAJOR_BYTES, len(data)) + data


def loads_canonical(data: bytes, what: str) -> Any:
    """Decode one CBOR item and insist the bytes are its deterministic encoding.

    Re-encoding and comparing catches, in one rule, trailing bytes, indefinite lengths,
    non-shortest integers, unsorted or duplicate map keys and tags we never write.
    """
    try:
        value = cbor2.loads(data)
        canonical = cbor2.dumps(value, canonical=True)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError, LookupError) as exc:
        raise MalformedCredential(
            f"{what}: not valid CBOR ({exc})", message_zh=f"{what}：不是有效的 CBOR"
        ) from exc
    if canonical != data:
        # RFC 8949 §4.2: deterministic encoding. A credential has exactly one byte form (the one
        # signed); any other spelling of the same values was re-encoded or altered on the way.
        raise MalformedCredential(
            f"{what}: the bytes are not written the one way a 安心码 is (re-encoded or altered "
            "after signing): use the code exactly as it was issued",
            message_zh=f"{what}：编码方式与签发时不同（签发后被重新编码或改动）：请使用原样签发的安心码",
        )
    return value
