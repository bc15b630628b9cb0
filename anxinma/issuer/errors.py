"""Errors the API turns into responses: each knows its HTTP status and speaks Chinese and English."""

from __future__ import annotations

from typing import Any

from anxinma.errors import AnxinmaError


class ApiError(AnxinmaError):
    """A request the service refuses; ``http_status`` is what the API answers."""

    http_status = 400
    code = "bad_request"

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "zh": self.message_zh, "en": self.message}}


class ValidationFailed(ApiError):
    """400 with one message per field: ``fields = {name: (zh, en)}``."""

    code = "validation_failed"

    def __init__(self, fields: dict[str, tuple[str, str]]) -> None:
        self.fields = fields
        super().__init__(
            "some fields are invalid: " + ", ".join(sorted(fields)),
            message_zh="部分字段有误：" + "、".join(sorted(fields)),
        )

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"]["fields"] = {name: {"zh": zh, "en": en} for name, (zh, en) in self.fields.items()}
        return body


class Unauthorized(ApiError):
    http_status = 401
    code = "unauthorized"


class SessionExpired(Unauthorized):
    """A console session that was valid but ran out (the consoles show a page for it)."""


class Forbidden(ApiError):
    http_status = 403
    code = "forbidden"


class NotFound(ApiError):
    http_status = 404
    code = "not_found"


class Conflict(ApiError):
    http_status = 409
    code = "conflict"


def not_found(what_en: str, what_zh: str) -> NotFound:
    return NotFound(f"no such {what_en}", message_zh=f"{what_zh}不存在")


def forbidden() -> Forbidden:
    return Forbidden("your role may not do this", message_zh="当前角色无权执行此操作")
