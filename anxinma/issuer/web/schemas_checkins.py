"""The bodies of 按月打卡 (routes: web/checkins.py, declared there; rules: services/checkins.py).
``CheckInRequest`` documents what ``services.checkins.CheckInRequest.parse`` checks;
``tests/issuer/test_openapi.py`` keeps documented and accepted fields in step."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from anxinma.issuer.web.schemas import Answer, Between, Query, QueryId

Id = Annotated[int, Field(ge=0)]
Month = Annotated[
    str,
    Field(pattern="^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM, China Standard Time"),
]


class CheckInRequest(Answer):
    code: str = Field(min_length=1, description="any text form of the credential read from the card")
    card_uid: str = Field(pattern="^([0-9A-Fa-f]{2}){4,10}$", description="the UID the station read")
    month: Month = Field(description="the month of tapped_at in China Standard Time")
    station: str = Field(default="", max_length=64, description="the station's name")
    tapped_at: datetime = Field(description="when the card was tapped (ISO 8601 with offset)")


class CheckIn(Answer):
    id: int
    worker_id: int
    display_name: str = Field(description="masked, as on the card")
    enterprise_id: int
    month: Month
    credential_serial: int
    card_uid: str
    station: str
    tapped_at: datetime
    recorded_at: datetime
    created: bool = Field(
        default=False, description="POST only: false when the worker had already checked in that month"
    )


class CheckInList(Answer):
    items: list[CheckIn]
    page: int
    per_page: int
    has_more: bool


class WorkerMonths(Answer):
    worker_id: int
    months: list[Month]


class CheckInMonths(Answer):
    since: Month
    until: Month
    items: list[WorkerMonths]


class EnterpriseCount(Answer):
    enterprise_id: int
    checked_in: int


class CheckInCounts(Answer):
    month: Month
    items: list[EnterpriseCount]
    total: int


class CheckInQuery(Query):
    worker_id: QueryId = None
    month: Month | None = None
    enterprise_id: QueryId = None
    page: Annotated[int, Between(1, 10000)] = 1
    per_page: Annotated[int, Between(1, 200)] = 50


class MonthsQuery(Query):
    worker_id: list[Id]
    since: Month | None = None
    until: Month | None = None


class CountsQuery(Query):
    month: Month | None = None
    enterprise_id: list[Id] | None = None
