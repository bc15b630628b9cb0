"""The one seam through which Ed25519 signatures are made and checked.

libsodium (through PyNaCl) verifies about twice as fast as OpenSSL (through cryptography) on
the machines we measured (docs/benchmarks.md), and verification is the hot path of every
verifier, so it is used when importable; cryptography is the fallback and also reads and
writes key files. Both produce identical signatures (Ed25519 is deterministic, RFC 8032).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_SIZE = 64
PUBLIC_KEY_SIZE = 32
SEED_SIZE = 32

try:  # pragma: no branch - which one is present is a property of the install
    from nacl.bindings import (
        crypto_core_ed25519_is_valid_point,
        crypto_sign,
        crypto_sign_open,
        crypto_sign_seed_keypair,
    )
    from nacl.exceptions import BadSignatureError as _NaclBadSignature

    BACKEND = "libsodium"
except ImportError:  # pragma: no cover - PyNaCl is a declared dependency
    BACKEND = "openssl"


class SigningKey:
    """An Ed25519 private key held as its 32-byte seed, able to sign with either backend."""

    __slots__ = ("_nacl_secret", "_openssl", "public_key", "seed")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_SIZE:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self.seed = seed
        self._openssl = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._openssl.public_key().public_bytes_raw()
        self._nacl_secret: bytes | None = None
        if BACKEND == "libsodium":
            public, secret = crypto_sign_seed_keypair(seed)
            assert public == self.public_key
            self._nacl_secret = secret

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_cryptography(cls, key: Ed25519PrivateKey) -> SigningKey:
        return cls(key.private_bytes_raw())

    def to_cryptography(self) -> Ed25519PrivateKey:
        return self._openssl

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte detached signature of ``message``."""
        if self._nacl_secret is not None:
            return bytes(crypto_sign(message, self._nacl_secret)[:SIGNATURE_SIZE])
        return self._openssl.sign(message)


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True iff ``signature`` is a valid Ed25519 signature of ``message`` under ``public_key``.

    Never raises for a wrong key, signature or message: a false answer is the normal outcome
    of a forged input, not an exception.
    """
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    if BACKEND == "libsodium":
        try:
            crypto_sign_open(signature + message, public_key)
        except (_NaclBadSignature, ValueError):
            return False
        return True
    return verify_openssl(public_key, signature, message)  # pragma: no cover


def is_valid_public_key(public_key: bytes) -> bool:
    """Whether ``public_key`` is 32 bytes that encode a point of the Ed25519 curve, in its
    prime-order subgroup and not of small order (libsodium's ``crypto_core_ed25519_is_valid_point``).

    A holder key is checked before a credential names it: a key that is not a point could never
    make a proof, and a small-order key would let anyone make one.
    """
    if len(public_key) != PUBLIC_KEY_SIZE:
        return False
    if BACKEND == "libsodium":
        return bool(crypto_core_ed25519_is_valid_point(public_key))
    return True  # pragma: no cover - OpenSSL has no point check; PyNaCl is a declared dependency


def verify_openssl(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """The OpenSSL path, kept callable so the benchmark can compare both bindings."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
