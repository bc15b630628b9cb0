"""The OpenAPI 3.1 document, generated: the app's URL map gives the paths, methods and path
parameters; each route's :func:`operation` (beside the route) gives its prose, the pydantic
models of its body, query and answer, whether it needs a token and which errors it answers.

Adding a route to the document is one decorator under the route's own::

    @blueprint.post("/workers/<int:worker_id>/enrolments")
    @operation("Enrol a worker in a course", ok=201, answer=Enrolment, body=EnrolmentCreate,
               errors=(400, 401, 403, 404))
    def enrol(worker_id: int) -> Response: ...

A route in a module that does not carry its own declaration is declared by endpoint name with
:func:`declare` (``web/schemas_visits.py`` does so for the visits routes). A served API route with
neither is missing from the document, which ``tests/issuer/test_openapi.py`` refuses.

Schemas are JSON Schema 2020-12 (what OpenAPI 3.1 uses) from ``model_json_schema``; models are
closed (``extra="forbid"`` → ``additionalProperties: false``), so the test that validates real
responses against the document fails when code and declaration drift.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from anxinma.issuer.store.models import MAX_ID

S = dict[str, Any]
View = TypeVar("View", bound=Callable[..., Any])

#: What each error status means, for every route that answers it (body: ``Error``).
ERRORS: dict[int, str] = {
    400: "validation failed (a message per field, 中文 and English)",
    401: "no or bad credentials",
    403: "the role may not do this",
    404: "not found (or not yours)",
    409: "conflict (blacklisted, duplicate, revocation is final, idempotency key reused)",
    413: "body too large",
    429: "rate-limited (per client, or a credential's visits per day)",
}


def largest_id(name: str) -> int:
    """The largest value of a path id the store holds (a serial its own bound, every other id a
    32-bit row id): beyond it a route answers 404 (``params.bound_ids``, the one rule)."""
    from anxinma.issuer.web.params import PATH_BOUNDS

    return PATH_BOUNDS.get(name, MAX_ID)


@dataclass(frozen=True)
class Operation:
    """One route's entry in the document (see the module docstring for an example)."""

    summary: str
    ok: int = 200
    #: The JSON answer's model; ``media`` instead for other media types (model or None each).
    answer: type[BaseModel] | None = None
    media: Mapping[str, type[BaseModel] | None] = field(default_factory=dict)
    ok_description: str = "OK"
    #: Other successful answers: status → (model or None, description).
    also: Mapping[int, tuple[type[BaseModel] | None, str]] = field(default_factory=dict)
    body: type[BaseModel] | None = None
    body_required: bool = True
    #: Instead of a JSON body: a multipart upload, this the file field's name.
    upload: str | None = None
    #: A model whose fields are the query parameters.
    query: type[BaseModel] | None = None
    errors: Iterable[int] = (400, 401, 403, 404)
    public: bool = False
    idempotent: bool = False
    description: str | None = None


def operation(summary: str, **details: Any) -> Callable[[View], View]:
    """Declare the route below for the document (arguments: :class:`Operation`'s fields)."""
    declared = Operation(summary, **details)

    def mark(view: View) -> View:
        view.openapi = declared  # type: ignore[attr-defined]
        return view

    return mark


def listing(summary: str, answer: type[BaseModel], query: type[BaseModel]) -> Callable[[View], View]:
    """A GET listing: its answer, its query parameters, and 400 (a bad parameter), 401, 403."""
    return operation(summary, answer=answer, query=query, errors=LISTING_ERRORS)


LISTING_ERRORS = (400, 401, 403)


def created(
    summary: str, answer: type[BaseModel], body: type[BaseModel] | None = None, **details: Any
) -> Callable[[View], View]:
    """A POST that creates: 201 with ``answer``, from ``body``."""
    return operation(summary, ok=201, answer=answer, body=body, **details)


#: Declarations by endpoint, for routes whose module does not carry its own.
DECLARED: dict[str, Operation] = {}


def declare(endpoint: str, summary: str, **details: Any) -> None:
    DECLARED[endpoint] = Operation(summary, **details)


def declared(app: Flask, endpoint: str) -> Operation | None:
    view = app.view_functions.get(endpoint)
    found = getattr(view, "openapi", None)
    return found if isinstance(found, Operation) else DECLARED.get(endpoint)


_PARAMETER = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def paths_of(rule: str) -> list[tuple[str, list[str]]]:
    """The OpenAPI path templates a Flask rule serves, with their path parameters: an
    ``any(png, svg)`` part is one path per value (they answer different media types)."""
    templates: list[tuple[str, list[str]]] = [("", [])]
    position = 0
    for match in _PARAMETER.finditer(rule):
        literal = rule[position : match.start()]
        converter, arguments, name = match.groups()
        if converter == "any":
            values = [v.strip().strip("'\"") for v in (arguments or "").split(",")]
            templates = [(path + literal + value, names) for path, names in templates for value in values]
        else:
            templates = [(path + literal + "{" + name + "}", [*names, name]) for path, names in templates]
        position = match.end()
    return [(path + rule[position:], names) for path, names in templates]


