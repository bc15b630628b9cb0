"""The card operator's view: batches picked by enterprise and filter, the batch file the
encoding station reads, and each worker's result from the station's report or the issuer's
own record."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from anxinma.nfc.batch import REQUIRED_COLUMNS, load_batch
from anxinma.nfc.report import REPORT_COLUMNS
from tests.conftest import LiveIssuer
from tests.issuer.console_support import Console, text


def _batch_id(response: object) -> int:
    location = response.headers["Location"]  # type: ignore[attr-defined]
    return int(location.rsplit("/", 1)[1])


def test_operator_picks_workers_and_gets_the_file_the_station_reads(
    live_issuer: LiveIssuer, tmp_path: Path
) -> None:
    first = int(live_issuer.enterprise("宁波好帮手家政服务有限公司")["id"])  # type: ignore[call-overload]
    second = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    ours = [int(live_issuer.worker(first, name=f"陈{c}芳")["id"]) for c in "秀玉兰"]  # type: ignore[call-overload]
    live_issuer.worker(second, name="周敏")
    console = Console.signed_in(live_issuer, "card_operator")
    page = text(console.get(f"/console/batches/new?enterprise={first}"))
    assert re.findall(r'name="worker" value="(\d+)"', page) == [str(w) for w in ours]
    assert "陈*芳" in page and "周*" not in page  # masked, and only the chosen enterprise
    made = console.post(
        "/console/batches",
        {"enterprise": str(first), "worker": [str(ours[0]), str(ours[2])], "label": "三月"},
    )
    assert made.status_code == 303
    batch = _batch_id(made)
    download = console.get(f"/console/batches/{batch}/batch.csv")
    path = tmp_path / "batch.csv"
    path.write_bytes(download.data)
    loaded = load_batch(path)  # anxinma station encode --batch reads exactly this
    assert [row.worker_id for row in loaded.workers] == [str(ours[0]), str(ours[2])]
    assert (
        loaded.rows[0].display_name == "陈*芳"
        and loaded.rows[0].enterprise_name == "宁波好帮手家政服务有限公司"
    )
    assert loaded.extra_columns == ("photo",)
    assert download.data.decode().splitlines()[0] == ",".join((*REQUIRED_COLUMNS, "photo"))
    everyone = console.post("/console/batches", {"all_matching": "1", "enterprise": "", "label": "全部"})
    assert len(load_batch_text(console, _batch_id(everyone), tmp_path).workers) == 4
    # The command the page shows runs as shown: the station needs the issuer's URL.
    detail = text(console.get(f"/console/batches/{batch}"))
    command = re.search(r"data-station-command>([^<]+)<", detail)
    assert command is not None
    assert f"--batch batch-{batch}.csv --issuer {live_issuer.url}" in command.group(1)
    assert "--device usb" in command.group(1) and "--badges" in command.group(1)
    listing = text(console.get("/console/batches"))
    assert "三月" in listing and "全部" in listing
    nobody = console.post("/console/batches", {"worker": []})
    assert nobody.status_code == 400 and "未选择服务员" in text(nobody)


def load_batch_text(console: Console, batch: int, folder: Path):  # type: ignore[no-untyped-def]
    path = folder / f"b{batch}.csv"
    path.write_bytes(console.get(f"/console/batches/{batch}/batch.csv").data)
    return load_batch(path)


def _report(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*REPORT_COLUMNS, "photo"], extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: "" for name in REPORT_COLUMNS} | row)
    return out.getvalue().encode("utf-8-sig")  # what the station writes


def test_results_come_from_the_issuers_record_and_the_stations_report(issuer_on: LiveIssuer) -> None:
    live_issuer = issuer_on  # on both databases
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    workers = [int(live_issuer.worker(enterprise)["id"]) for _ in range(4)]  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "card_operator")
    batch = _batch_id(console.post("/console/batches", {"worker": [str(w) for w in workers]}))
    page = text(console.get(f"/console/batches/{batch}"))
    assert page.count("待制卡") >= 4
    # The station issues with a card UID through the API (its card_operator token).
    token = live_issuer.token("card_operator")
    done = live_issuer.api(
        "POST", f"/api/v1/workers/{workers[0]}/credentials", token=token, json={"card_uid": "04a1b2c3d4e5f6"}
    ).json()
    page = text(console.get(f"/console/batches/{batch}"))
    assert "已制卡（平台记录）" in page and "04a1b2c3d4e5f6" in page
    report = _report(
        [
            {
                "worker_id": str(workers[0]),
                "status": "done",
                "serial": str(done["serial"]),
                "card_uid": "04a1b2c3d4e5f6",
            },
            {
                "worker_id": str(workers[1]),
                "status": "failed",
                "reason": "card removed before the lock / 写卡时卡被移开",
            },
            {
                "worker_id": str(workers[2]),
                "status": "done",
                "serial": "999999",
                "card_uid": "04ffffffffffff",
            },
            {"worker_id": "123456", "status": "done"},
        ]
    )
    uploaded = console.post(
        f"/console/batches/{batch}/report",
        {"report": (io.BytesIO(report), "batch.report.csv")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 303
    page = text(console.get(uploaded.headers["Location"]))
    assert (
        "记录了 3 行" in page and "有 1 行不属于本批次" in page and "有 1 行所列的卡不是本平台签发的" in page
    )
    assert "写卡时卡被移开" in page
    assert "报告与平台记录不符" in page and "平台没有为该服务员签发绑定此卡的 999999 号安心码" in page
    listing = text(console.get("/console/batches"))
    assert re.search(
        r"<td class=\"num\">4</td>\s*<td class=\"num\">1</td>\s*<td class=\"num\">2</td>", listing
    )
    bad = console.post(
        f"/console/batches/{batch}/report",
        {"report": (io.BytesIO(b"name,code\nx,y\n"), "r.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "这不是制卡工作站的报告" in text(bad)


def test_an_operator_of_one_enterprise_sees_only_its_batches(live_issuer: LiveIssuer) -> None:
    ours = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    theirs = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    mine, other = int(live_issuer.worker(ours)["id"]), int(live_issuer.worker(theirs)["id"])  # type: ignore[call-overload]
    city = Console.signed_in(live_issuer, "card_operator")
    mixed = _batch_id(city.post("/console/batches", {"worker": [str(mine), str(other)]}))
    scoped = Console.signed_in(live_issuer, "card_operator", ours)
    assert scoped.get(f"/console/batches/{mixed}").status_code == 404
    assert scoped.get(f"/console/batches/{mixed}/batch.csv").status_code == 404
    own = scoped.post("/console/batches", {"worker": [str(mine), str(other)]})  # the other one is dropped
    batch = _batch_id(own)
    rows = scoped.get(f"/console/batches/{batch}/batch.csv").data.decode().splitlines()
    assert len(rows) == 2 and rows[1].startswith(f"{mine},")
