"""Who is calling: API tokens (stored as SHA-256 only), console users (scrypt) and the
short-lived JWT sessions they sign in for (pyjwt, HS256 with ``secret/session.key``).

Roles (docs/api.md, "Roles"):

* ``issuer_admin`` — the city platform: everything;
* ``regulator`` — the commerce bureau: reads everything, revokes/suspends, keeps the blacklist;
* ``enterprise_admin`` — one enterprise: its own workers and credentials only;
* ``card_operator`` — the card desk: reads workers and issues (binds cards) for any worker of
  the issuer (or of one enterprise, if the token names one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from anxinma.issuer.errors import SessionExpired, Unauthorized

TOKEN_PREFIX = "axm_"
SESSION_TYPE = "anxinma-session+jwt"


class Role(StrEnum):
    ISSUER_ADMIN = "issuer_admin"
    REGULATOR = "regulator"
    ENTERPRISE_ADMIN = "enterprise_admin"
    CARD_OPERATOR = "card_operator"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``enterprise_id`` set means: only that enterprise's records."""

    kind: str  # "token" | "session" | "system"
    ident: str
    role: Role
    enterprise_id: int | None = None

    @property
    def actor(self) -> str:
        """How the audit log names the caller (no personal data)."""
        scope = f"@{self.enterprise_id}" if self.enterprise_id is not None else ""
        return f"{self.kind}:{self.ident}:{self.role.value}{scope}"

    @property
    def scope(self) -> str:
        """The namespace of this caller's idempotency keys."""
        return f"{self.kind}:{self.ident}"

    @classmethod
    def from_actor(cls, actor: str) -> Principal:
        """The principal an :attr:`actor` string names: a durable job resumed on another host
        acts as the one who started it (the string is all the job's row keeps)."""
        kind, ident, rest = actor.split(":", 2)
        role, _, enterprise = rest.partition("@")
        return cls(kind, ident, Role(role), int(enterprise) if enterprise else None)


SYSTEM = Principal("system", "issuer", Role.ISSUER_ADMIN)


def new_api_token() -> tuple[str, str]:
    """(token shown once, its hash to store)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# scrypt (RFC 7914) from the standard library: memory-hard, no extra dependency.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


def issue_session(
    key: bytes, *, user_id: int, role: Role, enterprise_id: int | None, seconds: int
) -> tuple[str, datetime]:
    now = datetime.now(UTC).replace(microsecond=0)
    expires = now + timedelta(seconds=seconds)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": role.value,
        "ent": enterprise_id,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, key, algorithm="HS256", headers={"typ": SESSION_TYPE}), expires


def read_session(key: bytes, token: str) -> Principal:
    """The principal of a valid session token; :class:`Unauthorized` saying why otherwise."""
    try:
        if jwt.get_unverified_header(token).get("typ") != SESSION_TYPE:
            raise Unauthorized("not a session token", message_zh="不是会话令牌")
        claims = jwt.decode(token, key, algorithms=["HS256"], options={"require": ["sub", "exp", "role"]})
        role = Role(claims["role"])
        enterprise = claims.get("ent")
        return Principal(
            "session", str(claims["sub"]), role, int(enterprise) if enterprise is not None else None
        )
    except jwt.ExpiredSignatureError:
        raise SessionExpired(
            "the session expired: sign in again", message_zh="会话已过期，请重新登录"
        ) from None
    except (jwt.PyJWTError, ValueError, KeyError):
        raise Unauthorized("invalid session token", message_zh="会话令牌无效") from None
