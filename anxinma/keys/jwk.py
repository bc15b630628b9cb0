"""Ed25519 public keys as JWKs (RFC 8037) and as the PEM files operators hand around — the one
place that converts between those forms and raw key bytes."""

from __future__ import annotations

import base64
from typing import Any

from anxinma.errors import KeyStoreError, TrustListError


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str):
        raise TrustListError("expected base64url text", message_zh="应为 base64url 文本")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise TrustListError("bad base64url", message_zh="base64url 格式错误") from exc


def public_jwk(public_key: bytes, kid: bytes) -> dict[str, Any]:
    """RFC 8037 §2: an OKP / Ed25519 JWK, with the kid in hex as everywhere in the CLI."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(public_key),
        "kid": kid.hex(),
        "use": "sig",
        "alg": "EdDSA",
    }


def public_key_from_jwk(jwk: Any) -> bytes:
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise TrustListError("a key must be an OKP / Ed25519 JWK", message_zh="密钥必须是 OKP / Ed25519 JWK")
    key = b64url_decode(jwk.get("x", ""))
    if len(key) != 32:
        raise TrustListError("an Ed25519 public key is 32 bytes", message_zh="Ed25519 公钥必须是 32 字节")
    return key


def read_public_key(data: bytes) -> bytes:
    """The raw Ed25519 public key of a PEM file (what ``anxinma keys root`` prints) or of 64 hex
    digits: the one reader of a root key for the verifier's ``--root-key``, the service's
    ``ANXINMA_ROOT_KEY`` and ``credential verify``. Raises :class:`KeyStoreError` for anything else."""
    import re

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    text = data.strip()
    if re.fullmatch(rb"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text.decode())
    try:
        key = load_pem_public_key(text)
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(
            "the root key is not a PEM public key or 64 hex digits",
            message_zh="根公钥不是 PEM 公钥或 64 位十六进制",
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyStoreError("the root key is not an Ed25519 key", message_zh="根公钥不是 Ed25519 公钥")
    return key.public_bytes_raw()
