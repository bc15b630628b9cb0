"""The catalogs of the parts: one message type outside the issuer (issue 16, item 4).

Every sentence a verifier or an NFC desk gives a person comes from a catalog of
:mod:`anxinma.messages` (keys in snake_case); the Python verifier's live-record reasons use the
keys of the consumer page's verifier, so a verdict reads the same from the library and the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from anxinma.messages import Catalog, Message, Text
from anxinma.nfc.messages import MESSAGES
from anxinma.verifier.reasons import REASONS

PACKAGE = Path(__file__).resolve().parent.parent / "anxinma"
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


@pytest.mark.parametrize("catalog", [REASONS, MESSAGES], ids=lambda c: c.name)
def test_every_key_of_a_part_catalog_is_snake_case(catalog: Catalog) -> None:
    keys = catalog.keys()  # a Catalog is not a mapping: keys() is its listing
    assert keys and [key for key in keys if not SNAKE.match(key)] == []


def test_no_part_outside_the_issuer_joins_its_own_bilingual_strings() -> None:
    """The copied ``reason(zh, en)`` / ``_reason`` helpers are gone: a part uses its catalog."""
    helper = re.compile(r"def _?reason\(\s*zh\b")
    found = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "issuer" not in path.relative_to(PACKAGE).parts and helper.search(path.read_text("utf-8"))
    ]
    assert found == []


LIVE_KEYS = [
    "confirmed_live",
    "live_dates_stand",
    "offline_said",
    "live_failed",
    "live_valid",
    "live_attention",
    "live_revoked",
    "live_suspended",
    "live_expired",
]


@pytest.mark.parametrize("key", LIVE_KEYS)
def test_the_live_reasons_have_the_consumer_pages_keys(key: str) -> None:
    page_messages = (PACKAGE / "verifier" / "web.py").read_text("utf-8")
    assert key in REASONS and f'"reason.{key}"' in page_messages


def test_the_live_reasons_read_as_they_always_did() -> None:
    assert REASONS("confirmed_live") == "签发机构在线核对一致 / confirmed live by the issuer"
    why = REASONS("revocation_why", why=Text("离职", "left"))
    revoked = REASONS("live_revoked", why=why)
    assert (
        revoked
        == "签发机构在线确认：此安心码已被吊销（原因：离职） / the issuer says live: revoked (reason: left)"
    )
    assert revoked.to_json() == {
        "key": "live_revoked",
        "params": {"why": {"key": "revocation_why", "params": {"why": {"zh": "离职", "en": "left"}}}},
    }
    failed = REASONS("live_failed", why=Text("无法连接签发机构", "the issuer could not be reached"))
    assert failed.en == "live check failed, the offline result stands: the issuer could not be reached"
    assert failed.zh == "在线核对失败，以离线结果为准：无法连接签发机构"


def test_the_desk_messages_keep_their_words() -> None:
    idle = MESSAGES("checkin_idle", seconds=2.5)
    assert isinstance(idle, Message) and idle == "2.5 秒内无人刷卡 / no card for 2.5 s"
    error = MESSAGES("checkin_send_error", error="OSError()")
    assert error == "上传打卡时出错 / sending check-ins failed: OSError()"
