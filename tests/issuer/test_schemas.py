"""The request models (services/validation.py, web/schemas.py) and the document's generator
(web/apidoc.py), without a server: what a body's refusal says, and what the URL map becomes."""

from __future__ import annotations

import pytest

from anxinma.credential import MAX_SERIAL
from anxinma.issuer.errors import ValidationFailed
from anxinma.issuer.services.validation import BlacklistFields, WorkerFields, worker_input
from anxinma.issuer.store.models import MAX_ID
from anxinma.issuer.web.apidoc import largest_id, paths_of
from anxinma.issuer.web.schemas import IssueRequest, StatusRequest, WorkerQuery


def refusal(parse: object, data: object) -> dict[str, tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse(data)  # type: ignore[operator]
    return caught.value.fields


def test_an_explicit_null_is_judged_by_the_rule_not_let_through() -> None:
    # PATCH {"name": null} must not blank a worker's name: the rule sees the null and refuses it.
    assert refusal(lambda d: worker_input(d, partial=True), {"name": None}) == {
        "name": ("姓名必须是文本", "the name must be text")
    }
    assert worker_input({"star_level": None}, partial=True).given == {"star_level"}


def test_a_refusal_names_every_bad_field_in_chinese_and_english() -> None:
    fields = refusal(WorkerFields.parse, {"phone": "1", "nickname": "x"})
    assert fields["name"] == fields["id_number"] == fields["categories"] == ("必填", "required")
    assert fields["nickname"] == ("未知字段", "unknown field")
    assert fields["phone"][0].startswith("手机号") and "mainland" in fields["phone"][1]
    assert refusal(WorkerFields.parse, ["not", "an", "object"]) == {
        "body": ("请求体应为 JSON 对象", "the body must be a JSON object")
    }


def test_a_missing_field_can_say_what_it_needs() -> None:
    fields = refusal(BlacklistFields.parse, {})
    assert fields["reason"] == ("必填，最多 500 字", "required, at most 500 characters")
    assert fields["evidence_ref"] == ("必填，最多 256 字", "required, at most 256 characters")


def test_the_status_reason_rule_is_the_one_length() -> None:
    assert refusal(StatusRequest.parse, {"reason": "x" * 17}) == {
        "reason": ("原因最多 16 个字符", "at most 16 characters")
    }
    assert StatusRequest.parse({"reason": "x" * 16}).reason == "x" * 16


def test_card_uid_and_holder_key_are_parsed_to_bytes() -> None:
    parsed = IssueRequest.parse({"card_uid": "04:a1:b2:c3", "holder_key": "00" * 32})
    assert parsed.card_uid == bytes.fromhex("04a1b2c3") and parsed.holder_key == bytes(32)
    assert set(refusal(IssueRequest.parse, {"card_uid": "zz", "holder_key": "short"})) == {
        "card_uid",
        "holder_key",
    }


def test_query_parameters_are_bounded_by_their_declaration() -> None:
    assert WorkerQuery.parse({"page": "3"}).per_page == 20
    # ?per_page= is no integer: refused, not read as the default (schemathesis' negative data)
    assert refusal(WorkerQuery.parse, {"per_page": "", "page": "3"}) == {
        "per_page": ("不能为空", "must not be empty")
    }
    assert refusal(WorkerQuery.parse, {"per_page": "101", "status": "gone"}) == {
        "per_page": ("应为 1 到 100 的整数", "an integer from 1 to 100"),
        "status": ("应为 active、left 或 blacklisted", "one of active, left, blacklisted"),
    }


def test_a_rule_becomes_one_path_per_fixed_value() -> None:
    assert paths_of("/api/v1/credentials/<int:serial>/qr.<any(png, svg):kind>") == [
        ("/api/v1/credentials/{serial}/qr.png", ["serial"]),
        ("/api/v1/credentials/{serial}/qr.svg", ["serial"]),
    ]
    assert paths_of("/status/<int:issuer_code>/<int:shard>") == [
        ("/status/{issuer_code}/{shard}", ["issuer_code", "shard"])
    ]
    assert largest_id("serial") == MAX_SERIAL and largest_id("worker_id") == MAX_ID == 2**31 - 1
