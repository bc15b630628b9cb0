"""The Ed25519 seam: libsodium and OpenSSL agree byte for byte, and a forged input is a False,
never an exception (RFC 8032 §7.1 test vector 1 pins both)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma import ed25519
from anxinma.errors import AnxinmaError, MalformedCredential

# RFC 8032 §7.1, TEST 1: the empty message.
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def test_the_seam_signs_the_rfc_8032_test_vector() -> None:
    key = ed25519.SigningKey(RFC_SEED)
    assert key.public_key == RFC_PUBLIC
    assert key.sign(b"") == RFC_SIGNATURE
    assert ed25519.verify(RFC_PUBLIC, RFC_SIGNATURE, b"")
    assert ed25519.verify_openssl(RFC_PUBLIC, RFC_SIGNATURE, b"")


def test_libsodium_and_openssl_make_the_same_signature() -> None:
    assert ed25519.BACKEND == "libsodium"  # PyNaCl is a declared dependency: the fast path is in use
    key = ed25519.SigningKey.generate()
    message = "安心码".encode() * 20
    assert key.sign(message) == key.to_cryptography().sign(message)
    again = ed25519.SigningKey.from_cryptography(Ed25519PrivateKey.from_private_bytes(key.seed))
    assert again.public_key == key.public_key


@pytest.mark.parametrize(
    ("public", "signature", "message"),
    [
        (RFC_PUBLIC, RFC_SIGNATURE, b"x"),  # another message
        (RFC_PUBLIC, RFC_SIGNATURE[:-1] + b"\x00", b""),  # another signature
        (bytes(32), RFC_SIGNATURE, b""),  # another (invalid point) key
        (RFC_PUBLIC[:31], RFC_SIGNATURE, b""),  # short key
        (RFC_PUBLIC, RFC_SIGNATURE[:63], b""),  # short signature
        (b"", b"", b""),
    ],
)
def test_a_forged_or_broken_input_is_false_not_an_exception(
    public: bytes, signature: bytes, message: bytes
) -> None:
    assert ed25519.verify(public, signature, message) is False
    assert ed25519.verify_openssl(public, signature, message) is False


def test_a_seed_is_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        ed25519.SigningKey(b"short")


def test_errors_explain_themselves_chinese_first() -> None:
    error = MalformedCredential("empty input", message_zh="输入为空")
    assert error.explain() == "输入为空 / empty input"
    assert isinstance(error, AnxinmaError) and error.code == "malformed"
    assert AnxinmaError("only English").explain() == "only English"
