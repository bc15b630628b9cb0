"""The OpenAPI 3.1 document of the issuer's HTTP interface (served at /api/v1/openapi.json).

Schemas are JSON Schema 2020-12 (OpenAPI 3.1) and closed (``additionalProperties: false``)
where the service controls the shape, so ``tests/issuer/test_openapi.py`` — which validates
real responses of every endpoint against this document — fails when code and document drift.
"""

from __future__ import annotations

from typing import Any

from anxinma.issuer.store.models import MAX_ID  # ids are 32-bit on PostgreSQL: beyond, 400 or 404

S = dict[str, Any]


def _ref(name: str) -> S:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: S) -> S:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(properties: S, required: list[str] | None = None, *, closed: bool = True) -> S:
    schema: S = {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else list(properties),
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


STR: S = {"type": "string"}
INT: S = {"type": "integer"}
BOOL: S = {"type": "boolean"}
DATE: S = {"type": "string", "format": "date"}
DATETIME: S = {"type": "string", "format": "date-time"}
CATEGORY_NAMES = [
    "cleaning",
    "infant_care",
    "maternity_care",
    "elderly_care",
    "home_cook",
    "moving",
    "other",
    "保洁",
    "育婴",
    "母婴护理",
    "月嫂",
    "养老护理",
    "家庭厨师",
    "搬家",
    "其他",
]
ID_NUMBER: S = {
    "type": "string",
    "pattern": "^[1-8][0-9]{16}[0-9Xx]$",
    "description": "GB 11643 (check character verified)",
}
PHONE: S = {"type": "string", "pattern": "^1[3-9][0-9]{9}$", "description": "mainland mobile"}
CATEGORY: S = {
    "enum": CATEGORY_NAMES,
    "description": "slug or Chinese label: cleaning 保洁, infant_care 育婴, maternity_care 母婴护理 (月嫂), "
    "elderly_care 养老护理, home_cook 家庭厨师, moving 搬家, other 其他",
}
ZH_EN: S = _obj({"zh": STR, "en": STR})

SCHEMAS: S = {
    "Error": _obj(
        {
            "error": _obj(
                {
                    "code": STR,
                    "zh": STR,
                    "en": STR,
                    "fields": {"type": "object", "additionalProperties": ZH_EN},
                },
                ["code", "zh", "en"],
            )
        }
    ),
    "Enterprise": _obj(
        {
            "id": INT,
            "name": STR,
            "credit_code": STR,
            "credit_code_masked": STR,
            "star_level": _nullable({"type": "integer", "minimum": 1, "maximum": 5}),
            "status": {"enum": ["active", "blacklisted"]},
            "created_at": DATETIME,
        }
    ),
    "EnterpriseList": _obj(
        {"items": {"type": "array", "items": _ref("Enterprise")}, "next_after": _nullable(INT)}
    ),
    "Attention": _obj({"item": {"enum": ["health_certificate", "insurance"]}, "since": _nullable(DATE)}),
    "Worker": _obj(
        {
            "id": INT,
            "enterprise_id": INT,
            "name": STR,
            "display_name": STR,
            "id_number_masked": STR,
            "phone_masked": STR,
            "categories": {"type": "array", "items": STR},
            "categories_zh": {"type": "array", "items": STR},
            "skills": {"type": "array", "items": STR},
            "star_level": _nullable(INT),
            "health_certificate_valid_until": _nullable(DATE),
            "insurance_valid_until": _nullable(DATE),
            "attention": {"type": "array", "items": _ref("Attention")},
            "status": {"enum": ["active", "left", "blacklisted"]},
            "photo_url": _nullable(STR),
            "created_at": DATETIME,
            "updated_at": DATETIME,
            "trainings": {
                "type": "array",
                "items": _obj({"name": STR, "issued_on": DATE, "institution": _nullable(STR)}),
            },
            "credential": _nullable(_obj({"serial": INT, "status": STR})),
        },
        [
            "id",
            "enterprise_id",
            "name",
            "display_name",
            "id_number_masked",
            "phone_masked",
            "categories",
            "categories_zh",
            "skills",
            "star_level",
            "health_certificate_valid_until",
            "insurance_valid_until",
            "attention",
            "status",
            "photo_url",
            "created_at",
            "updated_at",
        ],
    ),
    "WorkerList": _obj(
        {
            "items": {"type": "array", "items": _ref("Worker")},
            "page": _nullable(INT),
            "per_page": INT,
            "has_more": BOOL,
            "next_after": _nullable(INT),
        }
    ),
    "Credential": _obj(
        {
            "serial": {"type": "integer", "description": "also the credential's status-list index"},
            "subject_kind": {"enum": ["worker", "enterprise"]},
            "worker_id": _nullable(INT),
            "enterprise_id": INT,
            "status": {"enum": ["active", "suspended", "revoked"]},
            "attention": BOOL,
            "revocation": _nullable(
                _obj(
                    {
                        "reason": {"enum": ["left", "lost", "misconduct", "blacklisted", "replaced"]},
                        "at": _nullable(DATETIME),
                    }
                )
            ),
            "kid": STR,
            "issued_at": DATETIME,
            "expires_at": DATETIME,
            "card_uid": _nullable(STR),
            "replaced_serial": _nullable(INT),
            "replaced_by": _nullable(INT),
            "display_name": STR,
            "code": {"type": "string", "description": "the URL form (what the QR holds)"},
            "hex": STR,
            "ndef_hex": {
                "type": "string",
                "description": "NDEF message: URI record, then external record anxinma.cn:c",
            },
            "qr_url": STR,
            "size": INT,
            "changed": {
                "type": "boolean",
                "description": "status changes only: whether this call changed anything",
            },
        },
        [
            "serial",
            "subject_kind",
            "worker_id",
            "enterprise_id",
            "status",
            "attention",
            "revocation",
            "kid",
            "issued_at",
            "expires_at",
            "card_uid",
            "replaced_serial",
            "replaced_by",
            "display_name",
            "code",
            "hex",
            "ndef_hex",
            "qr_url",
            "size",
        ],
    ),
    "ImportReport": _obj(
        {
            "rows": INT,
            "created": INT,
            "existing": INT,
            "failed": INT,
            "created_ids": {"type": "array", "items": INT},
            "existing_ids": {"type": "array", "items": INT},
            "credential_serials": {"type": "array", "items": INT},
            "errors": {
                "type": "array",
                "items": _obj({"row": INT, "fields": {"type": "object", "additionalProperties": ZH_EN}}),
            },
        }
    ),
    "BlacklistEntry": _obj(
        {
            "id": INT,
            "id_number_masked": STR,
            "reason": STR,
            "evidence_ref": STR,
            "added_by": STR,
            "added_at": DATETIME,
            "removed_at": _nullable(DATETIME),
            "removed_by": _nullable(STR),
            "removal_reason": _nullable(STR),
            "revoked_serials": {"type": "array", "items": INT},
        },
        [
            "id",
            "id_number_masked",
            "reason",
            "evidence_ref",
            "added_by",
            "added_at",
            "removed_at",
            "removed_by",
            "removal_reason",
        ],
    ),
    "BlacklistList": _obj({"items": {"type": "array", "items": _ref("BlacklistEntry")}}),
    "Session": _obj({"token": STR, "expires_at": DATETIME, "role": STR, "enterprise_id": _nullable(INT)}),
    "Me": _obj({"role": STR, "enterprise_id": _nullable(INT), "kind": {"enum": ["token", "session"]}}),
    "Token": _obj({"id": INT, "token": STR, "role": STR, "enterprise_id": _nullable(INT)}),
    "TokenRevoked": _obj({"id": INT, "revoked": BOOL}),
    "ScanDays": _obj(
        {"worker_id": INT, "days": {"type": "array", "items": _obj({"day": DATE, "scans": INT})}}
    ),
    "Live": _obj(
        {"token": {"type": "string", "description": "JWS typ anxinma-live+jwt (docs/interfaces.md)"}}
    ),
    "Discovery": _obj(
        {
            "issuer_code": INT,
            "name": STR,
            "base_url": STR,
            "trust_list": STR,
            "jwks": STR,
            "status_lists": {"type": "array", "items": STR},
            "status_freshness": STR,
            "live_record": STR,
            "openapi": STR,
            "root_public_key": STR,
        }
    ),
    "TrustListStatus": {
        "type": "object",
        "properties": {
            "mode": {"enum": ["url", "root_key"]},
            "source": STR,
            "sequence": INT,
            "issued_at": STR,
            "expires_at": STR,
            "age_seconds": INT,
            "expires_in_seconds": INT,
            "last_refresh": {"type": ["string", "null"]},
            "last_error": {"type": ["string", "null"]},
        },
        "required": ["mode", "source", "last_refresh", "last_error"],
    },
    "Jwks": {
        "type": "object",
        "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
        "required": ["keys"],
    },
    # -- request bodies ----------------------------------------------------------------
    "EnterpriseCreate": _obj(
        {
            "name": {"type": "string", "minLength": 2, "maxLength": 64, "pattern": "\\S"},
            "credit_code": {
                "type": "string",
                "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
                "description": "统一社会信用代码, check character verified",
            },
            "star_level": _nullable({"type": "integer", "minimum": 1, "maximum": 5}),
        },
        ["name", "credit_code"],
    ),
    "WorkerFields": _obj(
        {
            "name": {"type": "string", "minLength": 2, "maxLength": 32, "pattern": "^[^0-9]+$"},
            "id_number": {
                **ID_NUMBER,
                "description": "GB 11643 number; stored only as a keyed hash and encrypted",
            },
            "phone": PHONE,
            "categories": {"type": "array", "items": CATEGORY, "minItems": 1},
            "skills": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 32},
                "maxItems": 20,
            },
            "star_level": _nullable({"type": "integer", "minimum": 1, "maximum": 5}),
            "health_certificate_valid_until": _nullable(DATE),
            "insurance_valid_until": _nullable(DATE),
            "trainings": {
                "type": "array",
                "maxItems": 50,
                "items": _obj(
                    {"name": {"type": "string", "pattern": "\\S"}, "issued_on": DATE, "institution": STR},
                    ["name", "issued_on"],
                ),
            },
            "photo_url": _nullable({"type": "string", "pattern": "^https?://\\S{1,500}$"}),
            "enterprise_id": {
                "type": "integer",
                "minimum": 0,
                "description": "issuer_admin only; an enterprise token implies its own",
            },
        },
        ["name", "id_number", "phone", "categories"],
    ),
    "IssueRequest": _obj(
        {
            "card_uid": _nullable(
                {"type": "string", "pattern": "^([0-9A-Fa-f]{2}){4,10}$", "description": "4–10 bytes, hex"}
            ),
            "holder_key": _nullable(
                {
                    "type": "string",
                    "description": "the worker's phone key (cnf, RFC 8747): 32-byte Ed25519, hex or base64url",
                }
            ),
        },
        [],
    ),
    "RevokeRequest": _obj({"reason": {"enum": ["left", "lost", "misconduct", "blacklisted"]}}, ["reason"]),
    "StatusRequest": _obj({"reason": _nullable({"type": "string", "maxLength": 16})}, []),
    "BlacklistCreate": _obj(
        {
            "id_number": ID_NUMBER,
            "reason": {"type": "string", "maxLength": 500, "pattern": "\\S"},
            "evidence_ref": {"type": "string", "maxLength": 256, "pattern": "\\S"},
        }
    ),
    "BlacklistRemove": _obj({"reason": {"type": "string", "pattern": "\\S"}}),
    "SessionCreate": _obj({"username": STR, "password": STR}),
    "TokenCreate": _obj(
        {
            "role": {"enum": ["issuer_admin", "regulator", "enterprise_admin", "card_operator"]},
            "enterprise_id": _nullable(
                {
                    "type": "integer",
                    "minimum": 0,
                    "description": "enterprise_admin: required; card_operator: optional; others: absent",
                }
            ),
            "label": STR,
        },
        ["role"],
    ),
    "LiveRequest": _obj(
        {
            "code": {
                "type": "string",
                "minLength": 1,
                "maxLength": 4096,
                "description": "any text form of the credential",
            }
        }
    ),
}

