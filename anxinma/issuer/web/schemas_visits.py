"""The bodies of 确认入户, ratings and complaints (routes: web/visits.py; rules: services/visits.py),
declared by endpoint name here because web/visits.py parses its bodies with services/visits.py's
parsers (parse_rating, parse_complaint, …). These request models only document them;
``tests/issuer/test_openapi.py`` keeps documented and accepted fields in step. Moving the
parsers onto the models is the next step (then the declarations move beside the routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from anxinma.issuer.web.apidoc import LISTING_ERRORS, declare
from anxinma.issuer.web.schemas import Answer, Between, Query, QueryId, Score

VisitToken = Annotated[str, Field(pattern="^axv_", max_length=128, description="the visit's one-time token")]
Comment = Annotated[str | None, Field(max_length=200, description="no runs of 6+ digits (no phone numbers)")]


class VisitCreate(Answer):
    code: str = Field(
        min_length=1, max_length=4096, description="the credential scanned, or the dynamic code as shown"
    )


class ReportCreate(Answer):
    """What ``services.reports.parse_report`` checks."""

    code: str = Field(min_length=1, max_length=4096, description="the code reported, as scanned")
    status: str = Field(pattern="^[a-z_]{1,32}$", description="the verdict the page showed")
    reason_key: str | None = Field(default=None, pattern="^[a-z0-9_]{1,48}$", description="its reason key")
    reason: Literal["revoked_in_use", "cannot_verify", "wrong_person", "other"]
    note: Comment = None


class ReportFiled(Answer):
    id: int
    filed_at: datetime
    issuer_code: int | None
    serial: int | None


class ReportVerdict(Answer):
    status: str
    reason: str | None


class Report(Answer):
    id: int
    filed_at: datetime
    reason: str
    note: str | None
    verdict: ReportVerdict
    issuer_code: int | None
    serial: int | None
    record_status: str | None
    enterprise_id: int | None
    worker_id: int | None
    worker_display_name: str | None
    code_digest: str = Field(description="SHA-256 of the code text (the text itself is not kept)")


class ReportList(Answer):
    items: list[Report]
    next_after: int | None


class VisitConfirmed(Answer):
    visit_id: int
    rating_token: str = Field(
        pattern="^axv_", max_length=128, description="shown once: rates and complains about this visit"
    )
    serial: int
    display_name: str
    confirmed_at: datetime
    rate_until: datetime
    verified: bool = Field(
        default=False, description="the code shown was a fresh dynamic code (the phone was there)"
    )


class ConsumerRatingCreate(Answer):
    token: VisitToken
    score: Score
    comment: Comment = None


class EnterpriseRatingCreate(Answer):
    score: Score
    comment: Comment = None


class WorkerRatingCreate(Answer):
    score: Score
    comment: Comment = None
    signature: str = Field(
        description="base64url Ed25519 signature of the credential's holder key over "
        "anxinma-worker-rating:v1:<issuer>:<visit>:<score>:<sha256(comment) hex>"
    )


class ComplaintCreate(Answer):
    token: VisitToken
    category: Literal["quality", "attitude", "safety", "fee", "no_show", "other"] = "other"
    summary: str = Field(min_length=5, max_length=500)


class ComplaintResolve(Answer):
    resolution: str = Field(min_length=2, max_length=500)


class RatingSummary(Answer):
    count: int
    average: float | None
    verified_count: int = Field(default=0, description="of the counted ratings, those from verified visits")


class Rating(Answer):
    id: int
    visit_id: int | None
    worker_id: int
    enterprise_id: int | None
    credential_serial: int | None
    source: Literal["consumer", "enterprise", "worker"]
    score: Score
    comment: str | None
    created_at: datetime
    verified: bool = Field(
        default=False, description="from a visit confirmed with a dynamic code (docs/page.md)"
    )
    counted: bool = Field(default=True, description="counts toward the public average (the rating rule)")
    weight: int = Field(default=1, description="its weight in the public average: 3 verified, else 1")
    flag: str | None = Field(
        default=None, description="why it does not count (client_repeat, client_daily, …)"
    )
    rating: RatingSummary | None = Field(
        default=None, description="the worker's consumer rating summary (live record)"
    )


class RatingList(Answer):
    items: list[Rating]
    next_after: int | None


class RatedBy(Answer):
    consumer: bool
    enterprise: bool
    worker: bool


class Visit(Answer):
    id: int
    credential_serial: int
    worker_id: int
    worker_display_name: str
    enterprise_id: int
    confirmed_at: datetime
    complained: bool
    rated: RatedBy


class VisitList(Answer):
    items: list[Visit]
    next_after: int | None


class Complaint(Answer):
    id: int
    visit_id: int | None
    worker_id: int
    worker_display_name: str
    enterprise_id: int | None
    credential_serial: int | None
    category: str
    summary: str
    filed_at: datetime
    resolved: bool
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class ComplaintList(Answer):
    items: list[Complaint]
    next_after: int | None


class Window(Query):
    enterprise_id: QueryId = None
    worker_id: QueryId = None
    after: Annotated[int, Between()] = 0
    per_page: Annotated[int, Between(1, 200)] = 50


class RatingQuery(Window):
    source: Literal["consumer", "enterprise", "worker"] | None = None


class ComplaintQuery(Query):
    enterprise_id: QueryId = None
    resolved: bool | None = None
    after: Annotated[int, Between()] = 0
    per_page: Annotated[int, Between(1, 200)] = 50


_PUBLIC_WRITE = (400, 403, 404, 409, 413, 429)
declare(
    "visits_public.confirm_entry",
    "确认入户: record a visit for the credential presented; a one-time rating token",
    ok=201,
    answer=VisitConfirmed,
    body=VisitCreate,
    errors=(400, 404, 409, 413, 429),
    public=True,
    description="409 not_in_service for a revoked, suspended or expired credential.",
)
declare(
    "visits_public.consumer_rating",
    "The consumer rates the worker (once per visit: 409 already_rated)",
    ok=201,
    answer=Rating,
    body=ConsumerRatingCreate,
    errors=_PUBLIC_WRITE,
    public=True,
)
declare(
    "visits_public.consumer_complaint",
    "投诉: a complaint about the visit, for the enterprise and the regulator (once per visit)",
    ok=201,
    answer=Complaint,
    body=ComplaintCreate,
    errors=_PUBLIC_WRITE,
    public=True,
)
declare(
    "visits.enterprise_rating",
    "The worker's enterprise rates the worker for this visit (once)",
    ok=201,
    answer=Rating,
    body=EnterpriseRatingCreate,
    errors=(400, 401, 403, 404, 409, 413),
)
declare(
    "visits_public.worker_rating",
    "The worker rates the enterprise, signed with the credential's holder key (once)",
    ok=201,
    answer=Rating,
    body=WorkerRatingCreate,
    errors=_PUBLIC_WRITE,
    public=True,
)
for _endpoint, _summary, _answer, _query in (
    ("visits.list_visits", "Visits (an enterprise sees its own)", VisitList, Window),
    ("visits.list_ratings", "Ratings (an enterprise sees its own)", RatingList, RatingQuery),
    (
        "visits.list_complaints",
        "Complaints (an enterprise sees its own workers')",
        ComplaintList,
        ComplaintQuery,
    ),
):
    declare(_endpoint, _summary, answer=_answer, query=_query, errors=LISTING_ERRORS)
declare(
    "visits_public.report_code",
    "Report a code that is revoked, unknown, forged or shown by the wrong person (no account)",
    ok=201,
    answer=ReportFiled,
    body=ReportCreate,
    errors=(400, 413, 429),
    public=True,
    description="Nothing about the consumer is asked or kept; 5 reports a day per network (429).",
)
declare(
    "visits.list_reports",
    "Reports of fake codes: the regulator's all, an enterprise's those of its own codes",
    answer=ReportList,
    query=Window,
    errors=LISTING_ERRORS,
)
declare(
    "visits.resolve_complaint",
    "Close a complaint with what was done",
    answer=Complaint,
    body=ComplaintResolve,
    errors=(400, 401, 403, 404, 409, 413),
)
