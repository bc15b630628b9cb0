"""Who may call: API tokens, console accounts, sign-in and sessions (the rules of
:mod:`anxinma.issuer.services.auth`, run against the store). Every change here is audited through
:meth:`Context.tx` like any other; the operator's CLI acts as :data:`~anxinma.issuer.services.auth.SYSTEM`.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from anxinma.issuer.errors import Conflict, SessionExpired, Unauthorized, ValidationFailed, not_found
from anxinma.issuer.services.auth import (
    SYSTEM,
    TOKEN_PREFIX,
    Principal,
    Role,
    check_password,
    dummy_hash,
    hash_password,
    issue_session,
    needs_rehash,
    new_api_token,
    new_session_id,
    read_session,
    session_ended,
    token_hash,
)
from anxinma.issuer.services.context import Context, Unit
from anxinma.issuer.services.district import valid_district
from anxinma.issuer.services.throttle import ACCOUNT_RULE, CLIENT_RULE, TOKEN_CLIENT_RULE, AttemptGuard
from anxinma.issuer.store.models import ApiToken, Enterprise, User, UserSession, utcnow

#: The longest a session lasts from its sign-in, however busy (renewal never passes it).
SESSION_MAX_SECONDS = 12 * 3600
#: Where a caller of the service did not say which client it is (the CLI, a test).
LOCAL_CLIENT = "local"


class Accounts:
    """Tokens, console users and their sessions."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        extra = ctx.config.extra
        self.guard = AttemptGuard(
            ctx.config.redis_url,
            account_rule=extra.get("login_account_limit", ACCOUNT_RULE),
            client_rule=extra.get("login_client_limit", CLIENT_RULE),
            token_client_rule=extra.get("token_client_limit", TOKEN_CLIENT_RULE),
            # One deployment's hosts share the session key (they must, to read each other's
            # sessions), so its digest names their counts apart from another deployment's on
            # the same Redis.
            namespace="anxinma-guess:" + hashlib.sha256(ctx.vault.session_key).hexdigest()[:16],
        )

    def create_token(
        self,
        role: Role,
        enterprise_id: int | None = None,
        label: str | None = None,
        *,
        principal: Principal | None = None,
        district: str | None = None,
    ) -> tuple[int, str]:
        """A new API token (shown once; stored hashed). ``principal``: who asks (the API and
        the console: issuer_admin only); None for the operator's CLI, audited as the system."""
        if principal is not None:
            self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        errors = _role_enterprise_errors(role, enterprise_id, ("企业管理员令牌", "an enterprise_admin token"))
        errors.update(_district_errors(role, district))
        if errors:
            raise ValidationFailed(errors)
        token, hashed = new_api_token()
        with self.ctx.tx() as unit:
            if enterprise_id is not None:
                self.ctx.scope(SYSTEM).get(unit.session, Enterprise, enterprise_id)  # this issuer's, or 404
            row = ApiToken(
                token_hash=hashed,
                role=role.value,
                enterprise_id=enterprise_id,
                label=label,
                district=district,
            )
            unit.session.add(row)
            unit.session.flush()
            unit.record(
                principal or SYSTEM,
                "token.create",
                "api_token",
                row.id,
                role=role.value,
                enterprise_id=enterprise_id,
                **({"district": district} if district is not None else {}),
            )
            return int(row.id), token

    def tokens(self, principal: Principal, limit: int = 200) -> list[ApiToken]:
        """The newest API tokens (hashes only: a token is shown once, when it is made)."""
        self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        with self.ctx.store.read() as session:
            return list(session.execute(select(ApiToken).order_by(ApiToken.id.desc()).limit(limit)).scalars())

    def users(self, principal: Principal, limit: int = 500) -> list[User]:
        """The console accounts, oldest first."""
        self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        with self.ctx.store.read() as session:
            return list(session.execute(select(User).order_by(User.id).limit(limit)).scalars())

    def username(self, principal: Principal) -> str:
        """The signed-in console user's name ("" for a token or an account that is gone)."""
        if principal.kind != "session":
            return ""
        with self.ctx.store.read() as session:
            user = session.get(User, int(principal.ident))
        return user.username if user is not None else ""

    def revoke_token(self, principal: Principal, token_id: int) -> None:
        self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        with self.ctx.tx() as unit:
            row = unit.session.get(ApiToken, token_id)
            if row is None:
                raise not_found("token", "令牌")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                unit.record(principal, "token.revoke", "api_token", token_id)

    def authenticate(self, bearer: str, client: str | None = None) -> Principal:
        """The caller of an API token or a session token; :class:`Unauthorized` (401) when it is
        unknown, revoked, forged, expired or its session has ended. ``client`` (the request's
        address): a client that keeps sending bad tokens is refused with 429 (:mod:`throttle`)
        for its further bad ones. A valid token still passes: tokens are far too long to guess,
        so the limit only sheds a flood of bad ones, and one broken client behind a shared
        address (a city office's NAT) must not lock every good one out with it."""
        try:
            return self._authenticate(bearer)
        except SessionExpired:
            raise  # a session that ran out is no guess
        except Unauthorized:
            if client is not None:
                self.guard.check_token(client)
                self.guard.failed_token(client)
            raise

    def _authenticate(self, bearer: str) -> Principal:
        if bearer.startswith(TOKEN_PREFIX):
            with self.ctx.store.read() as session:
                row = session.execute(
                    select(ApiToken).where(ApiToken.token_hash == token_hash(bearer))
                ).scalar_one_or_none()
            if row is None or row.revoked_at is not None:
                raise Unauthorized("unknown or revoked API token", message_zh="API 令牌无效或已吊销")
            return Principal("token", str(row.id), Role(row.role), row.enterprise_id, district=row.district)
        principal = read_session(self.ctx.vault.session_key, bearer)
        with self.ctx.store.read() as session:
            found = session.execute(
                select(User, UserSession)
                .join(UserSession, UserSession.user_id == User.id)
                .where(UserSession.id == principal.session_id, User.id == int(principal.ident))
            ).first()
        if found is None:
            raise session_ended()
        user, held = found
        if user.disabled:
            raise Unauthorized("this account is disabled", message_zh="账号已停用")
        if held.ended_at is not None or held.expires_at <= utcnow():
            raise session_ended()
        if Role(user.role) is not principal.role or user.enterprise_id != principal.enterprise_id:
            raise session_ended()  # the account was changed: its old sessions name the old role
        # The district is the account row's, read here at every request (the JWT does not carry it).
        return replace(principal, district=user.district)

    def create_user(
        self,
        username: str,
        password: str,
        role: Role,
        enterprise_id: int | None = None,
        *,
        principal: Principal | None = None,
        district: str | None = None,
    ) -> int:
        """A console account. ``principal``: who asks (issuer_admin); None for the CLI."""
        if principal is not None:
            self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        errors: dict[str, tuple[str, str]] = {}
        if not 2 <= len(username) <= 64 or not username.isprintable() or username != username.strip():
            errors["username"] = ("用户名应为 2 到 64 个字符", "a username has 2 to 64 characters")
        if len(password) < 10:
            errors["password"] = ("密码至少 10 个字符", "a password has at least 10 characters")
        errors.update(_role_enterprise_errors(role, enterprise_id, ("企业管理员", "an enterprise_admin")))
        errors.update(_district_errors(role, district))
        if errors:
            raise ValidationFailed(errors)
        with self.ctx.tx() as unit:
            if unit.session.execute(select(User.id).where(User.username == username)).first():
                raise Conflict("this username is taken", message_zh="该用户名已被使用")
            if enterprise_id is not None:
                self.ctx.scope(SYSTEM).get(unit.session, Enterprise, enterprise_id)
            user = User(
                username=username,
                password_hash=hash_password(password),
                role=role.value,
                enterprise_id=enterprise_id,
                district=district,
            )
            unit.session.add(user)
            unit.session.flush()
            unit.record(
                principal or SYSTEM,
                "user.create",
                "user",
                user.id,
                role=role.value,
                enterprise_id=enterprise_id,
                **({"district": district} if district is not None else {}),
            )
            return int(user.id)

    def set_user_disabled(self, principal: Principal, user_id: int, disabled: bool) -> User:
        """Disable (or enable again) a console account. Disabling ends its sessions at once on
        every host (enabling it again does not bring them back: the user signs in anew)."""
        self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        with self.ctx.tx() as unit:
            user = unit.session.get(User, user_id, with_for_update=True)
            if user is None:
                raise not_found("user", "用户")
            if principal.kind == "session" and principal.ident == str(user_id) and disabled:
                raise Conflict("you cannot disable your own account", message_zh="不能停用自己的账号")
            if user.disabled != disabled:
                user.disabled = disabled
                ended = _end_sessions(unit.session, user_id, "disabled") if disabled else 0
                unit.record(
                    principal,
                    "user.disable" if disabled else "user.enable",
                    "user",
                    user_id,
                    **({"sessions_ended": ended} if disabled else {}),
                )
            return user

    def renew_session(self, principal: Principal) -> tuple[str, datetime]:
        """A fresh token of the same server-side session for a signed-in console user (the
        consoles renew a session while it is used, so 30 minutes is an idle timeout); never past
        the session's cap, :data:`SESSION_MAX_SECONDS` after sign-in. Nothing is written: the
        session row is the same, so ending it ends every token it was renewed into."""
        if principal.kind != "session" or principal.session_id is None:
            raise Unauthorized("not a console session", message_zh="不是控制台会话")
        with self.ctx.store.read() as session:
            user = session.get(User, int(principal.ident))
            row = session.get(UserSession, principal.session_id)
        if user is None or user.disabled:
            raise Unauthorized("this account is disabled", message_zh="账号已停用")
        if row is None or row.ended_at is not None or row.user_id != user.id:
            raise session_ended()
        expires = min(_now() + timedelta(seconds=self.ctx.config.session_seconds), row.expires_at)
        token = issue_session(
            self.ctx.vault.session_key,
            user_id=user.id,
            role=Role(user.role),
            enterprise_id=user.enterprise_id,
            session_id=row.id,
            expires=expires,
        )
        return token, expires

    def login(self, username: str, password: str, client: str = LOCAL_CLIENT) -> tuple[str, datetime, User]:
        """Sign in: a session token, when it expires (the idle timeout) and the user.

        Refused with 401 for a wrong name or password or a disabled account, and with 429
        (:class:`~anxinma.issuer.services.throttle.TooManyAttempts`) when the account or the
        ``client`` address has failed too often (the right password included: see
        :mod:`~anxinma.issuer.services.throttle`). A hash made with older parameters is replaced
        by one at today's (the password is at hand only now). The new session is a row, audited
        as ``session.start`` in the same transaction.
        """
        self.guard.check_sign_in(username, client)
        with self.ctx.store.read() as session:
            user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        # Check a password even for an unknown user, so timing does not tell which names exist.
        stored = user.password_hash if user is not None else dummy_hash()
        if not check_password(password, stored) or user is None or user.disabled:
            self.guard.failed_sign_in(username, client)
            raise Unauthorized("wrong username or password", message_zh="用户名或密码错误")
        self.guard.signed_in(username)
        who = Principal("session", str(user.id), Role(user.role), user.enterprise_id, district=user.district)
        # The new hash is made before the transaction: it takes a good part of a second, and a
        # write transaction should not wait on it.
        rehashed = hash_password(password) if needs_rehash(stored) else None
        with self.ctx.tx() as unit:
            if rehashed is not None:
                _rehash(unit, who, user.id, stored, rehashed)
            token, expires = self._start_session(unit, who)
        return token, expires, user

    def _start_session(self, unit: Unit, who: Principal) -> tuple[str, datetime]:
        now = _now()
        expires_at = now + timedelta(seconds=SESSION_MAX_SECONDS)
        row = UserSession(id=new_session_id(), user_id=int(who.ident), created_at=now, expires_at=expires_at)
        # Housekeeping in the same audited transaction: this user's sessions that are long over.
        unit.session.execute(
            delete(UserSession).where(UserSession.user_id == row.user_id, UserSession.expires_at < now)
        )
        unit.session.add(row)
        unit.session.flush()
        expires = min(now + timedelta(seconds=self.ctx.config.session_seconds), expires_at)
        signed_in = replace(who, session_id=row.id)
        # No client address in the log: the audit chain holds no personal data (the counts of
        # the sign-in limits are where addresses are seen, and they expire).
        unit.record(signed_in, "session.start", "user", who.ident)
        token = issue_session(
            self.ctx.vault.session_key,
            user_id=int(who.ident),
            role=who.role,
            enterprise_id=who.enterprise_id,
            session_id=row.id,
            expires=expires,
        )
        return token, expires

    def logout(self, principal: Principal) -> None:
        """End the caller's session at once, on every host (its cookie and any copy of its token
        as a Bearer stop working at the next request). Audited as ``session.end``."""
        if principal.kind != "session" or principal.session_id is None:
            raise Unauthorized("not a session", message_zh="不是会话")
        with self.ctx.tx() as unit:
            ended = _changed(
                unit.session.execute(
                    update(UserSession)
                    .where(UserSession.id == principal.session_id, UserSession.ended_at.is_(None))
                    .values(ended_at=_now(), end_reason="logout")
                )
            )
            if ended:
                unit.record(principal, "session.end", "user", principal.ident)

    def change_password(
        self, principal: Principal, current: str, new: str, client: str = LOCAL_CLIENT
    ) -> None:
        """A signed-in user sets a new password, giving the current one (counted like a
        sign-in: a stolen session cannot guess it). Every other session of the user ends at
        once; the one that asked stays signed in."""
        if principal.kind != "session" or principal.session_id is None:
            raise Unauthorized("not a console session", message_zh="不是控制台会话")
        with self.ctx.store.read() as session:
            user = session.get(User, int(principal.ident))
        if user is None or user.disabled:
            raise Unauthorized("this account is disabled", message_zh="账号已停用")
        self.guard.check_sign_in(user.username, client)
        if not check_password(current, user.password_hash):
            self.guard.failed_sign_in(user.username, client)
            raise ValidationFailed({"current_password": ("当前密码不正确", "the current password is wrong")})
        self._set_password(principal, user.id, new, keep=principal.session_id)

    def set_password(self, principal: Principal | None, user_id: int, new: str) -> None:
        """The issuer admin (or the operator's CLI, ``principal`` None) sets a user's password;
        every session of the user ends at once, on every host."""
        if principal is not None:
            self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        self._set_password(principal or SYSTEM, user_id, new, keep=None)

    def _set_password(self, principal: Principal, user_id: int, new: str, keep: str | None) -> None:
        if len(new) < 10:
            raise ValidationFailed(
                {"password": ("密码至少 10 个字符", "a password has at least 10 characters")}
            )
        hashed = hash_password(new)
        with self.ctx.tx() as unit:
            user = unit.session.get(User, user_id, with_for_update=True)
            if user is None:
                raise not_found("user", "用户")
            user.password_hash = hashed
            ended = _end_sessions(unit.session, user_id, "password", keep=keep)
            unit.record(principal, "user.password", "user", user_id, sessions_ended=ended)

    def user_id(self, username: str) -> int:
        """The id of the account named ``username`` (404 when there is none)."""
        with self.ctx.store.read() as session:
            found = session.execute(select(User.id).where(User.username == username)).scalar_one_or_none()
        if found is None:
            raise not_found("user", "用户")
        return int(found)

    def unlock(self, username: str, *, principal: Principal | None = None) -> None:
        """Lift the sign-in lock of an account, e.g. for a user an attacker keeps locked out
        (the client-address limits stay). Audited as ``user.unlock``; ``principal`` None: the
        operator's CLI. Raises 404 for an unknown name."""
        if principal is not None:
            self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        user_id = self.user_id(username)
        with self.ctx.tx() as unit:
            unit.record(principal or SYSTEM, "user.unlock", "user", user_id)
        self.guard.clear_account(username)


