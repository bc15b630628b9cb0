"""The bodies of 按月打卡 (routes: web/checkins.py, declared there; rules: services/checkins.py).
``CheckInRequest`` documents what ``services.checkins.CheckInRequest.parse`` checks;
``tests/issuer/test_openapi.py`` keeps documented and accepted fields in step."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

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


class PhoneCheckInRequest(Answer):
    """What ``services.checkins.PhoneCheckIn.parse`` checks (docs/checkin.md, tap the card on the phone)."""

    credential: str = Field(min_length=1, description="the worker's phone credential, any text form")
    card: str = Field(min_length=1, description="the card credential as read from the chip, any text form")
    serial_number: str = Field(
        min_length=1, description="the chip's serial number as Web NFC gives it (04:a2:…)"
    )
    time: int = Field(
        description="when the card was tapped, seconds since 1970 (at most 60 s ahead, 5 min old)"
    )
    nonce: str = Field(pattern="^[A-Za-z0-9_-]{16,32}$", description="base64url, new for each tap")
    signature: str = Field(
        min_length=1,
        description="base64url Ed25519 by the holder key over anxinma-phone-check-in:v1:<issuer>:"
        "<sha256 hex of card>:<serial hex>:<time>:<nonce>",
    )


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
    source: Literal["desk", "phone"] = Field(description="a desk reader, or the worker's phone (Web NFC)")
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