# -- 确认入户, ratings, complaints (anxinma/issuer/services/visits.py) --------------------------------
_TOKEN: S = {
    "type": "string",
    "pattern": "^axv_",
    "maxLength": 128,
    "description": "the visit's one-time token",
}
_SCORE: S = {"type": "integer", "minimum": 1, "maximum": 5}
_COMMENT: S = _nullable(
    {"type": "string", "maxLength": 200, "description": "no runs of 6+ digits (no phone numbers)"}
)
_SUMMARY = {"count": INT, "average": _nullable({"type": "number"})}
SCHEMAS.update(
    {
        "VisitCreate": _obj(
            {
                "code": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 4096,
                    "description": "the credential scanned",
                }
            }
        ),
        "VisitConfirmed": _obj(
            {
                "visit_id": INT,
                "rating_token": {**_TOKEN, "description": "shown once: rates and complains about this visit"},
                "serial": INT,
                "display_name": STR,
                "confirmed_at": DATETIME,
                "rate_until": DATETIME,
            }
        ),
        "ConsumerRatingCreate": _obj(
            {"token": _TOKEN, "score": _SCORE, "comment": _COMMENT}, ["token", "score"]
        ),
        "EnterpriseRatingCreate": _obj({"score": _SCORE, "comment": _COMMENT}, ["score"]),
        "WorkerRatingCreate": _obj(
            {
                "score": _SCORE,
                "comment": _COMMENT,
                "signature": {
                    "type": "string",
                    "description": "base64url Ed25519 signature of the credential's holder key over "
                    "anxinma-worker-rating:v1:<issuer>:<visit>:<score>:<sha256(comment) hex>",
                },
            },
            ["score", "signature"],
        ),
        "ComplaintCreate": _obj(
            {
                "token": _TOKEN,
                "category": {"enum": ["quality", "attitude", "safety", "fee", "no_show", "other"]},
                "summary": {"type": "string", "minLength": 5, "maxLength": 500},
            },
            ["token", "summary"],
        ),
        "ComplaintResolve": _obj({"resolution": {"type": "string", "minLength": 2, "maxLength": 500}}),
        "Rating": _obj(
            {
                "id": INT,
                "visit_id": _nullable(INT),
                "worker_id": INT,
                "enterprise_id": _nullable(INT),
                "credential_serial": _nullable(INT),
                "source": {"enum": ["consumer", "enterprise", "worker"]},
                "score": _SCORE,
                "comment": _nullable(STR),
                "created_at": DATETIME,
                "rating": {
                    **_obj(_SUMMARY),
                    "description": "the worker's consumer rating summary (live record)",
                },
            },
            [
                "id",
                "visit_id",
                "worker_id",
                "enterprise_id",
                "credential_serial",
                "source",
                "score",
                "comment",
                "created_at",
            ],
        ),
        "RatingList": _obj(
            {"items": {"type": "array", "items": _ref("Rating")}, "next_after": _nullable(INT)}
        ),
        "Visit": _obj(
            {
                "id": INT,
                "credential_serial": INT,
                "worker_id": INT,
                "worker_display_name": STR,
                "enterprise_id": INT,
                "confirmed_at": DATETIME,
                "complained": BOOL,
                "rated": _obj({"consumer": BOOL, "enterprise": BOOL, "worker": BOOL}),
            }
        ),
        "VisitList": _obj({"items": {"type": "array", "items": _ref("Visit")}, "next_after": _nullable(INT)}),
        "Complaint": _obj(
            {
                "id": INT,
                "visit_id": _nullable(INT),
                "worker_id": INT,
                "worker_display_name": STR,
                "enterprise_id": _nullable(INT),
                "credential_serial": _nullable(INT),
                "category": STR,
                "summary": STR,
                "filed_at": DATETIME,
                "resolved": BOOL,
                "resolved_at": _nullable(DATETIME),
                "resolved_by": _nullable(STR),
                "resolution": _nullable(STR),
            }
        ),
        "ComplaintList": _obj(
            {"items": {"type": "array", "items": _ref("Complaint")}, "next_after": _nullable(INT)}
        ),
    }
)

