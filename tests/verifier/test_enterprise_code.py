"""一企一证一码: an enterprise's own credential reads as the enterprise, on the consumer page
(online and offline, in Chromium) and in ``anxinma verify`` (lines and JSON): its name as
企业名称, its 统一社会信用代码, the public directory's credit figures online, a link to its
public page, and none of a worker's fields (姓名, photo, 健康证, 保险, 确认入户)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anxinma.cli import main
from anxinma.verifier.sync import sync
from tests.conftest import LiveIssuer, screenshot
from tests.verifier.test_page import verdict
from tests.verifier.test_page_offline import wait_until

WORKER_WORDS = ("姓名", "健康证", "保险", "确认入户", "缺失")


def enterprise_code(issuer: LiveIssuer) -> tuple[dict[str, Any], dict[str, Any]]:
    enterprise = issuer.enterprise()
    issuer.worker(int(enterprise["id"]))  # type: ignore[call-overload]  # one worker in service
    answer = issuer.api("POST", f"/api/v1/enterprises/{enterprise['id']}/credentials", json={})
    assert answer.status_code == 201, answer.text
    return enterprise, answer.json()


def subject(page: Any) -> str | None:
    return page.eval_on_selector("[data-status]", "e => e.dataset.subject || null")  # type: ignore[no-any-return]


@pytest.mark.browser
def test_an_enterprise_code_reads_as_the_enterprise_online_and_offline(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    enterprise, issued = enterprise_code(live_issuer)
    worker_code = str(live_issuer.credential()["code"])
    context = browser_context()

    page = context.new_page()
    page.goto(str(issued["code"]))
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    seen = verdict(page)
    assert seen["status"] == "valid" and seen["source"] == "live"
    assert subject(page) == "enterprise"
    person = page.inner_text("#person")
    assert "企业名称" in person and str(enterprise["name"]) in person
    assert "统一社会信用代码" in person and str(enterprise["credit_code"]) in person
    for label in ("信用等级", "在册服务员", "持证率", "亮证率", "投诉", "失信名单"):
        assert label in person, label
    assert "未列入失信名单" in person and "1 人" in person
    shown = page.inner_text("main")
    for word in WORKER_WORDS:
        assert word not in shown, word
    assert "企业本身的安心码" in page.inner_text("#advice")
    assert page.is_hidden("#photo-frame") and page.is_hidden("#entry")
    link = page.get_attribute("#enterprise-page", "href")
    assert link == f"{live_issuer.url}/enterprises/{enterprise['id']}"
    screenshot(page, "page-enterprise-online-zh")
    english = context.new_page()
    english.goto(str(issued["code"]) + "?lang=en")
    english.wait_for_selector("#verdict[data-final]", timeout=15000)
    words = english.inner_text("#person")
    assert "Enterprise name" in words and "Health certificate" not in words
    screenshot(english, "page-enterprise-online-en")

    other = context.new_page()  # a worker's code stays a worker's
    other.goto(worker_code + "?lang=zh-CN")  # and back to Chinese (the choice is remembered)
    other.wait_for_selector("#verdict[data-final]", timeout=15000)
    assert subject(other) == "worker" and "姓名" in other.inner_text("#person")
    assert "健康证" in other.inner_text("#person")

    wait_until(page, "navigator.serviceWorker.controller !== null")
    wait_until(page, "(async () => (await (await caches.open('anxinma-bundle')).keys()).length >= 2)()")
    context.set_offline(True)
    live_issuer.stop()
    page.reload()
    page.wait_for_selector("#verdict[data-final]", timeout=15000)
    seen = verdict(page)
    assert seen["status"] == "valid" and seen["source"] == "offline"
    assert subject(page) == "enterprise"
    person = page.inner_text("#person")
    assert "企业名称" in person and str(enterprise["name"]) in person  # the signed name
    assert "统一社会信用代码" in person and "联网后显示" in person  # not among the signed fields
    shown = page.inner_text("main")
    for word in WORKER_WORDS:
        assert word not in shown, word
    screenshot(page, "page-enterprise-offline-zh")


def test_the_cli_names_the_enterprise_and_its_credit(live_issuer: LiveIssuer, bundle_dir: Path) -> None:
    enterprise, issued = enterprise_code(live_issuer)
    sync(live_issuer.url, bundle_dir, root_key=live_issuer.root_public_key)
    runner = CliRunner()
    result = runner.invoke(main, ["verify", str(issued["code"]), "--bundle", str(bundle_dir), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["subject"] == "enterprise" and document["status"] == "valid"
    live = document["live"]
    assert live["enterprise"]["credit_code"] == enterprise["credit_code"]
    credit = live["credit"]
    assert credit["workers_registered"] == 1 and credit["blacklisted"] == 0
    assert {"grade", "holding_rate", "display_rate", "complaints", "complaints_resolved"} <= set(credit)

    lines = runner.invoke(main, ["verify", str(issued["code"]), "--bundle", str(bundle_dir)])
    assert lines.exit_code == 0, lines.output
    assert f"企业 enterprise: {enterprise['name']}" in lines.output
    assert f"统一社会信用代码 credit code: {enterprise['credit_code']}" in lines.output
    assert "信用等级" in lines.output and "在册服务员 workers in service: 1" in lines.output
    for word in ("姓名", "健康证", "保险"):
        assert word not in lines.output, word

    worker = live_issuer.credential()
    online = runner.invoke(main, ["verify", str(worker["code"]), "--bundle", str(bundle_dir), "--json"])
    record = json.loads(online.stdout)["live"]  # a worker's live record is unchanged
    assert "credit" not in record and "credit_code" not in record["enterprise"]
    theirs = runner.invoke(
        main, ["verify", str(worker["code"]), "--bundle", str(bundle_dir), "--offline", "--json"]
    )
    assert json.loads(theirs.stdout)["subject"] == "worker"


def test_an_enterprise_the_directory_does_not_list_says_so(live_issuer: LiveIssuer, bundle_dir: Path) -> None:
    from sqlalchemy import update

    from anxinma.issuer.store.models import Enterprise

    enterprise, issued = enterprise_code(live_issuer)
    with live_issuer.runtime.store.write() as session:  # blacklisted after its code was issued
        session.execute(
            update(Enterprise).where(Enterprise.id == enterprise["id"]).values(status="blacklisted")
        )
    sync(live_issuer.url, bundle_dir, root_key=live_issuer.root_public_key)
    result = CliRunner().invoke(main, ["verify", str(issued["code"]), "--bundle", str(bundle_dir)])
    assert "未列入企业公示名录" in result.output, result.output
