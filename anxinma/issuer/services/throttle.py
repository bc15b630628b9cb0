"""Limits on guessing: failed sign-ins counted per account and per client, shared by every host
through Redis when the service has one (in-process on the embedded default).

The rule (docs/api.md, "Sign-in limits"):

* per account — :data:`ACCOUNT_RULE` failed passwords (10 in 5 minutes, moving window) and the
  account refuses every sign-in, the right password included, until the oldest failure is
  5 minutes old; a successful sign-in clears the account's count. The window is short so that
  an attacker cannot lock a real user out for long;
* per client address — :data:`CLIENT_RULE` failures (30 in an hour) over all accounts, so one
  address can neither guess across many accounts nor keep one account locked: it gets about
  three lock windows an hour, then it is refused itself;
* per client address, for tokens — :data:`TOKEN_CLIENT_RULE` unknown or forged Bearer tokens
  and session cookies (60 in 10 minutes): a token is too long to guess, but a client that keeps
  trying is refused.

Only failures are counted: an office behind one address signs in as often as it likes. A check
and the count after it are two steps, so a burst of parallel guesses can overshoot a limit by
the number of requests in flight (a handful), never more. When Redis fails, each host counts in
its own memory until it is back (limits hold per host rather than not at all).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from anxinma.issuer.errors import ApiError

log = logging.getLogger(__name__)

#: Failed sign-ins of one account (any client) before it refuses sign-in for a while.
ACCOUNT_RULE = "10 per 5 minutes"
#: Failed sign-ins from one client address (any account).
CLIENT_RULE = "30 per hour"
#: Unknown, revoked or forged tokens and cookies from one client address.
TOKEN_CLIENT_RULE = "60 per 10 minutes"

_NAMESPACE = "anxinma-guess"
#: After Redis failed, seconds before it is tried again (counts stay in memory meanwhile).
_REDIS_RETRY_SECONDS = 5.0


class TooManyAttempts(ApiError):
    """429: too many failed attempts; ``retry_after`` seconds until the next one is counted."""

    http_status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int, *, message: str, message_zh: str) -> None:
        self.retry_after = retry_after
        super().__init__(message, message_zh=message_zh)

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"]["retry_after"] = self.retry_after
        return body


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


@dataclass(frozen=True)
class _Rule:
    kind: str  # "account" | "client" | "token"
    item: RateLimitItem


class AttemptGuard:
    """Counts failures and refuses (:class:`TooManyAttempts`) once a limit is reached."""

    def __init__(
        self,
        redis_url: str | None,
        *,
        account_rule: str = ACCOUNT_RULE,
        client_rule: str = CLIENT_RULE,
        token_client_rule: str = TOKEN_CLIENT_RULE,
        namespace: str = _NAMESPACE,
    ) -> None:
        self.namespace = namespace
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._redis_down_until = 0.0
        if redis_url:
            storage = storage_from_string(redis_url, socket_timeout=1, socket_connect_timeout=1)
            assert isinstance(storage, Storage)  # a redis:// URL names the synchronous storage
            self._shared = MovingWindowRateLimiter(storage)
        self.account = _Rule("account", parse(account_rule))
        self.client = _Rule("client", parse(client_rule))
        self.token = _Rule("token", parse(token_client_rule))

    # -- the two steps of a sign-in ----------------------------------------------------------

    def check_sign_in(self, account: str, client: str) -> None:
        """Refuse (429) when the account or the client has used its failures up."""
        for rule, key in ((self.account, _account_key(account)), (self.client, client)):
            wait = self._wait(rule, key)
            if wait:
                raise _refusal(rule.kind, wait)

    def failed_sign_in(self, account: str, client: str) -> None:
        self._hit(self.account, _account_key(account))
        self._hit(self.client, client)

    def signed_in(self, account: str) -> None:
        """The account's count starts again (the client's does not)."""
        self._call("clear", self.account.item, self.namespace, self.account.kind, _account_key(account))

    def clear_account(self, account: str) -> None:
        """The operator lifts an account's lock (``anxinma user unlock``)."""
        self.signed_in(account)

    # -- tokens --------------------------------------------------------------------------------

    def check_token(self, client: str) -> None:
        wait = self._wait(self.token, client)
        if wait:
            raise _refusal("token", wait)

    def failed_token(self, client: str) -> None:
        self._hit(self.token, client)

    # -- storage ---------------------------------------------------------------------------------

    def _wait(self, rule: _Rule, key: str) -> int:
        """Seconds until ``key`` may try again under ``rule`` (0: it may now)."""
        allowed = self._call("test", rule.item, self.namespace, rule.kind, key)
        if allowed:
            return 0
        stats = self._call("get_window_stats", rule.item, self.namespace, rule.kind, key)
        return max(1, math.ceil(float(stats.reset_time) - time.time()))

    def _hit(self, rule: _Rule, key: str) -> None:
        self._call("hit", rule.item, self.namespace, rule.kind, key)

    def _call(self, method: str, *args: Any) -> Any:
        if self._shared is not None and time.monotonic() >= self._redis_down_until:
            try:
                return getattr(self._shared, method)(*args)
            except Exception as exc:  # Redis down or failing: count on this host meanwhile
                # and leave it alone for a few seconds, so a sign-in does not wait on a
                # timeout at each of its steps.
                self._redis_down_until = time.monotonic() + _REDIS_RETRY_SECONDS
                log.warning("sign-in limits counted on this host only: Redis failed (%s)", type(exc).__name__)
        return getattr(self._memory, method)(*args)


def _account_key(account: str) -> str:
    # The same account however it is typed; unknown names are counted too (no hint which exist).
    return account.strip().casefold()[:128]


def _refusal(kind: str, wait: int) -> TooManyAttempts:
    minutes = _minutes(wait)
    if kind == "account":
        return TooManyAttempts(
            wait,
            message=f"too many wrong passwords for this account: try again in {minutes} min",
            message_zh=f"该账号密码错误次数过多，请 {minutes} 分钟后再试",
        )
    if kind == "client":
        return TooManyAttempts(
            wait,
            message=f"too many failed sign-ins from this address: try again in {minutes} min",
            message_zh=f"此网络地址登录失败次数过多，请 {minutes} 分钟后再试",
        )
    return TooManyAttempts(
        wait,
        message=f"too many invalid tokens from this address: check the token, try again in {minutes} min",
        message_zh=f"此网络地址提交的无效令牌过多，请检查令牌，{minutes} 分钟后再试",
    )


__all__ = ["ACCOUNT_RULE", "CLIENT_RULE", "TOKEN_CLIENT_RULE", "AttemptGuard", "TooManyAttempts"]
