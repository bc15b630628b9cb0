"""Who may call: API tokens, console accounts, sign-in and sessions (the rules of
:mod:`anxinma.issuer.services.auth`, run against the store). Every change here is audited through
:meth:`Context.tx` like any other; the operator's CLI acts as :data:`~anxinma.issuer.services.auth.SYSTEM`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from anxinma.issuer.errors import Conflict, Unauthorized, ValidationFailed, not_found
from anxinma.issuer.services.auth import (
    SYSTEM,
    TOKEN_PREFIX,
    Principal,
    Role,
    check_password,
    hash_password,
    issue_session,
    new_api_token,
    read_session,
    token_hash,
)
from anxinma.issuer.services.context import Context
from anxinma.issuer.store.models import ApiToken, Enterprise, User, utcnow


class Accounts:
    """Tokens, console users and their sessions."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def create_token(
        self,
        role: Role,
        enterprise_id: int | None = None,
        label: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> tuple[int, str]:
        """A new API token (shown once; stored hashed). ``principal``: who asks (the API and
        the console: issuer_admin only); None for the operator's CLI, audited as the system."""
        if principal is not None:
            self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        errors = _role_enterprise_errors(role, enterprise_id, ("企业管理员令牌", "an enterprise_admin token"))
        if errors:
            raise ValidationFailed(errors)
        token, hashed = new_api_token()
        with self.ctx.tx() as unit:
            if enterprise_id is not None:
                self.ctx.scope(SYSTEM).get(unit.session, Enterprise, enterprise_id)  # this issuer's, or 404
            row = ApiToken(token_hash=hashed, role=role.value, enterprise_id=enterprise_id, label=label)
            unit.session.add(row)
            unit.session.flush()
            unit.record(
                principal or SYSTEM,
                "token.create",
                "api_token",
                row.id,
                role=role.value,
                enterprise_id=enterprise_id,
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

    def authenticate(self, bearer: str) -> Principal:
        if bearer.startswith(TOKEN_PREFIX):
            with self.ctx.store.read() as session:
                row = session.execute(
                    select(ApiToken).where(ApiToken.token_hash == token_hash(bearer))
                ).scalar_one_or_none()
            if row is None or row.revoked_at is not None:
                raise Unauthorized("unknown or revoked API token", message_zh="API 令牌无效或已吊销")
            return Principal("token", str(row.id), Role(row.role), row.enterprise_id)
        principal = read_session(self.ctx.vault.session_key, bearer)
        with self.ctx.store.read() as session:
            user = session.get(User, int(principal.ident))
        if user is None or user.disabled:
            raise Unauthorized("this account is disabled", message_zh="账号已停用")
        return principal

    def create_user(
        self,
        username: str,
        password: str,
        role: Role,
        enterprise_id: int | None = None,
        *,
        principal: Principal | None = None,
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
            )
            return int(user.id)

    def set_user_disabled(self, principal: Principal, user_id: int, disabled: bool) -> User:
        """Disable (or enable again) a console account; a disabled account's sessions stop
        working at their next request (:meth:`authenticate` checks the flag)."""
        self.ctx.scope(principal).require(Role.ISSUER_ADMIN)
        with self.ctx.tx() as unit:
            user = unit.session.get(User, user_id, with_for_update=True)
            if user is None:
                raise not_found("user", "用户")
            if principal.kind == "session" and principal.ident == str(user_id) and disabled:
                raise Conflict("you cannot disable your own account", message_zh="不能停用自己的账号")
            if user.disabled != disabled:
                user.disabled = disabled
                unit.record(principal, "user.disable" if disabled else "user.enable", "user", user_id)
            return user

    def renew_session(self, principal: Principal) -> tuple[str, datetime]:
        """A fresh session token for a signed-in console user who is still enabled (the consoles
        renew a session while it is used, so 30 minutes is an idle timeout, not a hard cut)."""
        if principal.kind != "session":
            raise Unauthorized("not a console session", message_zh="不是控制台会话")
        with self.ctx.store.read() as session:
            user = session.get(User, int(principal.ident))
        if user is None or user.disabled:
            raise Unauthorized("this account is disabled", message_zh="账号已停用")
        return issue_session(
            self.ctx.vault.session_key,
            user_id=user.id,
            role=Role(user.role),
            enterprise_id=user.enterprise_id,
            seconds=self.ctx.config.session_seconds,
        )

    def login(self, username: str, password: str) -> tuple[str, datetime, User]:
        with self.ctx.store.read() as session:
            user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        # Check a password even for an unknown user, so timing does not tell which names exist.
        stored = user.password_hash if user is not None else hash_password("-")
        if not check_password(password, stored) or user is None or user.disabled:
            raise Unauthorized("wrong username or password", message_zh="用户名或密码错误")
        token, expires = issue_session(
            self.ctx.vault.session_key,
            user_id=user.id,
            role=Role(user.role),
            enterprise_id=user.enterprise_id,
            seconds=self.ctx.config.session_seconds,
        )
        return token, expires, user


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


__all__ = ["Accounts"]
