"""Who is calling: API tokens (stored as SHA-256 only), console users (scrypt) and the
short-lived JWT sessions they sign in for (pyjwt, HS256 with ``secret/session.key``). Each
session JWT names a server-side session (``jti`` = a ``user_sessions`` row), so signing out, a
password change or a disabled account ends it at once on every host.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    """An authenticated caller. ``enterprise_id`` set means: only that enterprise's records;
    ``district`` set (a regulator's): only the records of that district's enterprises."""

    kind: str  # "token" | "session" | "system"
    ident: str
    role: Role
    enterprise_id: int | None = None
    #: A session's server-side id (the JWT's ``jti``, a row of ``user_sessions``); None for tokens.
    session_id: str | None = field(default=None, compare=False)
    #: The district (区县, 6-digit division code) a regulator is confined to; None: the city.
    district: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names the caller (no personal data): ``@7`` an enterprise,
        ``@d330203`` a district."""
        scope = f"@{self.enterprise_id}" if self.enterprise_id is not None else ""
        if self.district is not None:
            scope = f"@d{self.district}"
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
        if enterprise.startswith("d"):
            return cls(kind, ident, Role(role), None, district=enterprise[1:])
        return cls(kind, ident, Role(role), int(enterprise) if enterprise else None)


SYSTEM = Principal("system", "issuer", Role.ISSUER_ADMIN)


def new_api_token() -> tuple[str, str]:
    """(token shown once, its hash to store)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# scrypt (RFC 7914) from the standard library: memory-hard, no extra dependency. N=2^17, r=8,
# p=1 is OWASP's password-storage advice for scrypt (128 MiB and about half a second per check
# on one core here); argon2id would need a C extension for the same strength, so scrypt stays.
# A hash stored with weaker parameters is upgraded at the next successful sign-in
# (:func:`needs_rehash`). ``SCRYPT_N`` is lowered only by the test suite (tests/conftest.py),
# which creates hundreds of accounts; nothing in the service or its settings changes it.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # hashlib refuses more than 32 MiB by default; allow what the parameters need (128*r*N) and a margin.
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=128 * r * n + 16 * 1024 * 1024
    )


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$digest`` at today's parameters, with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (any parameters it was made with; False for a
    malformed hash, never an exception)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or not 1 < int(n) <= 2**20 or not 0 < int(r) * int(p) <= 64:
            return False
        computed = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with weaker parameters than today's (it is then rehashed at
    the next successful sign-in, when the password is at hand)."""
    try:
        scheme, n, r, p, _salt, _digest = stored.split("$")
        return scheme != "scrypt" or int(n) < SCRYPT_N or int(r) < SCRYPT_R or int(p) < SCRYPT_P
    except ValueError:
        return True


_DUMMY_HASHES: dict[int, str] = {}


def dummy_hash() -> str:
    """A hash at today's parameters to check an unknown user's password against, so the time a
    refusal takes does not tell which usernames exist (made once per process)."""
    if SCRYPT_N not in _DUMMY_HASHES:
        _DUMMY_HASHES[SCRYPT_N] = hash_password(secrets.token_urlsafe(12))
    return _DUMMY_HASHES[SCRYPT_N]


def new_session_id() -> str:
    """A session's server-side id (128 random bits): the JWT's ``jti`` and the row's key."""
    return secrets.token_hex(16)


def issue_session(
    key: bytes,
    *,
    user_id: int,
    role: Role,
    enterprise_id: int | None,
    session_id: str,
    expires: datetime,
) -> str:
    """A session JWT for the server-side session ``session_id``, valid until ``expires``. The
    signature only says the service made it; whether the session still holds is the row's
    (:meth:`~anxinma.issuer.services.accounts.Accounts.authenticate`)."""
    now = datetime.now(UTC).replace(microsecond=0)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": role.value,
        "ent": enterprise_id,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": session_id,
    }
    return jwt.encode(claims, key, algorithm="HS256", headers={"typ": SESSION_TYPE})


def read_session(key: bytes, token: str) -> Principal:
    """The principal of a well-signed, unexpired session token; :class:`Unauthorized` saying why
    otherwise. The caller still checks the session's row (it may have been ended)."""
    try:
        if jwt.get_unverified_header(token).get("typ") != SESSION_TYPE:
            raise Unauthorized("not a session token", message_zh="不是会话令牌")
        claims = jwt.decode(
            token, key, algorithms=["HS256"], options={"require": ["sub", "exp", "role", "jti"]}
        )
        role = Role(claims["role"])
        enterprise = claims.get("ent")
        return Principal(
            "session",
            str(int(claims["sub"])),
            role,
            int(enterprise) if enterprise is not None else None,
            session_id=str(claims["jti"]),
        )
    except jwt.ExpiredSignatureError:
        raise SessionExpired(
            "the session expired: sign in again", message_zh="会话已过期，请重新登录"
        ) from None
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        raise Unauthorized("invalid session token", message_zh="会话令牌无效") from None


def session_ended() -> Unauthorized:
    """A session that was signed out, or ended by a password change or a disabled account."""
    return Unauthorized(
        "this session has ended (signed out, password changed or account disabled): sign in again",
        message_zh="此会话已结束（已退出、密码已修改或账号已停用），请重新登录",
    )
