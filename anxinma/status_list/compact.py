"""The compact status list: what our own verifiers download (docs/interfaces.md, status data, docs/interfaces.md).

A tagged COSE_Sign1 (RFC 9052 §4.2, tag 18), protected header ``{1: -8, 4: kid, 16:
COMPACT_TYPE}``, an empty unprotected map, and a deterministic CBOR payload with integer keys:
issuer code, shard, size, version, iat, and one *stream* per non-zero status value present.
A stream lists the indices holding its value as gaps (``g0 = i0``, ``gj = ij - i(j-1) - 1``),
each Golomb-Rice coded with the stream's parameter ``k``: ``g >> k`` one bits, a zero bit,
then the low ``k`` bits, MSB first, packed MSB-first and zero-padded to a byte. For sparse
statuses this sits within a few per cent of the Shannon bound, where a zlib bit string cannot
get below 1.36x at 1 % revoked (docs/benchmarks.md, ``status_sizes``).

The encoder takes, per stream, the smallest ``k`` of least bits, so one array, version, iat
and key always give the same bytes. The decoder reads nothing it did not check: every refusal
is a :class:`~anxinma.errors.StatusListError`, and the expensive part (the streams) is
decoded only after the signature verifies.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import repeat
from operator import rshift
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma.errors import StatusListError
from anxinma.keys.trust_list import CLOCK_LEEWAY
from anxinma.status_list.array import _MASK, _PER_BYTE, BITS, SHARD_SIZE, StatusArray
from anxinma.status_list.tokens import PublicKeyLookup, StatusList, digest_of, signer_key

COMPACT_TYPE = "application/vnd.anxinma.status+cose"
MAX_K = 24
_COSE_SIGN1_TAG = 18
_COSE_ALG, _COSE_KID, _COSE_TYP = 1, 4, 16  # RFC 9052 §3.1, RFC 9596 (typ)
_EDDSA = -8
_KID_LENGTH = 2
_ISSUER, _SHARD, _SIZE, _VERSION, _IAT, _STREAMS = 1, 2, 3, 4, 5, 6
_PAYLOAD_KEYS = frozenset({_ISSUER, _SHARD, _SIZE, _VERSION, _IAT, _STREAMS})
_HEADER_KEYS = frozenset({_COSE_ALG, _COSE_KID, _COSE_TYP})
#: What a verifier reports as the compact form's expiry: none (the freshness document governs age).
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)

#: For each slot of a packed byte, the table that gives that slot's value.
_SLOT_TABLES = tuple(bytes(byte >> (slot * BITS) & _MASK for byte in range(256)) for slot in range(_PER_BYTE))
#: For each value, the table that turns a byte-a-serial array into its marks: b"0" where it is.
_MARKS = {value: bytes(0x30 if byte == value else 0x31 for byte in range(256)) for value in (1, 2, 3)}


def _malformed(why: str, zh: str) -> StatusListError:
    return StatusListError(f"malformed compact status list: {why}", message_zh=f"紧凑状态列表格式错误：{zh}")


# -- Golomb-Rice coding of one stream ---------------------------------------------------------


def _gaps(indices: list[int]) -> list[int]:
    return [index - previous - 1 for previous, index in zip([-1, *indices], indices, strict=False)]


def _rice_bits(gaps: list[int], k: int) -> int:
    quotient_bits: int = sum(map(rshift, gaps, repeat(k)))
    return len(gaps) * (k + 1) + quotient_bits


def best_k(gaps: list[int]) -> int:
    """The smallest k in 0..24 that codes ``gaps`` in the fewest bits.

    The bit count is convex in k (each step up adds one bit a gap and saves a non-increasing
    number of quotient bits), so a walk from the usual estimate, log2 of the mean gap times
    ln 2, finds the exact minimum in a few evaluations.
    """
    if not gaps:
        return 0
    mean = sum(gaps) / len(gaps)
    k = max(0, min(MAX_K, int(mean * 0.6931471805599453).bit_length() - 1))
    cost = _rice_bits(gaps, k)
    while k > 0 and (lower := _rice_bits(gaps, k - 1)) <= cost:
        k, cost = k - 1, lower
    while k < MAX_K and (higher := _rice_bits(gaps, k + 1)) < cost:
        k, cost = k + 1, higher
    return k


class _CodeOf(dict[int, str]):
    """The Rice code of one gap as a bit string, worked out once per distinct gap."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def __missing__(self, gap: int) -> str:
        k = self.k
        code = "1" * (gap >> k) + "0" + (format(gap & ((1 << k) - 1), f"0{k}b") if k else "")
        self[gap] = code
        return code


