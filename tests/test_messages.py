"""The one message type (anxinma.messages): both languages from one catalog, data beside text."""

from __future__ import annotations

import json
import pickle

import pytest

from anxinma.messages import Catalog, Message, Text, UnknownMessage


def _catalog() -> Catalog:
    catalog = Catalog("test")
    catalog.define("expired", zh="已于 {date} 过期", en="expired on {date}")
    catalog.define("stale", zh="数据已 {age} 未更新", en="the data is {age} old")
    catalog.define("failed", zh="失败：{why}", en="failed: {why}")
    catalog.define("same", zh="OK", en="OK")
    return catalog


def test_a_message_is_its_text_in_both_languages_and_carries_key_and_params() -> None:
    message = _catalog()("expired", date="2026-09-23")
    assert message == "已于 2026-09-23 过期 / expired on 2026-09-23"
    assert isinstance(message, str)
    assert (message.key, dict(message.params)) == ("expired", {"date": "2026-09-23"})
    assert (message.zh, message.en) == ("已于 2026-09-23 过期", "expired on 2026-09-23")
    assert message.to_json() == {"key": "expired", "params": {"date": "2026-09-23"}}


def test_a_text_or_message_param_is_rendered_in_the_language_it_is_put_into() -> None:
    catalog = _catalog()
    stale = catalog("stale", age=Text("3 天", "3 d"))
    assert (stale.zh, stale.en) == ("数据已 3 天 未更新", "the data is 3 d old")
    failed = catalog("failed", why=stale)
    assert failed.en == "failed: the data is 3 d old"
    assert failed.zh == "失败：数据已 3 天 未更新"
    assert failed.to_json() == {
        "key": "failed",
        "params": {"why": {"key": "stale", "params": {"age": {"zh": "3 天", "en": "3 d"}}}},
    }
    json.dumps(failed.to_json())  # plain JSON all the way down


def test_same_text_in_both_languages_is_not_doubled() -> None:
    assert _catalog()("same") == "OK"


def test_an_unknown_key_or_a_missing_param_is_a_programming_error() -> None:
    catalog = _catalog()
    with pytest.raises(UnknownMessage):
        catalog("nope")
    with pytest.raises(UnknownMessage, match="date"):
        catalog("expired")
    with pytest.raises(ValueError, match="twice"):
        catalog.define("same", zh="x", en="y")


def test_same_compares_key_and_params_and_messages_survive_pickling() -> None:
    catalog = _catalog()
    a, b = catalog("expired", date="2026-01-01"), catalog("expired", date="2026-01-02")
    assert a.same(catalog("expired", date="2026-01-01")) and not a.same(b)
    assert not a.same("已于 2026-01-01 过期 / expired on 2026-01-01")
    restored = pickle.loads(pickle.dumps(a))
    assert isinstance(restored, Message) and restored.same(a) and restored == a