_ERRORS = {
    "400": {
        "description": "validation failed (a message per field, 中文 and English)",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "401": {
        "description": "no or bad credentials",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "403": {
        "description": "the role may not do this",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "404": {
        "description": "not found (or not yours)",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "409": {
        "description": "conflict (blacklisted, duplicate, revocation is final, idempotency key reused)",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "413": {"description": "body too large", "content": {"application/json": {"schema": _ref("Error")}}},
    "429": {
        "description": "rate-limited (per client, or a credential's visits per day)",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
}


SCHEMAS["WorkerUpdate"] = {
    **SCHEMAS["WorkerFields"],
    "properties": {
        k: v
        for k, v in SCHEMAS["WorkerFields"]["properties"].items()
        if k not in ("id_number", "enterprise_id")
    },
    "required": [],
}


def _json(schema: str, description: str = "OK") -> S:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _op(
    summary: str,
    ok: tuple[str, str],
    *,
    body: str | None = None,
    errors: tuple[str, ...] = ("400", "401", "403", "404"),
    public: bool = False,
    params: list[S] | None = None,
    idempotent: bool = False,
) -> S:
    operation: S = {
        "summary": summary,
        "responses": {ok[0]: _json(ok[1]), **{code: _ERRORS[code] for code in errors}},
    }
    if body:
        operation["requestBody"] = {
            "required": body not in ("IssueRequest", "StatusRequest", "WorkerUpdate"),
            "content": {"application/json": {"schema": _ref(body)}},
        }
    parameters = list(params or [])
    if idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 128},
            }
        )
    if parameters:
        operation["parameters"] = parameters
    if public:
        operation["security"] = []
    return operation


def _path_int(name: str, maximum: int = MAX_ID) -> S:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0, "maximum": maximum},
    }


def _query(name: str, schema: S) -> S:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _visit_paths() -> S:
    visit_id = _path_int("visit_id")
    after = _query("after", {"type": "integer", "minimum": 0, "maximum": MAX_ID})
    per_page = _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200})
    enterprise = _query("enterprise_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID})
    worker = _query("worker_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID})
    return {
        "/api/v1/visits": {
            "post": {
                **_op(
                    "确认入户: record a visit for the credential presented; a one-time rating token",
                    ("201", "VisitConfirmed"),
                    body="VisitCreate",
                    errors=("400", "404", "409", "413", "429"),
                    public=True,
                ),
                "description": "409 not_in_service for a revoked, suspended or expired credential.",
            },
            "get": _op(
                "Visits (an enterprise sees its own)",
                ("200", "VisitList"),
                params=[enterprise, worker, after, per_page],
                errors=("400", "401", "403"),
            ),
        },
        "/api/v1/visits/{visit_id}/rating": {
            "post": _op(
                "The consumer rates the worker (once per visit: 409 already_rated)",
                ("201", "Rating"),
                params=[visit_id],
                body="ConsumerRatingCreate",
                errors=("400", "403", "404", "409", "413", "429"),
                public=True,
            )
        },
        "/api/v1/visits/{visit_id}/complaint": {
            "post": _op(
                "投诉: a complaint about the visit, for the enterprise and the regulator (once per visit)",
                ("201", "Complaint"),
                params=[visit_id],
                body="ComplaintCreate",
                errors=("400", "403", "404", "409", "413", "429"),
                public=True,
            )
        },
        "/api/v1/visits/{visit_id}/rating/enterprise": {
            "post": _op(
                "The worker's enterprise rates the worker for this visit (once)",
                ("201", "Rating"),
                params=[visit_id],
                body="EnterpriseRatingCreate",
                errors=("400", "401", "403", "404", "409", "413"),
            )
        },
        "/api/v1/visits/{visit_id}/rating/worker": {
            "post": _op(
                "The worker rates the enterprise, signed with the credential's holder key (once)",
                ("201", "Rating"),
                params=[visit_id],
                body="WorkerRatingCreate",
                errors=("400", "403", "404", "409", "413", "429"),
                public=True,
            )
        },
        "/api/v1/ratings": {
            "get": _op(
                "Ratings (an enterprise sees its own)",
                ("200", "RatingList"),
                params=[
                    enterprise,
                    worker,
                    _query("source", {"enum": ["consumer", "enterprise", "worker"]}),
                    after,
                    per_page,
                ],
                errors=("400", "401", "403"),
            )
        },
        "/api/v1/complaints": {
            "get": _op(
                "Complaints (an enterprise sees its own workers')",
                ("200", "ComplaintList"),
                params=[enterprise, _query("resolved", {"type": "boolean"}), after, per_page],
                errors=("400", "401", "403"),
            )
        },
        "/api/v1/complaints/{complaint_id}/resolve": {
            "post": _op(
                "Close a complaint with what was done",
                ("200", "Complaint"),
                params=[_path_int("complaint_id")],
                body="ComplaintResolve",
                errors=("400", "401", "403", "404", "409", "413"),
            )
        },
    }


def build(base_url: str) -> S:
    worker_id, serial, enterprise_id = (
        _path_int("worker_id"),
        _path_int("serial", 2**32 - 1),
        _path_int("enterprise_id"),
    )
    after = _query("after", {"type": "integer", "minimum": 0, "maximum": MAX_ID})
    paths: S = {
        "/api/v1/sessions": {
            "post": _op(
                "Sign in (console): a short-lived session token",
                ("201", "Session"),
                body="SessionCreate",
                errors=("400", "401"),
                public=True,
            )
        },
        "/api/v1/me": {"get": _op("Who the token speaks for", ("200", "Me"), errors=("401",))},
        "/api/v1/enterprises": {
            "post": _op(
                "Register an enterprise (issuer_admin)",
                ("201", "Enterprise"),
                body="EnterpriseCreate",
                errors=("400", "401", "403", "409"),
            ),
            "get": _op(
                "List enterprises",
                ("200", "EnterpriseList"),
                params=[
                    after,
                    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
                ],
                errors=("400", "401", "403"),
            ),
        },
        "/api/v1/enterprises/{enterprise_id}": {
            "get": _op(
                "One enterprise", ("200", "Enterprise"), params=[enterprise_id], errors=("401", "403", "404")
            )
        },
        "/api/v1/enterprises/{enterprise_id}/credentials": {
            "post": _op(
                "Issue the enterprise's own credential (一企一证一码)",
                ("201", "Credential"),
                params=[enterprise_id],
                idempotent=True,
                errors=("400", "401", "403", "404", "409", "413"),
            )
        },
        "/api/v1/enterprises/{enterprise_id}/credential": {
            "get": _op(
                "The enterprise's live credential",
                ("200", "Credential"),
                params=[enterprise_id],
                errors=("401", "403", "404"),
            )
        },
        "/api/v1/workers": {
            "post": _op(
                "Register a worker",
                ("201", "Worker"),
                body="WorkerFields",
                errors=("400", "401", "403", "404", "409", "413"),
            ),
            "get": _op(
                "List or search workers (keyset with after=, or page=)",
                ("200", "WorkerList"),
                params=[
                    _query("enterprise_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
                    _query("q", STR),
                    _query("status", {"enum": ["active", "left", "blacklisted"]}),
                    _query("page", {"type": "integer", "minimum": 1, "maximum": 10000}),
                    after,
                    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100}),
                ],
                errors=("400", "401", "403"),
            ),
        },
        "/api/v1/workers/{worker_id}": {
            "get": _op(
                "One worker's archive", ("200", "Worker"), params=[worker_id], errors=("401", "403", "404")
            ),
            "patch": _op(
                "Update a worker's archive (attention follows)",
                ("200", "Worker"),
                params=[worker_id],
                body="WorkerUpdate",
                errors=("400", "401", "403", "404"),
            ),
        },
        "/api/v1/workers/import": {
            "post": {
                **_op(
                    "Bulk import (CSV or XLSX); ?issue=true also issues",
                    ("200", "ImportReport"),
                    params=[
                        _query("enterprise_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
                        _query("issue", {"type": "boolean"}),
                    ],
                    errors=("400", "401", "403", "404", "413"),
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"file": {"type": "string", "format": "binary"}},
                                "required": ["file"],
                            }
                        }
                    },
                },
            }
        },
        "/api/v1/workers/{worker_id}/scans": {
            "get": _op(
                "Online scans per day (亮证率)",
                ("200", "ScanDays"),
                params=[worker_id, _query("since", DATE), _query("until", DATE)],
                errors=("400", "401", "403", "404"),
            )
        },
        "/api/v1/workers/{worker_id}/credentials": {
            "post": _op(
                "Issue a credential (revokes the worker's previous one: replaced)",
                ("201", "Credential"),
                params=[worker_id],
                body="IssueRequest",
                idempotent=True,
                errors=("400", "401", "403", "404", "409", "413"),
            )
        },
        "/api/v1/credentials/{serial}": {
            "get": _op("One credential", ("200", "Credential"), params=[serial], errors=("401", "403", "404"))
        },
        "/api/v1/credentials/{serial}/qr.png": {
            "get": {
                "summary": "The credential's QR code (PNG; qr.svg for SVG)",
                "parameters": [serial, _query("scale", {"type": "integer", "minimum": 1, "maximum": 40})],
                "responses": {
                    "200": {"description": "PNG", "content": {"image/png": {}}},
                    "400": _ERRORS["400"],
                    "401": _ERRORS["401"],
                    "404": _ERRORS["404"],
                },
            }
        },
        "/api/v1/credentials/{serial}/revoke": {
            "post": _op(
                "Revoke (final)",
                ("200", "Credential"),
                params=[serial],
                body="RevokeRequest",
                idempotent=True,
                errors=("400", "401", "403", "404", "409", "413"),
            )
        },
        "/api/v1/credentials/{serial}/suspend": {
            "post": _op(
                "Suspend",
                ("200", "Credential"),
                params=[serial],
                body="StatusRequest",
                idempotent=True,
                errors=("400", "401", "403", "404", "409", "413"),
            )
        },
        "/api/v1/credentials/{serial}/reinstate": {
            "post": _op(
                "Reinstate a suspended credential",
                ("200", "Credential"),
                params=[serial],
                body="StatusRequest",
                idempotent=True,
                errors=("400", "401", "403", "404", "409", "413"),
            )
        },
        "/api/v1/blacklist": {
            "post": _op(
                "Add a person to the blacklist (失信名单): revokes all their credentials",
                ("201", "BlacklistEntry"),
                body="BlacklistCreate",
                errors=("400", "401", "403", "409"),
            ),
            "get": _op(
                "The blacklist",
                ("200", "BlacklistList"),
                params=[_query("all", {"type": "boolean"}), after],
                errors=("400", "401", "403"),
            ),
        },
        "/api/v1/blacklist/{entry_id}/remove": {
            "post": _op(
                "Remove an entry (with reason)",
                ("200", "BlacklistEntry"),
                params=[_path_int("entry_id")],
                body="BlacklistRemove",
                errors=("400", "401", "403", "404", "409"),
            )
        },
        "/api/v1/tokens": {
            "post": _op(
                "Create an API token (issuer_admin)",
                ("201", "Token"),
                body="TokenCreate",
                errors=("400", "401", "403", "404"),
            )
        },
        "/api/v1/tokens/{token_id}/revoke": {
            "post": _op(
                "Revoke an API token",
                ("200", "TokenRevoked"),
                params=[_path_int("token_id")],
                errors=("401", "403", "404"),
            )
        },
        "/api/v1/live": {
            "post": {
                **_op(
                    "The live record, for a caller presenting the credential",
                    ("200", "Live"),
                    body="LiveRequest",
                    errors=("400", "404", "413"),
                    public=True,
                ),
                "description": "Rate-limited per client (429).",
            }
        },
        **_visit_paths(),
        "/.well-known/anxinma": {
            "get": _op("Discovery document", ("200", "Discovery"), errors=(), public=True)
        },
        "/jwks.json": {
            "get": {
                "summary": "The issuer's keys",
                "security": [],
                "responses": {
                    "200": {
                        "description": "JWKS",
                        "content": {"application/jwk-set+json": {"schema": _ref("Jwks")}},
                    }
                },
            }
        },
        "/trust-list": {
            "get": {
                "summary": "Root-signed trust list (JWS)",
                "security": [],
                "responses": {"200": {"description": "JWS", "content": {"application/jwt": {}}}},
            }
        },
        "/status/{issuer_code}/{shard}": {
            "get": {
                "summary": "Status list token of one shard (ETag, If-None-Match → 304)",
                "security": [],
                "parameters": [_path_int("issuer_code"), _path_int("shard")],
                "responses": {
                    "200": {
                        "description": "the JWT, or the CWT with Accept: application/statuslist+cwt",
                        "content": {"application/statuslist+jwt": {}, "application/statuslist+cwt": {}},
                    },
                    "304": {"description": "not modified"},
                    "404": _ERRORS["404"],
                },
            }
        },
        "/status/{issuer_code}/{shard}/compact": {
            "get": {
                "summary": "Compact form of one shard (Rice-coded, COSE_Sign1); its ETag moves with its version",
                "security": [],
                "parameters": [_path_int("issuer_code"), _path_int("shard")],
                "responses": {
                    "200": {
                        "description": "the compact form",
                        "content": {"application/vnd.anxinma.status+cose": {}},
                    },
                    "304": {"description": "not modified"},
                    "404": _ERRORS["404"],
                },
            }
        },
        "/status/{issuer_code}/freshness": {
            "get": {
                "summary": "Freshness document: every shard's current version and digest (JWS)",
                "security": [],
                "parameters": [_path_int("issuer_code")],
                "responses": {
                    "200": {"description": "JWS", "content": {"application/jwt": {}}},
                    "304": {"description": "not modified"},
                    "404": _ERRORS["404"],
                },
            }
        },
        "/trust-list/status": {
            "get": _op(
                "Sequence, age and expiry of the served trust list",
                ("200", "TrustListStatus"),
                errors=(),
                public=True,
            )
        },
    }
    paths.update(_check_in_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "安心码 Anxinma issuer API",
            "version": "1",
            "description": "Enterprise API and public endpoints of the issuer service. Errors: {error: {code, zh, en, fields?}}.",
        },
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API token (axm_…) or console session JWT",
                }
            },
        },
    }