def rice_encode(gaps: list[int], k: int) -> bytes:
    """Golomb-Rice code of ``gaps`` with parameter ``k``, MSB-first, zero-padded to a byte."""
    bits = "".join(map(_CodeOf(k).__getitem__, gaps))
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


class _GapOf(dict[str, int]):
    """The gap of one code (``1``*q ``0`` low), worked out once per distinct code."""

    def __init__(self, k: int, size: int) -> None:
        super().__init__()
        self.k, self.size = k, size

    def __missing__(self, code: str) -> int:
        k = self.k
        gap = (len(code) - k - 1) << k | int(code[-k:], 2)
        if gap >= self.size:
            raise _malformed(f"a gap of {gap} in a shard of {self.size}", f"间隔 {gap} 超出大小 {self.size}")
        self[code] = gap
        return gap


class _UnaryOf(dict[str, str]):
    """The unary form of one code: its gap as that many ``1`` then a ``0``."""

    def __init__(self, gap_of: _GapOf) -> None:
        super().__init__()
        self.gap_of = gap_of

    def __missing__(self, code: str) -> str:
        unary = "1" * self.gap_of[code] + "0"
        self[code] = unary
        return unary


def rice_decode_marks(data: bytes, k: int, count: int, size: int) -> str:
    """The stream as one character a serial up to its last index: ``0`` at each index, ``1`` between.

    That is the stream's code at k = 0 (each gap in unary), so the bytes become one bit string,
    the C regex engine cuts it into codes, and each distinct code is expanded once and looked up
    through ``map`` after that: no Python-level step per entry, so a full shard decodes in tens
    of milliseconds. Refuses a short stream, bytes after its last code, padding bits that are
    not zero, and indices beyond ``size``.
    """
    if not 0 <= k <= MAX_K:
        raise _malformed(f"Rice parameter {k} is above {MAX_K}", f"Rice 参数 {k} 超过 {MAX_K}")
    if count < 1:
        raise _malformed("a stream with no entries", "空的数据流")
    if len(data) * 8 < count * (k + 1):
        raise _malformed("a stream shorter than its count", "数据流短于其条目数")
    bits = format(int.from_bytes(data, "big"), f"0{len(data) * 8}b") if data else ""
    if k == 0:
        runs = bits.split("0", count)
        if len(runs) <= count:
            raise _malformed("a stream ends before its count", "数据流在条目数之前结束")
        used = len(bits) - len(runs[-1])
        marks = bits[:used]
    else:
        codes = re.findall(f"1*0[01]{{{k}}}", bits)
        if len(codes) < count:
            raise _malformed("a stream ends before its count", "数据流在条目数之前结束")
        del codes[count:]  # zero padding can read as further codes
        used = sum(map(len, codes))
        gap_of = _GapOf(k, size)
        # The unary form must not be allowed to grow past a few shards before its length is
        # checked: its longest is (quotient bits + count) << k plus count. Only when that bound
        # is above four shards (a large k on a long stream) are the gaps summed first.
        longest = ((used - count * (k + 1) + count) << k) + count
        if longest > 4 * SHARD_SIZE and sum(map(gap_of.__getitem__, codes)) + count > size:
            raise _malformed(f"an index beyond the size {size}", f"索引超出大小 {size}")
        marks = "".join(map(_UnaryOf(gap_of).__getitem__, codes))
    if (used + 7) // 8 != len(data):
        raise _malformed("bytes after a stream's last entry", "数据流末尾有多余字节")
    if "1" in bits[used:]:
        raise _malformed("padding bits that are not zero", "填充位不为零")
    if len(marks) > size:
        raise _malformed(
            f"index {len(marks) - 1} is not below the size {size}", f"索引 {len(marks) - 1} 超出大小 {size}"
        )
    return marks