class _Untitled(GenerateJsonSchema):
    """pydantic's schemas without the generated ``title`` of every field (noise in the document)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _schemas(models: Iterable[tuple[type[BaseModel], JsonSchemaMode]]) -> S:
    unique = list(dict.fromkeys(models))
    _, top = models_json_schema(
        unique, ref_template="#/components/schemas/{model}", schema_generator=_Untitled
    )
    schemas: S = top.get("$defs", {})
    for schema in schemas.values():
        schema.pop("title", None)
    return schemas


def _ref(model: type[BaseModel]) -> S:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_parameters(model: type[BaseModel]) -> list[S]:
    schema = model.model_json_schema(schema_generator=_Untitled)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        # A query string has no null: absent is the default (shown only when it is a value).
        options = [o for o in prop.pop("anyOf", [prop]) if o.get("type") != "null"]
        prop = {**prop, **options[0]} if len(options) == 1 else {**prop, "anyOf": options}
        if prop.get("default", 0) is None:
            del prop["default"]
        parameter: S = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if prop.get("type") == "array":
            parameter["explode"] = True
        parameters.append(parameter)
    return parameters


def _content(media: Mapping[str, type[BaseModel] | None]) -> S:
    return {kind: ({"schema": _ref(model)} if model else {}) for kind, model in media.items()}


def _render(declared: Operation, parameters: list[str]) -> S:
    responses: S = {}
    ok_media = {"application/json": declared.answer} if declared.answer else declared.media
    responses[str(declared.ok)] = {"description": declared.ok_description, "content": _content(ok_media)}
    for status, (model, description) in declared.also.items():
        responses[str(status)] = {"description": description}
        if model is not None:
            responses[str(status)]["content"] = _content({"application/json": model})
    for status in declared.errors:
        responses[str(status)] = {
            "description": ERRORS[status],
            "content": _content({"application/json": Error}),
        }
    for entry in responses.values():
        if not entry.get("content"):
            entry.pop("content", None)
    result: S = {"summary": declared.summary}
    if declared.description:
        result["description"] = declared.description
    result["responses"] = responses
    listed: list[S] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": largest_id(name)},
        }
        for name in parameters
    ]
    if declared.query is not None:
        listed += _query_parameters(declared.query)
    if declared.idempotent:
        listed.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 128},
            }
        )
    if listed:
        result["parameters"] = listed
    if declared.body is not None:
        result["requestBody"] = {
            "required": declared.body_required,
            "content": {"application/json": {"schema": _ref(declared.body)}},
        }
    if declared.upload is not None:
        result["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {declared.upload: {"type": "string", "format": "binary"}},
                        "required": [declared.upload],
                    }
                }
            },
        }
    if declared.public:
        result["security"] = []
    return result


def _models(declared: Operation) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    found: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Error, "serialization")]
    answers = [declared.answer, *declared.media.values(), *(model for model, _ in declared.also.values())]
    found += [(model, "serialization") for model in answers if model is not None]
    if declared.body is not None:
        found.append((declared.body, "validation"))
    return found


def document(app: Flask, base_url: str) -> S:
    """The whole document, from the app's routes and their declarations."""
    paths: dict[str, S] = {}
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        found = declared(app, rule.endpoint)
        if found is None:
            continue
        models += _models(found)
        for template, parameters in paths_of(rule.rule):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                paths.setdefault(template, {})[method.lower()] = _render(found, parameters)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "安心码 Anxinma issuer API",
            "version": "1",
            "description": "Enterprise API and public endpoints of the issuer service. "
            "Errors: {error: {code, zh, en, fields?}}.",
        },
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": _schemas(models),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API token (axm_…) or console session JWT",
                }
            },
        },
    }


class ZhEn(BaseModel):
    model_config = {"extra": "forbid"}
    zh: str
    en: str


class ErrorDetail(BaseModel):
    model_config = {"extra": "forbid"}
    code: str
    zh: str
    en: str
    fields: dict[str, ZhEn] = {}


class Error(BaseModel):
    """Every refusal: ``fields`` names each bad field of a 400 (validation_failed)."""

    model_config = {"extra": "forbid"}
    error: ErrorDetail


__all__ = [
    "DECLARED",
    "ERRORS",
    "LISTING_ERRORS",
    "Error",
    "Operation",
    "created",
    "declare",
    "document",
    "largest_id",
    "listing",
    "operation",
]