# -- check-ins (按月打卡, anxinma/issuer/web/checkins.py) --------------------------------------------

MONTH: S = {
    "type": "string",
    "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$",
    "description": "YYYY-MM, China Standard Time",
}
SCHEMAS.update(
    {
        "CheckInRequest": _obj(
            {
                "code": {
                    "type": "string",
                    "minLength": 1,
                    "description": "any text form of the credential read from the card",
                },
                "card_uid": {
                    "type": "string",
                    "pattern": "^([0-9A-Fa-f]{2}){4,10}$",
                    "description": "the UID the station read",
                },
                "month": {**MONTH, "description": "the month of tapped_at in China Standard Time"},
                "station": {"type": "string", "maxLength": 64, "description": "the station's name"},
                "tapped_at": {**DATETIME, "description": "when the card was tapped (ISO 8601 with offset)"},
            },
            ["code", "card_uid", "month", "tapped_at"],
        ),
        "CheckIn": _obj(
            {
                "id": INT,
                "worker_id": INT,
                "display_name": {"type": "string", "description": "masked, as on the card"},
                "enterprise_id": INT,
                "month": MONTH,
                "credential_serial": INT,
                "card_uid": STR,
                "station": STR,
                "tapped_at": DATETIME,
                "recorded_at": DATETIME,
                "created": {
                    "type": "boolean",
                    "description": "POST only: false when the worker had already checked in that month",
                },
            },
            [
                "id",
                "worker_id",
                "display_name",
                "enterprise_id",
                "month",
                "credential_serial",
                "card_uid",
                "station",
                "tapped_at",
                "recorded_at",
            ],
        ),
        "CheckInList": _obj(
            {
                "items": {"type": "array", "items": _ref("CheckIn")},
                "page": INT,
                "per_page": INT,
                "has_more": BOOL,
            }
        ),
        "CheckInMonths": _obj(
            {
                "since": MONTH,
                "until": MONTH,
                "items": {
                    "type": "array",
                    "items": _obj({"worker_id": INT, "months": {"type": "array", "items": MONTH}}),
                },
            }
        ),
        "CheckInCounts": _obj(
            {
                "month": MONTH,
                "items": {"type": "array", "items": _obj({"enterprise_id": INT, "checked_in": INT})},
                "total": INT,
            }
        ),
    }
)


