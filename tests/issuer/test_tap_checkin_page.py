"""static/worker/tap-checkin.js in headless Chromium at phone size (issue 18, item 4): the worker
taps their own card on their own phone and the month's check-in is recorded with source
``phone``. Web NFC is stood in for at its lowest layer (``NDEFReader`` fed the NDEF bytes of
anxinma/ndef.py and a serial number, tests/web_nfc.py) and the phone's holder key by a WebCrypto
Ed25519 stand-in of ``AnxinmaHolder``; the module, verify.js, the issuer and its database are
real. The module is mounted on a page of the live app (the worker page wires it in at merge)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from anxinma import ed25519
from anxinma.issuer.store.models import CheckIn
from anxinma.ndef import NdefForm, encode_message
from tests.conftest import LiveIssuer, screenshot
from tests.issuer.phone_support import CardAndPhone, card_and_phone
from tests.web_nfc import holder, ndef_reader, serial_number


def _mount(context: Any, issuer: LiveIssuer) -> Any:
    """A page of the live app with the element and the scripts the worker page will carry."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(issuer.url + "/console/login")
    page.evaluate(
        """() => { const e = document.createElement('section'); e.setAttribute('data-tap-checkin', '');
                    e.id = 'tap'; document.body.prepend(e); }"""
    )
    page.add_script_tag(url="/static/verifier/verify.js")
    page.add_script_tag(url="/static/worker/tap-checkin.js")
    page.wait_for_selector("#tap [data-tap-result], #tap [data-tap-button]")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _tap(page: Any) -> dict[str, str]:
    page.click("[data-tap-button]")
    page.wait_for_selector(
        "[data-tap-result][data-outcome=recorded], [data-tap-result][data-outcome=already], "
        "[data-tap-result][data-outcome=refused], [data-tap-result][data-outcome=failed]"
    )
    return page.eval_on_selector(  # type: ignore[no-any-return]
        "[data-tap-result]",
        "e => ({outcome: e.dataset.outcome, reason: e.dataset.reason, text: e.innerText})",
    )


def _phone_check_ins(issuer: LiveIssuer) -> list[tuple[int, str, str]]:
    with issuer.runtime.store.read() as session:
        return [
            (row.worker_id, row.source, row.card_uid)
            for row in session.execute(select(CheckIn).order_by(CheckIn.id)).scalars()
        ]


def _card(issuer: LiveIssuer, who: CardAndPhone, serial: str | None = None) -> tuple[bytes, str]:
    """What the worker's card holds (the URL and the binary record, as the station writes it)."""
    return encode_message(who.card, issuer.url, NdefForm.BOTH), serial or serial_number(who.card_uid)


def test_tapping_the_card_on_the_phone_checks_in_once_a_month(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    enterprise = int(live_issuer.enterprise()["id"])
    who = card_and_phone(live_issuer, enterprise)
    other = card_and_phone(live_issuer, enterprise)
    copy = _card(live_issuer, who, serial="04:de:ad:be:ef:00:01")  # the same NDEF on another chip
    # Only the external record (what fits an NTAG213): the module reads it too.
    external_only = encode_message(who.card, live_issuer.url, NdefForm.EXTERNAL)
    taps = [
        _card(live_issuer, other),  # another worker's card
        copy,
        _card(live_issuer, who),  # the worker's own card: checked in
        (external_only, serial_number(who.card_uid)),  # again this month
    ]
    context = browser_context()
    context.add_init_script(ndef_reader(taps))
    context.add_init_script(holder(who.phone_key, who.phone.to_hex()))
    page = _mount(context, live_issuer)

    seen = _tap(page)
    assert (seen["outcome"], seen["reason"]) == ("refused", "other_worker")
    assert "另一位服务员" in seen["text"] and "another worker's" in seen["text"]
    seen = _tap(page)
    assert (seen["outcome"], seen["reason"]) == ("refused", "copy")
    assert "复制卡" in seen["text"] and "a copy" in seen["text"]
    assert page.evaluate("window.__holderSigned") == 0  # refused here: nothing signed, nothing sent
    assert _phone_check_ins(live_issuer) == []

    seen = _tap(page)
    assert seen["outcome"] == "recorded", seen
    assert seen["text"].index("打卡成功") < seen["text"].index("Checked in")  # Chinese first
    screenshot(page, "worker-tap-checkin-zh")
    assert _phone_check_ins(live_issuer) == [(who.worker_id, "phone", who.card_uid.hex())]
    seen = _tap(page)
    assert seen["outcome"] == "already" and "本月已打卡" in seen["text"]
    assert _phone_check_ins(live_issuer) == [(who.worker_id, "phone", who.card_uid.hex())]
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_check_in_signed_by_another_phone_is_refused_by_the_issuer_in_both_languages(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    who = card_and_phone(live_issuer, int(live_issuer.enterprise()["id"]))
    context = browser_context()
    context.add_init_script(ndef_reader([_card(live_issuer, who)]))
    # This phone holds the worker's credential but not its key (a copied credential).
    context.add_init_script(holder(ed25519.SigningKey.generate(), who.phone.to_hex()))
    page = _mount(context, live_issuer)
    seen = _tap(page)
    assert (seen["outcome"], seen["reason"]) == ("refused", "forbidden")
    assert "不是此安心码绑定的手机" in seen["text"] and "not signed by the phone" in seen["text"]
    assert page.evaluate("window.__holderSigned") == 1
    assert _phone_check_ins(live_issuer) == []


def test_without_web_nfc_the_page_says_so_and_points_to_the_desk(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    context = browser_context()  # headless Chromium has no NDEFReader, as an iPhone has none
    page = _mount(context, live_issuer)
    assert page.query_selector("[data-tap-button]") is None
    seen = page.eval_on_selector(
        "[data-tap-result]", "e => ({outcome: e.dataset.outcome, text: e.innerText})"
    )
    assert seen["outcome"] == "unsupported"
    assert "刷卡机" in seen["text"] and "card reader" in seen["text"]
    assert seen["text"].index("不能读取") < seen["text"].index("cannot read")
    screenshot(page, "worker-tap-checkin-no-nfc-zh")


def test_on_the_worker_page_itself_a_tap_of_the_own_card_checks_in(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    """The whole path with nothing stood in but Web NFC: the console's enrolment link opened on
    the phone, the phone's own key (holder.js, WebCrypto in IndexedDB), its phone credential,
    then the worker's own card tapped on the page the enrolment left open."""
    import secrets

    from anxinma import credential as fmt
    from tests.issuer.test_phone_page import enrolment_url, open_code

    enterprise = int(live_issuer.enterprise()["id"])
    worker = int(live_issuer.worker(enterprise)["id"])
    uid = bytes.fromhex("04" + secrets.token_hex(6))
    card = fmt.decode(bytes.fromhex(str(live_issuer.credential(worker, card_uid=uid.hex())["hex"])))
    tapped = encode_message(card, live_issuer.url, NdefForm.BOTH)
    context = browser_context()
    context.add_init_script(ndef_reader([(tapped, serial_number(uid))]))
    page = open_code(context, enrolment_url(live_issuer, worker))  # enrolled: the code shows
    page.wait_for_selector("[data-tap-checkin] [data-tap-button]")
    seen = _tap(page)
    assert seen["outcome"] == "recorded", seen
    assert _phone_check_ins(live_issuer) == [(worker, "phone", uid.hex())]
    screenshot(page, "worker-page-tap-checkin-zh")
