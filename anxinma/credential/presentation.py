"""The dynamic code: a holder-bound credential with a proof made by the holder's key
(docs/format.md §12, "The dynamic code (presentation)").

Binary form, deterministic CBOR (RFC 8949 §4.2.1)::

    83                      array(3)
    <credential>            the v1 credential's exact bytes, nested as the CBOR item it is (84 47 …)
    1a <time: 4 bytes>      uint: when the proof was made, whole seconds since 1970-01-01T00:00Z
    58 40 <proof: 64 bytes> Ed25519 by the credential's holder key (cnf) over proof_input()

A credential always begins ``84`` (an array of four) and a presentation ``83`` (an array of
three), so neither can be read as the other: the first byte decides, in every text form (hex
begins ``84`` / ``83``; the decimal digits ``372`` / ``36``–``371``). The proof signs the
context string, the credential as a byte string (so its length is signed: a proof over a
truncated credential does not verify) and the time — the COSE idea of a Sig_structure with its
own context, as ISO 18013-5's DeviceAuthentication binds the device key's signature to a
session. The proof adds 72 bytes to a credential.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from anxinma import ed25519
from anxinma.credential._cbor import MAJOR_ARRAY, MAJOR_BYTES, MAJOR_TEXT, head
from anxinma.credential.cose import Credential, decode
from anxinma.credential.text import _normalise_base, to_decimal
from anxinma.errors import MalformedCredential

__all__ = [
    "PRESENTATION_CONTEXT",
    "PRESENTATION_OVERHEAD",
    "Presentation",
    "decode_presentation",
    "is_presentation",
    "present",
    "proof_input",
]

#: The domain-separation string at the head of what the holder key signs (and nothing else
#: the holder key signs begins with the CBOR head ``83 77`` of this array).
PRESENTATION_CONTEXT = "anxinma-presentation-v1"
#: The first byte of a presentation: a CBOR array of three (a credential is an array of four).
PRESENTATION_HEAD = MAJOR_ARRAY | 3
#: Time is 4 bytes of seconds (``1a``): from 65536 (so deterministic CBOR always writes 4 bytes)
#: to 2**32 - 1 (the year 2106).
MIN_TIME, MAX_TIME = 0x10000, 0xFFFFFFFF
_TIME_HEAD = 0x1A
_PROOF_HEAD = head(MAJOR_BYTES, ed25519.SIGNATURE_SIZE)
#: What the proof costs beyond the credential: the array head, the time, the proof.
PRESENTATION_OVERHEAD = 1 + 5 + len(_PROOF_HEAD) + ed25519.SIGNATURE_SIZE
_TAIL = PRESENTATION_OVERHEAD - 1
_CONTEXT_PREFIX = bytes((MAJOR_ARRAY | 3,)) + head(MAJOR_TEXT, len(PRESENTATION_CONTEXT))
_CONTEXT_PREFIX += PRESENTATION_CONTEXT.encode("ascii")
# A credential is 84 47 <protected: 7> a0 58 <n> <payload: n> 58 40 <signature: 64> (§2.1):
# inside a presentation its payload length n sits at offset 12 and it ends at 1 + 78 + n.
_CREDENTIAL_FIXED = 78


def proof_input(credential: bytes, time: int) -> bytes:
    """What the holder key signs: ``["anxinma-presentation-v1", h'<credential>', time]`` in
    deterministic CBOR — the context, the credential's exact bytes with their length, the time."""
    return b"".join((_CONTEXT_PREFIX, head(MAJOR_BYTES, len(credential)), credential, head(0, time)))


def is_presentation(data: bytes) -> bool:
    """Whether binary ``data`` is shaped as a presentation (its first byte), not a credential."""
    return bool(data) and data[0] == PRESENTATION_HEAD