def _check_in_paths() -> S:
    record = _op(
        "Record a check-in (按月打卡): once per worker and month",
        ("201", "CheckIn"),
        body="CheckInRequest",
        errors=("400", "401", "403", "404", "409", "413"),
    )
    record["responses"]["200"] = _json(
        "CheckIn", "already recorded for this worker and month (the existing record)"
    )
    record["description"] = (
        "card_operator, enterprise_admin (own workers) or issuer_admin. 409 error.code: card_mismatch, "
        "not_bound, revoked, suspended, expired, not_yet_valid, not_a_worker."
    )
    month = _query("month", MONTH)
    ids = {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": MAX_ID}}
    return {
        "/api/v1/check-ins": {
            "post": record,
            "get": _op(
                "Check-ins, newest month first (an enterprise sees its own workers only)",
                ("200", "CheckInList"),
                params=[
                    _query("worker_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
                    month,
                    _query("enterprise_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
                    _query("page", {"type": "integer", "minimum": 1, "maximum": 10000}),
                    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
                ],
                errors=("400", "401", "403"),
            ),
        },
        "/api/v1/check-ins/months": {
            "get": _op(
                "Months checked in, per worker (a console column; workers not yours are left out)",
                ("200", "CheckInMonths"),
                params=[
                    {**_query("worker_id", ids), "required": True, "explode": True},
                    _query("since", MONTH),
                    _query("until", MONTH),
                ],
                errors=("400", "401", "403"),
            )
        },
        "/api/v1/check-ins/counts": {
            "get": _op(
                "Workers checked in per enterprise in a month (default: this month)",
                ("200", "CheckInCounts"),
                params=[month, {**_query("enterprise_id", ids), "explode": True}],
                errors=("400", "401", "403"),
            )
        },
    }