def rice_decode(data: bytes, k: int, count: int, size: int = SHARD_SIZE) -> list[int]:
    """The ``count`` gaps coded in ``data`` (what :func:`rice_encode` was given)."""
    indices = [match.start() for match in re.finditer("0", rice_decode_marks(data, k, count, size))]
    return _gaps(indices)


# -- the signed form --------------------------------------------------------------------------


def _spread(array: StatusArray) -> bytes:
    """One byte a serial (its value), for the first ``array.size`` serials."""
    raw = array.to_bytes()[: (array.size + _PER_BYTE - 1) // _PER_BYTE]
    spread = bytearray(len(raw) * _PER_BYTE)
    for slot, table in enumerate(_SLOT_TABLES):
        spread[slot::_PER_BYTE] = raw.translate(table)
    return bytes(spread[: array.size])


def _streams(array: StatusArray) -> list[list[Any]]:
    """The streams of the non-zero values present, ascending.

    Each value's marks (``0`` at its indices, ``1`` elsewhere) come from one translate; cut at
    the zeros, the runs of ones are the gaps: C-speed steps only, no Python loop per serial.
    """
    spread = _spread(array)
    streams = []
    for value in (1, 2, 3):
        count = spread.count(value)
        if count:
            marks = spread.translate(_MARKS[value])
            gaps = list(map(len, marks[: marks.rindex(b"0")].split(b"0")))
            k = best_k(gaps)
            streams.append([value, k, count, rice_encode(gaps, k)])
    return streams


def sign_compact_status_list(
    array: StatusArray,
    *,
    issuer_code: int,
    shard: int,
    version: int,
    key: Ed25519PrivateKey,
    kid: bytes,
    now: datetime | None = None,
) -> bytes:
    """The compact form of one shard's statuses, signed; the same inputs give the same bytes.

    Raises ValueError for a version below 1, a size above 2^20 or a kid that is not 2 bytes.
    """
    import cbor2

    from anxinma.credential import sig_structure

    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"a compact status list's version is an int >= 1, not {version!r}")
    if not 0 <= array.size <= SHARD_SIZE:
        raise ValueError(f"a shard holds at most {SHARD_SIZE} serials, not {array.size}")
    if len(kid) != _KID_LENGTH:
        raise ValueError(f"a kid is {_KID_LENGTH} bytes, not {len(kid)}")
    moment = now or datetime.now(UTC)
    protected = cbor2.dumps(
        {_COSE_ALG: _EDDSA, _COSE_KID: bytes(kid), _COSE_TYP: COMPACT_TYPE}, canonical=True
    )
    payload = cbor2.dumps(
        {
            _ISSUER: issuer_code,
            _SHARD: shard,
            _SIZE: array.size,
            _VERSION: version,
            _IAT: int(moment.timestamp()),
            _STREAMS: _streams(array),
        },
        canonical=True,
    )
    signature = key.sign(sig_structure(protected, payload))
    return bytes(
        cbor2.dumps(cbor2.CBORTag(_COSE_SIGN1_TAG, [protected, {}, payload, signature]), canonical=True)
    )


def compact_digest(data: bytes) -> str:
    """Lower-case hex SHA-256 of a compact form's bytes (what the freshness document lists)."""
    return digest_of(bytes(data))


def _cbor(data: bytes, what: str, zh: str) -> Any:
    """One CBOR item that is all of ``data``, in canonical form (RFC 8949 §4.2.1)."""
    import cbor2

    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # untrusted bytes: any failure of the parser is a refusal
        raise _malformed(f"{what} is not CBOR or is truncated", f"{zh}不是 CBOR 或被截断") from exc
    if stream.tell() != len(data):
        raise _malformed(f"bytes after {what}", f"{zh}之后有多余字节")
    try:
        canonical = cbor2.dumps(item, canonical=True)
    except Exception as exc:  # e.g. a tag or a value that does not encode back
        raise _malformed(f"{what} holds a value we do not read", f"{zh}含有无法读取的值") from exc
    if canonical != data:
        raise _malformed(f"{what} is not in deterministic CBOR", f"{zh}不是确定性 CBOR 编码")
    return item


