"""Ed25519 public keys as JWKs (RFC 8037) — the one place that converts between the two."""

from __future__ import annotations

import base64
from typing import Any

from anxinma.errors import TrustListError


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
