"""What a request names, read in one place: the ids in its path, the integers of its query and
its JSON body. Each refuses what the store cannot hold with the project's 4xx errors, never a
database error or a failed ``assert`` (a 500 with a traceback is a bug the caller can trigger):

* an id in the path beyond what its table holds names no row: 404, on every route of the app
  (:func:`bound_ids` is registered on the app, not per blueprint, so a new route is covered);
* a query integer out of its range, or not ASCII digits: 400 naming the parameter;
* a body that is not JSON, or not the JSON object a route reads: 400; over the limit: 413.

The bounds are the store's: ids are 32-bit on PostgreSQL (:data:`~anxinma.issuer.store.models.MAX_ID`),
serials the format's (:data:`~anxinma.credential.MAX_SERIAL`, a 64-bit column).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from anxinma.credential import MAX_SERIAL
from anxinma.issuer.errors import ValidationFailed, not_found
from anxinma.issuer.store.models import MAX_ID

#: Path parameters that are not a table's 32-bit id, with their own bound.
PATH_BOUNDS = {"serial": MAX_SERIAL}


def bound_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An id in the path beyond what the store holds is simply not found (404), the same answer
    as an id no row has: never a database overflow (SQLite beyond 64 bits, PostgreSQL beyond 32)."""
    for name, value in (values or {}).items():
        if isinstance(value, int) and not 0 <= value <= PATH_BOUNDS.get(name, MAX_ID):
            raise not_found("record", "记录")


def int_value(
    name: str, raw: str | None, default: int | None, low: int = 0, high: int = MAX_ID
) -> int | None:
    """``raw`` (a query or form value) as an integer from ``low`` to ``high``; ``default`` when it
    is absent or empty; else 400 naming ``name``. Only ASCII digits: ``"²".isdigit()`` is true
    but ``int("²")`` fails, and a very long run of digits is refused before it is converted."""
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 20 or not low <= int(raw) <= high:
        raise ValidationFailed({name: (f"应为 {low} 到 {high} 的整数", f"an integer from {low} to {high}")})
    return int(raw)


def query_value(name: str) -> str | None:
    """The query argument ``name`` as given, None when absent; given twice (``?a=1&a=2``) is 400:
    a parameter the document declares once is not silently read as its first value."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise ValidationFailed({name: ("只能给一次", "give it once")})
    return values[0] if values else None


def int_arg(name: str, default: int | None, low: int = 0, high: int = MAX_ID) -> int | None:
    """The query argument ``name`` as an integer (:func:`int_value`); ``default`` when absent,
    400 when empty (``?after=`` is no integer)."""
    raw = query_value(name)
    if raw is None:
        return default
    if raw == "":
        raise ValidationFailed({name: (f"应为 {low} 到 {high} 的整数", f"an integer from {low} to {high}")})
    return int_value(name, raw, default, low, high)


def flag_arg(name: str, default: bool) -> bool:
    """A boolean query argument: ``true``/``1`` or ``false``/``0``; ``default`` when absent, else 400."""
    raw = query_value(name)
    if raw is None:
        return default
    if raw not in ("true", "1", "false", "0"):
        raise ValidationFailed({name: ("应为 true 或 false", "true or false")})
    return raw in ("true", "1")


def choice_arg(name: str, choices: Sequence[str]) -> str | None:
    """A query argument that is one of ``choices``; None when absent, else 400 naming them."""
    raw = query_value(name)
    if raw is not None and raw not in choices:
        listed = ", ".join(choices)
        raise ValidationFailed({name: (f"应为 {listed} 之一", f"one of {listed}")})
    return raw


def id_value(raw: str | None) -> int | None:
    """An id picked or typed in a console form or query: None unless ASCII digits naming an id
    the store can hold (the forms treat a missing choice and a wrong one alike)."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def id_field(data: dict[str, Any], name: str) -> int | None:
    """The optional id ``name`` of a JSON body: None when absent, else an integer the store can
    hold (a larger one could name no row), or 400."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
        raise ValidationFailed({name: (f"应为 0 到 {MAX_ID} 的整数", f"an integer from 0 to {MAX_ID}")})
    return value


def body() -> Any:
    """The JSON body, refused with 413 beyond the JSON limit and 400 when it is not JSON; an
    empty body reads as ``{}`` (a route that needs fields then names each one missing)."""
    limit = current_app.extensions["anxinma"].config.max_json_bytes
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed({"body": ("请求体不是有效的 JSON", "the body is not valid JSON")}) from None


def json_object() -> dict[str, Any]:
    """The body as a JSON object (:func:`body`): ``[]``, ``"x"`` or ``null`` are 400, so no route
    calls ``.get`` on something that is not a dict."""
    data = body()
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ("请求体应为 JSON 对象", "the body must be a JSON object")})
    return data


__all__ = [
    "PATH_BOUNDS",
    "body",
    "bound_ids",
    "choice_arg",
    "flag_arg",
    "id_field",
    "id_value",
    "int_arg",
    "int_value",
    "json_object",
    "query_value",
]