def _uint(value: Any, name: str, name_zh: str, *, at_least: int = 0, at_most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < at_least:
        raise _malformed(
            f"{name} {value!r} is not an int >= {at_least}", f"{name_zh}不是不小于 {at_least} 的整数"
        )
    if at_most is not None and value > at_most:
        raise _malformed(f"{name} {value} is above {at_most}", f"{name_zh} {value} 超过 {at_most}")
    return value


def _envelope(data: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """(protected, kid, payload, signature) of a well-formed tagged COSE_Sign1 of our type."""
    import cbor2

    if not isinstance(data, bytes | bytearray | memoryview):
        raise _malformed("not bytes", "不是字节串")
    outer = _cbor(bytes(data), "the envelope", "外层结构")
    if not isinstance(outer, cbor2.CBORTag) or outer.tag != _COSE_SIGN1_TAG:
        raise _malformed("not a tagged COSE_Sign1 (tag 18)", "不是带标签 18 的 COSE_Sign1")
    parts = outer.value
    # cbor2 reads the inside of a tag immutably: tuples and frozendicts
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise _malformed("a COSE_Sign1 is an array of 4", "COSE_Sign1 应为 4 个元素的数组")
    protected, unprotected, payload, signature = parts
    if not (isinstance(protected, bytes) and isinstance(payload, bytes) and isinstance(signature, bytes)):
        raise _malformed("header, payload and signature are byte strings", "头部、载荷和签名应为字节串")
    if not isinstance(unprotected, Mapping) or len(unprotected) != 0:
        raise _malformed("the unprotected header is not empty", "未受保护的头部不为空")
    if len(signature) != 64:
        raise _malformed("an Ed25519 signature is 64 bytes", "Ed25519 签名应为 64 字节")
    header = _cbor(protected, "the protected header", "受保护头部")
    if not isinstance(header, dict) or set(header) != _HEADER_KEYS:
        raise _malformed("the protected header is not {1: alg, 4: kid, 16: typ}", "受保护头部字段不符")
    if header[_COSE_TYP] != COMPACT_TYPE:
        raise StatusListError(
            f"not a compact status list (typ {header[_COSE_TYP]!r})", message_zh="这不是紧凑状态列表"
        )
    if header[_COSE_ALG] != _EDDSA or isinstance(header[_COSE_ALG], bool):
        raise StatusListError(
            f"compact status list algorithm {header[_COSE_ALG]!r} is not EdDSA (-8)",
            message_zh="紧凑状态列表的签名算法不是 EdDSA",
        )
    kid = header[_COSE_KID]
    if not isinstance(kid, bytes) or len(kid) != _KID_LENGTH:
        raise _malformed(f"a kid is {_KID_LENGTH} bytes", f"密钥标识应为 {_KID_LENGTH} 字节")
    return protected, kid, payload, signature


def _decode_streams(streams: Any, size: int) -> StatusArray:
    if not isinstance(streams, list | tuple):
        raise _malformed("the streams are not an array", "数据流不是数组")
    parsed = []
    previous_value = 0
    total = 0
    for stream in streams:
        if not isinstance(stream, list | tuple) or len(stream) != 4:
            raise _malformed("a stream is [value, k, count, bytes]", "数据流应为 [值, k, 条目数, 字节]")
        value, k, count, coded = stream
        value = _uint(value, "a stream's value", "数据流的值", at_least=1, at_most=3)
        if value <= previous_value:
            raise _malformed(
                f"stream of value {value} after value {previous_value} (ascending, once each)",
                "数据流的值应递增且各出现一次",
            )
        previous_value = value
        k = _uint(k, "a stream's k", "数据流的 k", at_most=MAX_K)
        count = _uint(count, "a stream's count", "数据流的条目数", at_least=1, at_most=size)
        if not isinstance(coded, bytes):
            raise _malformed("a stream's code is not a byte string", "数据流编码不是字节串")
        # The longest code of count gaps under size: count*(k+1) bits plus at most size >> k
        # quotient bits. Anything longer is refused before it becomes a bit string.
        if len(coded) > (count * (k + 1) + (size >> k) + 7) // 8:
            raise _malformed("a stream longer than its count and size allow", "数据流长于条目数和大小所允许")
        total += count
        if total > size:
            raise _malformed("more entries than serials", "条目多于序号数")
        parsed.append((value, k, count, coded))
    # One byte a slot first: each stream's marks translated to its value, ORed together (C
    # speed), then four slots a byte: the values are at most 3, so the shifted slices never
    # carry into the next byte.
    padded = -(-size // _PER_BYTE) * _PER_BYTE
    slots = 0
    for value, k, count, coded in parsed:
        marks = rice_decode_marks(coded, k, count, size).encode("ascii")
        slots |= int.from_bytes(marks.translate(bytes.maketrans(b"01", bytes((value, 0)))), "little")
    spread = slots.to_bytes(padded, "little")
    # Indices are strictly ascending within a stream; two streams naming one index leave
    # fewer non-zero slots than entries.
    if padded - spread.count(0) != total:
        raise _malformed("an index listed in two streams", "同一索引出现在两个数据流中")
    packed = 0
    for slot in range(_PER_BYTE):
        packed |= int.from_bytes(spread[slot::_PER_BYTE], "little") << (slot * BITS)
    data = packed.to_bytes(padded // _PER_BYTE, "little")
    return StatusArray(size, data)


def load_compact_status_list(
    data: bytes, public_key_for: PublicKeyLookup, *, now: datetime | None = None
) -> StatusList:
    """Verify and read a compact status list; raises :class:`StatusListError` saying why not.

    ``public_key_for(issuer_code, kid)`` gives the raw public key of a key that may sign the
    issuer's status data, or None. An ``iat`` more than the clock leeway after ``now`` is
    refused (as the JWT form's is); there is no expiry: ``expires_at`` is :data:`FAR_FUTURE`
    and the freshness document governs age.
    """
    from anxinma import ed25519
    from anxinma.credential import sig_structure

    protected, kid, payload_bytes, signature = _envelope(data)
    payload = _cbor(payload_bytes, "the payload", "载荷")
    if not isinstance(payload, dict) or set(payload) != _PAYLOAD_KEYS:
        raise _malformed("the payload's keys are not 1 to 6", "载荷的键应为 1 至 6")
    issuer_code = _uint(payload[_ISSUER], "the issuer code", "签发机构代码")
    shard = _uint(payload[_SHARD], "the shard", "分片号")
    size = _uint(payload[_SIZE], "the size", "大小", at_most=SHARD_SIZE)
    version = _uint(payload[_VERSION], "the version", "版本号", at_least=1)
    issued = _uint(payload[_IAT], "iat", "签发时间")
    public = signer_key(public_key_for, issuer_code, kid)
    if not ed25519.verify(public, signature, sig_structure(protected, payload_bytes)):
        raise StatusListError("the status list signature does not verify", message_zh="状态列表签名无效")
    moment = now or datetime.now(UTC)
    if issued > (moment + CLOCK_LEEWAY).timestamp():
        raise StatusListError(
            "the compact status list is dated in the future", message_zh="紧凑状态列表的签发时间在未来"
        )
    try:
        issued_at = datetime.fromtimestamp(issued, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _malformed(f"iat {issued} is out of range", "签发时间超出范围") from exc
    array = _decode_streams(payload[_STREAMS], size)
    blob = bytes(data)
    return StatusList(
        issuer_code=issuer_code,
        shard=shard,
        size=size,
        issued_at=issued_at,
        expires_at=FAR_FUTURE,
        ttl=0,
        uri="",
        array=array,
        token="",
        version=version,
        digest=digest_of(blob),
        compact=blob,
        kid=bytes(kid),
    )
