"""The consumer's phone checks the card (issue 18, item 5): the page opened by tapping a card
(the NFC URI record's lower-case /v/ link) asks for a second tap where Web NFC exists and
compares the chip's serial number with the credential's card binding; a copied card (the same
NDEF on another chip) gets a clear warning; where the phone cannot check, the page says it
could not check the card. Web NFC is stood in for at its lowest layer (tests/web_nfc.py: the
project's own NDEF bytes and a serial number); the page, verify.js and the issuer are real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from anxinma import credential as fmt
from anxinma.ndef import NdefForm, encode_message
from tests.conftest import LiveIssuer, screenshot
from tests.verifier.test_page import open_page, verdict
from tests.web_nfc import ndef_reader

pytestmark = pytest.mark.browser
UID = bytes.fromhex("04a2245a9b6c80")


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIssuer]:
    home = tmp_path_factory.mktemp("card-tap-issuer")
    served = LiveIssuer(home, f"sqlite:///{home / 'anxinma.sqlite3'}")
    try:
        yield served
    finally:
        served.stop()


def _card(issuer: LiveIssuer) -> tuple[fmt.Credential, str, bytes]:
    """A card-bound credential, the link its NFC URI record opens, and the card's NDEF message."""
    issued = issuer.credential(card_uid=UID.hex())
    credential = fmt.decode(bytes.fromhex(str(issued["hex"])))
    message = encode_message(credential, issuer.url, NdefForm.BOTH)
    link = credential.to_url(issuer.url)
    assert "/v/" in link  # the card's link is lower case; the QR's is /V/
    return credential, link, message


def _card_check(page: Any) -> dict[str, Any]:
    return page.eval_on_selector(  # type: ignore[no-any-return]
        "#card-check",
        """e => ({check: e.dataset.cardCheck, hidden: e.hidden, fromCard: e.dataset.fromCard,
                  button: !document.getElementById('card-button').hidden,
                  text: document.getElementById('card-status').innerText})""",
    )


@pytest.mark.parametrize(
    ("serial", "check", "status", "words"),
    [
        ("04:a2:24:5a:9b:6c:80", "match", "valid", "正是此安心码绑定的卡"),
        ("04:11:22:33:44:55:66", "mismatch", "bad_signature", "可能是复制卡，请勿放行"),  # a copy
        ("", "unread", "valid", "没有读到芯片卡号"),  # no serial number: cannot be checked
    ],
)
def test_a_page_opened_from_a_card_asks_for_a_second_tap_and_compares_the_chip(
    issuer: LiveIssuer, browser_context: Callable[..., Any], serial: str, check: str, status: str, words: str
) -> None:
    _, link, message = _card(issuer)
    context = browser_context()
    context.add_init_script(ndef_reader([(message, serial)]))
    page = open_page(context, link)
    offered = _card_check(page)
    assert (offered["check"], offered["hidden"], offered["fromCard"], offered["button"]) == (
        "offered",
        False,
        "true",
        True,
    )
    assert "再贴一次同一张卡" in offered["text"]
    assert verdict(page)["binding"] == "unchecked"
    page.click("#card-button")
    page.wait_for_selector(f"#card-check[data-card-check={check}]")
    seen, checked = verdict(page), _card_check(page)
    assert seen["status"] == status
    assert words in checked["text"]
    if check == "mismatch":
        assert seen["binding"] == "mismatch" and "复制卡" in seen["text"]
        screenshot(page, "page-card-second-tap-copy-zh")


def test_without_web_nfc_a_page_opened_from_a_card_says_it_could_not_check_the_card(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    _, link, _ = _card(issuer)
    page = open_page(browser_context(), link)  # headless Chromium has no NDEFReader, as an iPhone
    seen = _card_check(page)
    assert (seen["check"], seen["hidden"], seen["button"]) == ("impossible", False, False)
    assert "未能核对卡片" in seen["text"] and "不能排除复制卡" in seen["text"]
    assert verdict(page)["status"] == "valid"  # the credential is genuine; the card is unchecked
    assert "扫码无法核对卡号绑定" not in verdict(page)["notes"]  # it was not a QR scan
    screenshot(page, "page-card-cannot-check-zh")
    english = open_page(browser_context(locale="en-US"), link + "?lang=en")
    assert "Could not check the card" in _card_check(english)["text"]


def test_a_qr_scan_without_web_nfc_shows_no_card_check(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    credential, _, _ = _card(issuer)
    page = open_page(browser_context(), credential.qr_text(issuer.url))  # /V/…: from the QR
    assert _card_check(page)["hidden"] is True
    assert "扫码无法核对卡号绑定" in verdict(page)["notes"]


def test_a_second_tap_of_another_card_says_so_and_leaves_the_verdict(
    issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    _, link, _ = _card(issuer)
    _, _, other = _card(issuer)  # another worker's genuine card (the same UID, for the test's sake)
    context = browser_context()
    context.add_init_script(ndef_reader([(other, "04:a2:24:5a:9b:6c:80")]))
    page = open_page(context, link)
    page.click("#card-button")
    page.wait_for_selector("#card-check[data-card-check=other]")
    assert "这是另一张卡" in _card_check(page)["text"]
    assert (verdict(page)["status"], verdict(page)["binding"]) == ("valid", "unchecked")