@dataclass(frozen=True, slots=True)
class Presentation:
    """A holder-bound credential, the time and the holder's proof over both (not yet verified)."""

    credential: Credential
    time: int
    proof: bytes
    raw: bytes = field(repr=False)

    def to_bytes(self) -> bytes:
        return self.raw

    def to_hex(self) -> str:
        return self.raw.hex()

    def to_decimal(self) -> str:
        return to_decimal(self.raw)

    def to_url(self, base_url: str) -> str:
        """``https://<verify host>/v/<decimal>``: the same link as a credential's, so any
        phone camera opens the consumer page."""
        return f"{_normalise_base(base_url)}/v/{self.to_decimal()}"

    def qr_segments(self, base_url: str) -> list[str]:
        """The URL as two QR segments, as :meth:`Credential.qr_segments` writes them."""
        return [f"{_normalise_base(base_url)}/v/".upper(), self.to_decimal()]

    def qr_text(self, base_url: str) -> str:
        return "".join(self.qr_segments(base_url))

    def signed_bytes(self) -> bytes:
        return proof_input(self.credential.raw, self.time)

    def proof_verifies(self) -> bool:
        """Whether the proof verifies under the credential's holder key (a presentation always
        has one: :func:`decode_presentation` refuses a credential without)."""
        holder_key = self.credential.claims.holder_key
        return holder_key is not None and ed25519.verify(holder_key, self.proof, self.signed_bytes())


def present(credential: Credential, holder_key: ed25519.SigningKey, time: int) -> Presentation:
    """The dynamic code of ``credential`` at ``time`` (whole seconds since 1970, UTC).

    Raises ValueError when the credential has no holder key, when ``holder_key`` is not the
    key it names (the proof would never verify), or when the time is out of range.
    """
    named = credential.claims.holder_key
    if named is None:
        raise ValueError("this credential has no holder key (cnf): a card credential has no dynamic code")
    if holder_key.public_key != named:
        raise ValueError("this is not the holder key the credential names")
    if type(time) is not int or not MIN_TIME <= time <= MAX_TIME:
        raise ValueError("the time is whole seconds since 1970, within 65536 … 2**32 - 1")
    proof = holder_key.sign(proof_input(credential.raw, time))
    raw = b"".join((bytes((PRESENTATION_HEAD,)), credential.raw, head(0, time), _PROOF_HEAD, proof))
    return Presentation(credential, time, proof, raw)


def decode_presentation(data: bytes) -> Presentation:
    """Parse a presentation's binary form (neither signature is checked here).

    Raises :class:`MalformedCredential` (or a subclass, from the credential inside) for
    anything that is not exactly ``83 <credential> 1a <time> 58 40 <proof>`` with a
    holder-bound v1 credential.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedCredential("a presentation is bytes", message_zh="动态码的二进制形式必须是字节")
    data = bytes(data)
    if not is_presentation(data):
        raise MalformedCredential(
            "not a dynamic code (an array of three beginning 83)", message_zh="这不是动态码"
        )
    if len(data) < 13 or data[1] != MAJOR_ARRAY | 4 or data[11] != MAJOR_BYTES | 24:
        raise MalformedCredential(
            "a dynamic code holds a v1 credential (84 47 … a0 58 n …) after its first byte",
            message_zh="动态码中没有有效的安心码",
        )
    end = 1 + _CREDENTIAL_FIXED + data[12]
    if len(data) != end + _TAIL:
        raise MalformedCredential(
            "a dynamic code is its credential and exactly 71 bytes of time and proof (truncated?)",
            message_zh="动态码长度不对（不完整？）",
        )
    credential = decode(data[1:end])
    if credential.claims.holder_key is None:
        raise MalformedCredential(
            "the credential in a dynamic code must carry a holder key (cnf)",
            message_zh="动态码中的安心码没有绑定手机密钥",
        )
    tail = data[end:]
    time = int.from_bytes(tail[1:5], "big")
    if tail[0] != _TIME_HEAD or time < MIN_TIME:
        raise MalformedCredential(
            "the time of a dynamic code is a 4-byte uint (1a, at least 65536)",
            message_zh="动态码的时间格式不对",
        )
    if tail[5:7] != _PROOF_HEAD:
        raise MalformedCredential(
            "the proof of a dynamic code is a 64-byte byte string (58 40)",
            message_zh="动态码的证明格式不对",
        )
    return Presentation(credential, time, tail[7:], data)
