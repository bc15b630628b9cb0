"""The station's side of the issuer's enterprise API (docs/interfaces.md).

``POST /api/v1/workers/{id}/credentials`` with ``{"card_uid": hex}`` and an ``Idempotency-Key``
issues the worker's credential bound to that card, revoking (reason ``replaced``) the one it
held. The key makes the request safe to repeat: a retry after a timeout, or a station resumed
after a crash, gets the same credential back rather than a second one. Network errors, 429
and 5xx answers are retried with the same key; everything else is the caller's to handle.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anxinma.errors import AnxinmaError, IssuerRequestError
from anxinma.keys.jwk import public_key_from_jwk

__all__ = ["CheckInReceipt", "IssuedCredential", "IssuerClient"]

USER_AGENT = "anxinma-station/1"


@dataclass(frozen=True)
class CheckInReceipt:
    """The issuer's answer to a check-in: ``status`` 201 (new) or 200 (already recorded)."""

    status: int
    record_id: int | None
    record: dict[str, Any]


@dataclass(frozen=True)
class IssuedCredential:
    """The issuer's answer to an issue request."""

    serial: int
    code: str
    hex: str
    ndef_hex: str | None
    card_uid: str | None
    replaced_serial: int | None

    @classmethod
    def from_json(cls, data: Any) -> IssuedCredential:
        try:
            replaced = data.get("replaced_serial")
            return cls(
                serial=int(data["serial"]),
                code=str(data["code"]),
                hex=str(data["hex"]),
                ndef_hex=str(data["ndef_hex"]) if data.get("ndef_hex") else None,
                card_uid=str(data["card_uid"]) if data.get("card_uid") else None,
                replaced_serial=int(replaced) if replaced is not None else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IssuerRequestError(
                f"the issuer's answer lacks a field of the credential: {exc!r}",
                message_zh="发证服务的应答缺少安心码字段",
                status=200,
            ) from exc


class IssuerClient:
    """A small, retrying JSON client for the issuer; one per station run."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise IssuerRequestError(
                f"--issuer must be the issuer's URL, like https://anxinma.example.cn, got {base_url!r}",
                message_zh=f"--issuer 应为发证服务网址，如 https://anxinma.example.cn，收到 {base_url!r}",
            )
        self.base_url = base_url.strip().rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._enterprise_names: dict[int, str] = {}

    def issue_card_credential(
        self, worker_id: str, card_uid: bytes, idempotency_key: str
    ) -> IssuedCredential:
        """Issue (or re-issue) ``worker_id``'s credential bound to ``card_uid``.

        Raises :class:`IssuerRequestError`: ``status`` 401/403 (token), 404 (no such worker),
        409/422 (the issuer will not issue: its message says why), 0/5xx (unreachable after
        the retries, safe to repeat later with the same key).
        """
        path = f"/api/v1/workers/{urllib.parse.quote(worker_id, safe='')}/credentials"
        answer = self._exchange("POST", path, {"card_uid": card_uid.hex()}, idempotency_key)[1]
        return IssuedCredential.from_json(answer)

    def worker_enterprise(self, worker_id: str) -> tuple[int, str]:
        """(enterprise id, enterprise name) of ``worker_id`` in the issuer's own records: the
        worker's archive (``GET /api/v1/workers/{id}``), then the enterprise it names
        (``GET /api/v1/enterprises/{id}``, asked once per enterprise and client).

        Raises :class:`IssuerRequestError` as :meth:`issue_card_credential` does (404: no such
        worker, or not visible to this token).
        """
        worker = self._exchange(
            "GET", f"/api/v1/workers/{urllib.parse.quote(worker_id, safe='')}", None, None
        )[1]
        try:
            enterprise_id = int(worker["enterprise_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IssuerRequestError(
                f"the issuer's record of worker {worker_id} names no enterprise",
                message_zh=f"发证服务中服务员 {worker_id} 的记录没有所属企业",
                status=200,
            ) from exc
        if enterprise_id not in self._enterprise_names:
            enterprise = self._exchange("GET", f"/api/v1/enterprises/{enterprise_id}", None, None)[1]
            name = enterprise.get("name") if isinstance(enterprise, dict) else None
            if not isinstance(name, str):
                raise IssuerRequestError(
                    f"the issuer's record of enterprise {enterprise_id} has no name",
                    message_zh=f"发证服务中企业 {enterprise_id} 的记录没有名称",
                    status=200,
                )
            self._enterprise_names[enterprise_id] = name
        return enterprise_id, self._enterprise_names[enterprise_id]

    def signing_keys(self) -> dict[bytes, bytes]:
        """The issuer's published verifying keys (kid -> Ed25519 public key) from /jwks.json;
        empty if it publishes none or cannot be reached (the station then checks less)."""
        try:
            answer = self._exchange("GET", "/jwks.json", None, None, retries=0)[1]
        except IssuerRequestError:
            return {}
        keys: dict[bytes, bytes] = {}
        for jwk in answer.get("keys", []) if isinstance(answer, dict) else []:
            try:
                keys[bytes.fromhex(str(jwk["kid"]))] = public_key_from_jwk(jwk)
            except (AnxinmaError, KeyError, TypeError, ValueError):
                continue
        return keys

    def record_check_in(self, payload: dict[str, str]) -> CheckInReceipt:
        """``POST /api/v1/check-ins`` once, no retries (the check-in sender keeps its own backoff).

        Returns the receipt: 201 recorded now, 200 already recorded for that worker and month.
        Raises :class:`IssuerRequestError`: ``retryable`` (no answer, 429, 5xx) or not (401/403
        token, 400/404/409 the issuer will not count it: its reason is in the message).
        """
        status, answer = self._exchange(
            "POST", "/api/v1/check-ins", payload, None, retries=0, what="check-in"
        )
        record = answer if isinstance(answer, dict) else {}
        identifier = record.get("id")
        return CheckInReceipt(status, int(identifier) if isinstance(identifier, int) else None, record)

    def _exchange(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        idempotency_key: str | None,
        *,
        retries: int | None = None,
        what: str = "batch",
    ) -> tuple[int, Any]:
        """One request (retried ``self.retries`` times unless ``retries`` is given): the HTTP
        status and the JSON answer; raises :class:`IssuerRequestError` for a failure."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        attempts = 1 + (self.retries if retries is None else retries)
        error: IssuerRequestError | None = None
        for attempt in range(attempts):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return int(response.status), json.loads(response.read() or b"null")
            except urllib.error.HTTPError as exc:
                error = _http_error(exc, what)
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                later_en, later_zh = _LATER[what]
                error = IssuerRequestError(
                    f"the issuer at {self.base_url} did not answer ({reason}); {later_en}",
                    message_zh=f"发证服务 {self.base_url} 无应答（{reason}）；{later_zh}",
                    status=0,
                )
            except ValueError as exc:
                raise IssuerRequestError(
                    "the issuer answered with something that is not JSON",
                    message_zh="发证服务的应答不是 JSON",
                    status=200,
                ) from exc
            if not error.retryable:
                raise error
        assert error is not None
        raise error


#: What to do when the issuer is away, by what was being sent.
_LATER = {
    "batch": ("resume the batch when it is back", "恢复后请续做此批次"),
    "check-in": ("the check-in stays queued and is sent when it is back", "打卡已存入队列，恢复后自动上传"),
}


def _http_error(exc: urllib.error.HTTPError, what: str = "batch") -> IssuerRequestError:
    status = exc.code
    en, zh = _messages_of(exc)
    if what == "check-in" and status in (400, 404, 409):
        return IssuerRequestError(
            f"the issuer will not count this check-in (HTTP {status}){en}",
            message_zh=f"发证服务不予记录此次打卡（HTTP {status}）{zh}",
            status=status,
        )
    if status in (401, 403):
        return IssuerRequestError(
            f"the issuer refused the token (HTTP {status}){en}: give a valid --token or $ANXINMA_TOKEN",
            message_zh=f"发证服务拒绝了令牌（HTTP {status}）{zh}：请提供有效的 --token 或 $ANXINMA_TOKEN",
            status=status,
        )
    if status == 404:
        return IssuerRequestError(
            f"the issuer has no such worker (HTTP 404){en}",
            message_zh=f"发证服务中没有此服务员（HTTP 404）{zh}",
            status=status,
        )
    if status == 429 or status >= 500:
        later_en, later_zh = _LATER[what]
        return IssuerRequestError(
            f"the issuer is unavailable (HTTP {status}){en}; {later_en}",
            message_zh=f"发证服务暂不可用（HTTP {status}）{zh}；{later_zh}",
            status=status,
        )
    return IssuerRequestError(
        f"the issuer refused the request (HTTP {status}){en}",
        message_zh=f"发证服务拒绝了请求（HTTP {status}）{zh}",
        status=status,
    )


def _messages_of(exc: urllib.error.HTTPError) -> tuple[str, str]:
    """The issuer's own reason, English and Chinese (``{"error": {"en", "zh", "fields"}}``)."""
    try:
        body = json.loads(exc.read() or b"null")
    except (ValueError, OSError):
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return f": {error}", f"：{error}"
    if not isinstance(error, dict):
        return "", ""
    en = str(error.get("en") or error.get("message") or "")
    zh = str(error.get("zh") or en)
    fields = error.get("fields")
    if isinstance(fields, dict):
        for name, text in fields.items():
            if isinstance(text, dict):
                en += f" ({name}: {text.get('en', '')})"
                zh += f"（{name}：{text.get('zh', '')}）"
    return (f": {en}" if en else ""), (f"：{zh}" if zh else "")
