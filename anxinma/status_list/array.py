"""The statuses themselves: two bits a serial, packed as the Token Status List packs them.

Index ``i`` occupies bits ``2i`` and ``2i+1`` counted from the least significant bit of byte 0
(draft-ietf-oauth-status-list §4.1). The credential's serial is its index; one shard covers
:data:`SHARD_SIZE` serials.
"""

from __future__ import annotations

import zlib
from enum import IntEnum

from anxinma.errors import StatusListError

BITS = 2
SHARD_SIZE = 1 << 20
_PER_BYTE = 8 // BITS
_MASK = (1 << BITS) - 1
MAX_INFLATED = SHARD_SIZE // _PER_BYTE  # a status list never inflates beyond one shard


class CredentialStatus(IntEnum):
    """The two-bit value of a serial in a status list."""

    VALID = 0
    REVOKED = 1
    SUSPENDED = 2
    ATTENTION = 3  # genuine, but a health certificate or insurance lapsed (安心码 yellow)


#: The enum member of each two-bit value (an index is several times cheaper than the enum call,
#: and a verifier looks one up per scan).
_STATUS_OF_BITS = tuple(CredentialStatus(value) for value in range(1 << BITS))


def shard_of(serial: int) -> tuple[int, int]:
    """(shard number, index within the shard) of a serial."""
    return divmod(serial, SHARD_SIZE)


class StatusArray:
    """A packed array of two-bit statuses, growable, with O(1) get and set."""

    __slots__ = ("_data", "size")

    def __init__(self, size: int = 0, data: bytes | bytearray | None = None) -> None:
        self.size = size
        needed = (size + _PER_BYTE - 1) // _PER_BYTE
        self._data = bytearray(data) if data is not None else bytearray(needed)
        if len(self._data) < needed:
            self._data.extend(bytes(needed - len(self._data)))

    def get(self, index: int) -> CredentialStatus:
        if not 0 <= index < self.size:
            raise IndexError(index)
        byte, slot = divmod(index, _PER_BYTE)
        return _STATUS_OF_BITS[self._data[byte] >> (slot * BITS) & _MASK]

    def set(self, index: int, status: CredentialStatus | int) -> None:
        if index < 0:
            raise IndexError(index)
        if index >= self.size:
            self.grow(index + 1)
        byte, slot = divmod(index, _PER_BYTE)
        shift = slot * BITS
        self._data[byte] = (self._data[byte] & ~(_MASK << shift)) | (int(status) & _MASK) << shift

    def grow(self, size: int) -> None:
        if size > self.size:
            self.size = size
            needed = (size + _PER_BYTE - 1) // _PER_BYTE
            self._data.extend(bytes(needed - len(self._data)))

    def to_bytes(self) -> bytes:
        return bytes(self._data)

    def compress(self) -> bytes:
        """The smallest of a few zlib strategies (any inflater reads each).

        Huffman-only and RLE cost milliseconds for a full shard and win whenever the
        statuses are mixed; LZ77 at level 9 (hundreds of ms) only pays on sparse arrays, where
        long runs of zero bytes appear, so it is tried only when most bytes are zero.
        """
        raw = bytes(self._data)
        best = None
        strategies = [zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE]
        if raw and raw.count(0) > 0.9 * len(raw):
            strategies.append(zlib.Z_FILTERED)
        for strategy in strategies:
            compressor = zlib.compressobj(9, zlib.DEFLATED, 15, 9, strategy)
            candidate = compressor.compress(raw) + compressor.flush()
            if best is None or len(candidate) < len(best):
                best = candidate
        assert best is not None
        return best

    @classmethod
    def decompress(cls, data: bytes, size: int | None = None) -> StatusArray:
        """Inflate, refusing anything that would grow beyond one shard (a zip bomb)."""
        try:
            inflater = zlib.decompressobj()
            raw = inflater.decompress(data, MAX_INFLATED + 1)
            if len(raw) > MAX_INFLATED or inflater.unconsumed_tail or not inflater.eof:
                raise StatusListError("the status list is larger than a shard or truncated")
        except zlib.error as exc:
            raise StatusListError(f"the status list does not inflate: {exc}") from exc
        return cls(size if size is not None else len(raw) * _PER_BYTE, raw)

    def counts(self) -> dict[CredentialStatus, int]:
        totals = dict.fromkeys(CredentialStatus, 0)
        for index in range(self.size):
            totals[self.get(index)] += 1
        return totals