def _now() -> datetime:
    return utcnow().replace(microsecond=0)


def _changed(result: Any) -> int:
    """How many rows an UPDATE changed (a :class:`CursorResult`'s count)."""
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def _end_sessions(session: Session, user_id: int, reason: str, keep: str | None = None) -> int:
    """End every open session of ``user_id`` (but ``keep``): how many were ended."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep)
    return _changed(session.execute(query.values(ended_at=_now(), end_reason=reason)))


def _rehash(unit: Unit, who: Principal, user_id: int, stored: str, rehashed: str) -> None:
    """Replace a hash made with older parameters by ``rehashed`` (only if nobody changed the
    password meanwhile)."""
    changed = _changed(
        unit.session.execute(
            update(User)
            .where(User.id == user_id, User.password_hash == stored)
            .values(password_hash=rehashed)
        )
    )
    if changed:
        unit.record(who, "user.rehash", "user", user_id, scheme="scrypt")


def _role_enterprise_errors(
    role: Role, enterprise_id: int | None, what: tuple[str, str]
) -> dict[str, tuple[str, str]]:
    """The one rule for tokens and console accounts alike (``what`` names which, 中文 and
    English): an enterprise administrator names its enterprise; the issuer admin and the
    regulator belong to none (a card operator may)."""
    if role is Role.ENTERPRISE_ADMIN and enterprise_id is None:
        return {"enterprise": (f"{what[0]}必须指定企业", f"{what[1]} names its enterprise")}
    if role in (Role.ISSUER_ADMIN, Role.REGULATOR) and enterprise_id is not None:
        return {"enterprise": ("该角色不属于某个企业", "this role is not tied to an enterprise")}
    return {}


def _district_errors(role: Role, district: str | None) -> dict[str, tuple[str, str]]:
    """A district (区县) confines a regulator only, and is a 6-digit division code."""
    if district is None:
        return {}
    if role is not Role.REGULATOR:
        return {"district": ("只有监管账号可限定区县", "only a regulator is confined to a district")}
    if not valid_district(district):
        return {
            "district": (
                "区县应为 6 位行政区划代码，如 330203",
                "a district is a 6-digit division code, e.g. 330203",
            )
        }
    return {}


__all__ = ["Accounts"]
