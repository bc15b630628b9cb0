"""Console benchmarks (issue 7): server time of the console pages with a city in the store
(60,000 workers, 500 enterprises, 90 % credentialed, two months of scan counts), the
regulator's live figures and the daily snapshot, and a bulk import's preview and run.

``python -m bench consoles``; ``ANXINMA_BENCH_WORKERS`` shrinks the city for a quick run,
``ANXINMA_BENCH_POSTGRES=1`` adds the same run on the local PostgreSQL.
Server time: the app called through Flask's test client (routing, the session JWT and its
user, the CSRF token, the queries, the template), without a network in between.
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import secrets
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench._report import write_section

CITY = int(os.environ.get("ANXINMA_BENCH_WORKERS", "60000"))
POSTGRES = "host=127.0.0.1 port=5432 dbname=test user=postgres"
PAGE_TARGET_MS = 100.0


def _rows(count: int, rng: random.Random) -> list[dict[str, str]]:
    from anxinma import credential as fmt
    from anxinma.issuer.demo import GIVEN, SURNAMES, demo_id_number
    from anxinma.issuer.services.rules import today_in_china

    today = today_in_china()
    seen: set[str] = set()
    rows = []
    while len(rows) < count:
        number = demo_id_number(rng)
        if number in seen:
            continue
        seen.add(number)
        rows.append(
            {
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "id_number": number,
                "phone": f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
                "categories": "、".join(
                    {rng.choice(list(fmt.Category)).zh for _ in range(rng.choice((1, 2)))}
                ),
                "health_certificate_valid_until": (
                    today + timedelta(days=rng.randrange(-20, 360))
                ).isoformat(),
                "insurance_valid_until": (today + timedelta(days=rng.randrange(10, 360))).isoformat(),
            }
        )
    return rows


class City:
    """The issuer app on a store holding a city, and console accounts to browse it."""

    def __init__(self, database_url: str, count: int) -> None:
        from sqlalchemy import insert

        from anxinma.issuer import IssuerConfig, create_app
        from anxinma.issuer.demo import demo_credit_code
        from anxinma.issuer.services.auth import SYSTEM, Role
        from anxinma.issuer.services.issuing import IssueItem
        from anxinma.issuer.services.rules import today_in_china
        from anxinma.issuer.services.validation import worker_input
        from anxinma.issuer.store.models import ScanCount, Visit

        self.home = Path(tempfile.mkdtemp(prefix="anxinma-bench-consoles-"))
        self.app = create_app(
            IssuerConfig(home=self.home, database_url=database_url, dev_bootstrap=True, background=False)
        )
        self.runtime = self.app.extensions["anxinma"]
        service = self.runtime.service
        rng = random.Random(7)
        start = time.perf_counter()
        self.enterprises = [
            service.run(
                service.enterprises.create,
                SYSTEM,
                {"name": f"宁波第{n + 1}家政服务有限公司", "credit_code": demo_credit_code(rng)},
            ).id
            for n in range(max(1, count // 120))
        ]
        people = [worker_input(row) for row in _rows(count, rng)]
        per = max(1, count // len(self.enterprises))
        ids: list[int] = []
        owner: dict[int, int] = {}
        for number, enterprise in enumerate(self.enterprises):
            last = number == len(self.enterprises) - 1
            chunk = people[number * per :] if last else people[number * per : (number + 1) * per]
            with service.tx() as unit:
                made = service.workers.register_many(unit, SYSTEM, chunk, enterprise)
            ids += made
            owner.update(dict.fromkeys(made, enterprise))
        for offset in range(0, int(len(ids) * 0.9), 1000):
            with service.tx() as unit:
                service.issuing.issue_many(
                    unit,
                    SYSTEM,
                    [IssueItem(w) for w in ids[offset : min(offset + 1000, int(len(ids) * 0.9))]],
                )
        today = today_in_china()
        scans = {
            (worker, today - timedelta(days=rng.randrange(60)))
            for worker in rng.sample(ids, int(len(ids) * 0.4))
            for _ in range(rng.randrange(1, 6))
        }
        with self.runtime.store.write() as session:
            rows = [{"worker_id": w, "day": d, "count": rng.randrange(1, 4)} for w, d in scans]
            for offset in range(0, len(rows), 5000):
                session.execute(insert(ScanCount), rows[offset : offset + 5000])
            visited = rng.sample(ids, len(ids) // 20)
            session.execute(
                insert(Visit),
                [
                    {
                        "credential_serial": 0,
                        "worker_id": w,
                        "enterprise_id": owner[w],
                        "token_hash": uuid.uuid4().hex * 2,
                    }
                    for w in visited
                ],
            )
            self._loop_rows(session, rng, owner, ids, visited)
        self.scan_rows = len(scans)
        if self.runtime.store.is_postgres:  # what autovacuum does within a minute of a bulk load
            with self.runtime.store.write_engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        self.setup_s = time.perf_counter() - start
        self.worker_ids = ids
        self.logins: dict[str, tuple[str, str]] = {}
        for role, enterprise in (
            (Role.ENTERPRISE_ADMIN, self.enterprises[0]),
            (Role.REGULATOR, None),
            (Role.ISSUER_ADMIN, None),
        ):
            password = secrets.token_urlsafe(12)
            service.accounts.create_user(f"bench-{role.value}", password, role, enterprise)
            self.logins[role.value] = (f"bench-{role.value}", password)

    def _loop_rows(
        self, session: Any, rng: random.Random, owner: dict[int, int], ids: list[int], visited: list[int]
    ) -> None:
        """This month's 按月打卡 of 70 % of the credentialed, a consumer rating on half the
        visits and a complaint on 2 % of them (a quarter resolved)."""
        from datetime import UTC, datetime

        from sqlalchemy import insert, select

        from anxinma.issuer.services.checkins import this_month
        from anxinma.issuer.store.models import CheckIn, Complaint, Rating, Visit

        now = datetime.now(UTC)
        month = this_month()
        credentialed = ids[: int(len(ids) * 0.9)]
        tapped = rng.sample(credentialed, int(len(credentialed) * 0.7))
        rows = [
            {
                "worker_id": w,
                "enterprise_id": owner[w],
                "month": month,
                "credential_serial": 0,
                "card_uid": f"04{w:012x}",
                "station": "bench",
                "tapped_at": now,
                "recorded_at": now,
                "recorded_by": "bench",
            }
            for w in tapped
        ]
        for offset in range(0, len(rows), 5000):
            session.execute(insert(CheckIn), rows[offset : offset + 5000])
        visits = session.execute(select(Visit.id, Visit.worker_id)).all()
        session.execute(
            insert(Rating),
            [
                {
                    "worker_id": w,
                    "visit_id": v,
                    "enterprise_id": owner[w],
                    "credential_serial": 0,
                    "source": "consumer",
                    "score": rng.randrange(3, 6),
                    "created_at": now,
                }
                for v, w in visits[::2]
            ],
        )
        session.execute(
            insert(Complaint),
            [
                {
                    "worker_id": w,
                    "visit_id": v,
                    "enterprise_id": owner[w],
                    "credential_serial": 0,
                    "category": rng.choice(("quality", "attitude", "no_show")),
                    "summary": "约好九点，十点才到",
                    "filed_on": now.date(),
                    "filed_at": now,
                    "resolved": n % 4 == 0,
                }
                for n, (v, w) in enumerate(visits[::50])
            ],
        )
        self.check_in_rows, self.complaint_rows = len(rows), len(visits[::50])

    def client(self, role: str) -> Any:
        client = self.app.test_client()
        page = client.get("/console/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
        username, password = self.logins[role]
        response = client.post(
            "/console/login", data={"username": username, "password": password, "csrf_token": token}
        )
        assert response.status_code == 303, response.status_code
        return client

    def close(self) -> None:
        self.runtime.close()
        shutil.rmtree(self.home, ignore_errors=True)


def _time(client: Any, path: str, repeat: int = 25) -> tuple[float, float]:
    """(median, p95) milliseconds of GET ``path``; the first call warms caches and is dropped."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def pages(city: City) -> list[tuple[str, str, float, float]]:
    clerk, regulator = city.client("enterprise_admin"), city.client("regulator")
    worker = city.worker_ids[3]
    deep = max(1, int(len(city.worker_ids) * 0.9) // 50)
    cases = [
        (clerk, "enterprise clerk: worker list, page 1 (50 rows)", "/console/workers"),
        (clerk, "enterprise clerk: page 2", "/console/workers?page=2"),
        (clerk, "enterprise clerk: search 李 (name prefix)", "/console/workers?q=%E6%9D%8E"),
        (clerk, "enterprise clerk: masked name 王*英", "/console/workers?q=%E7%8E%8B*%E8%8B%B1"),
        (
            clerk,
            "enterprise clerk: category 育婴, working",
            "/console/workers?category=infant_care&status=active",
        ),
        (clerk, "enterprise clerk: a worker's archive", f"/console/workers/{worker}"),
        (regulator, "regulator: city-wide worker list, page 1", "/console/workers"),
        (
            regulator,
            f"regulator: city-wide, page {deep} (offset {(deep - 1) * 50:,})",
            f"/console/workers?page={deep}",
        ),
        (regulator, "regulator: city-wide search 李", "/console/workers?q=%E6%9D%8E"),
        (regulator, "regulator: dashboard (figures of the minute)", "/console/dashboard"),
        (regulator, "regulator: codes expiring in 30 days", "/console/expiring"),
        (regulator, "regulator: lapsed health certificates", "/console/lapsed"),
        (clerk, "enterprise clerk: visits (50 newest)", "/console/visits"),
        (clerk, "enterprise clerk: open complaints", "/console/complaints"),
        (regulator, "regulator: city-wide visits (50 newest)", "/console/visits"),
        (regulator, "regulator: city-wide open complaints", "/console/complaints"),
    ]
    results = []
    for client, label, path in cases:
        median, p95 = _time(client, path)
        results.append((label, path, median, p95))
        print(f"  {label}: {median:.1f} ms (p95 {p95:.1f})", flush=True)
    return results


def figures(city: City) -> dict[str, float]:
    from anxinma.issuer.services import stats
    from anxinma.issuer.services.rules import today_in_china

    store, issuer_id = city.runtime.store, city.runtime.service.issuer_id
    today = today_in_china()
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        stats.compute(store, issuer_id, today)
        timings.append(time.perf_counter() - start)
    start = time.perf_counter()
    stats.snapshot(store, issuer_id, today)
    snapshot = time.perf_counter() - start
    regulator = city.client("regulator")
    refresh, _ = _time(regulator, "/console/dashboard?refresh=1", repeat=5)
    return {"compute_s": statistics.median(timings), "snapshot_s": snapshot, "refresh_ms": refresh}


def bulk_import(city: City, rows: int = 2000) -> dict[str, float]:
    from anxinma.issuer.store.models import ImportJob

    clerk = city.client("enterprise_admin")
    header = ["姓名", "身份证号", "手机号", "服务类别", "健康证有效期", "保险有效期"]
    keys = [
        "name",
        "id_number",
        "phone",
        "categories",
        "health_certificate_valid_until",
        "insurance_valid_until",
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in _rows(rows, random.Random(99)):
        writer.writerow([row[k] for k in keys])
    data = out.getvalue().encode("utf-8-sig")
    page = clerk.get("/console/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
    start = time.perf_counter()
    response = clerk.post(
        "/console/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "big.csv")},
        content_type="multipart/form-data",
    )
    preview = time.perf_counter() - start
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    job = int(response.headers["Location"].rsplit("/", 1)[1])
    start = time.perf_counter()
    answer = clerk.post(f"/console/import/{job}/run", data={"csrf_token": token})
    accepted = time.perf_counter() - start
    assert answer.status_code == 303
    while True:
        with city.runtime.store.read() as session:
            state = session.get(ImportJob, job).state  # type: ignore[union-attr]
        if state != "running":
            break
        time.sleep(0.05)
    run = time.perf_counter() - start
    assert state == "done", state
    return {"rows": rows, "preview_s": preview, "accepted_ms": accepted * 1000, "run_s": run}


def _postgres() -> tuple[str, Any]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}", drop


def run(label: str, database_url: str) -> dict[str, Any]:
    print(f"- {label}: building a city of {CITY:,} workers ...", flush=True)
    city = City(database_url, CITY)
    try:
        print(f"  built in {city.setup_s:.0f} s ({city.scan_rows:,} scan-count rows)", flush=True)
        return {
            "label": label,
            "pages": pages(city),
            "figures": figures(city),
            "import": bulk_import(city),
            "enterprises": len(city.enterprises),
            "scan_rows": city.scan_rows,
            "check_in_rows": city.check_in_rows,
            "complaint_rows": city.complaint_rows,
        }
    finally:
        city.close()


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="anxinma-bench-"))
    try:
        results = [run("SQLite (WAL)", f"sqlite:///{home / 'city.sqlite3'}")]
        if os.environ.get("ANXINMA_BENCH_POSTGRES"):
            url, drop = _postgres()
            try:
                results.append(run("PostgreSQL", url))
            finally:
                drop()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    first = results[0]
    lines = [
        f"### Console pages with {CITY:,} workers and {first['enterprises']} enterprises in the store",
        "",
        f"Server time (Flask test client: routing, session JWT and its user, CSRF token, queries, template), "
        f"median and p95 of 25 requests; target <= {PAGE_TARGET_MS:.0f} ms for a page of 50 workers. "
        "PostgreSQL's statistics are refreshed after the bulk load (ANALYZE, as autovacuum does). "
        f"The store also holds this month's {first['check_in_rows']:,} check-ins (the worker list's and "
        f"the dashboard's column), and {first['complaint_rows']:,} complaints on its visits.",
        "",
        "| page | " + " | ".join(r["label"] for r in results) + " |",
        "| --- |" + " --- |" * len(results),
    ]
    for index, (label, _path, _m, _p) in enumerate(first["pages"]):
        cells = [f"{r['pages'][index][2]:.1f} ms (p95 {r['pages'][index][3]:.1f})" for r in results]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"### The regulator's figures ({first['scan_rows']:,} per-day scan counts, 5 % of workers with a confirmed visit)",
        "",
        "| | " + " | ".join(r["label"] for r in results) + " |",
        "| --- |" + " --- |" * len(results),
        "| live figures of every enterprise (5 grouped queries) | "
        + " | ".join(f"{r['figures']['compute_s'] * 1000:.0f} ms" for r in results)
        + " |",
        "| dashboard with `refresh=1` (computes them) | "
        + " | ".join(f"{r['figures']['refresh_ms']:.0f} ms" for r in results)
        + " |",
        "| daily snapshot (3 display windows, all enterprises) | "
        + " | ".join(f"{r['figures']['snapshot_s']:.1f} s" for r in results)
        + " |",
        "",
        "The dashboard keeps the live figures for a minute (per process), so a page view is the "
        "figures-of-the-minute row above; a refresh or the first view of the minute pays the computation.",
        "",
        f"### Bulk import of {first['import']['rows']:,} rows (CSV)",
        "",
        "| | " + " | ".join(r["label"] for r in results) + " |",
        "| --- |" + " --- |" * len(results),
        "| upload + preview (read, validate every row, look up existing and blacklisted) | "
        + " | ".join(f"{r['import']['preview_s']:.2f} s" for r in results)
        + " |",
        "| the run request answers (the import goes on in the background) | "
        + " | ".join(f"{r['import']['accepted_ms']:.0f} ms" for r in results)
        + " |",
        "| the import, chunks of 250 rows each one transaction | "
        + " | ".join(
            f"{r['import']['run_s']:.1f} s ({r['import']['rows'] / r['import']['run_s']:,.0f} rows/s)"
            for r in results
        )
        + " |",
    ]
    slow = [(r["label"], p[0], p[2]) for r in results for p in r["pages"][:9] if p[2] > PAGE_TARGET_MS]
    lines += [
        "",
        "Worker-list pages over the target: "
        + (", ".join(f"{a}: {b} ({c:.0f} ms)" for a, b, c in slow) or "none")
        + ".",
    ]
    write_section("consoles", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
