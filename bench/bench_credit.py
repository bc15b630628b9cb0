"""Credit benchmarks (issue 21): with a city in the store (bench_consoles' city: 60,000 workers,
500 enterprises, scans, visits, ratings and complaints), the time to gather every enterprise's
inputs and grade them, the daily job's grade step, the public directory's computation and the
public pages' server time (cached, as a consumer gets them).

``python -m bench credit``; ``ANXINMA_BENCH_WORKERS`` shrinks the city for a quick run.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench._report import write_section
from bench.bench_consoles import CITY, City, _time


def main() -> None:
    from anxinma.issuer.services import credit
    from anxinma.issuer.services.rules import today_in_china
    from anxinma.issuer.web import directory

    directory.DEFAULT_RATE_LIMIT = "1000000 per minute"  # the benchmark is one client
    home = Path(tempfile.mkdtemp(prefix="anxinma-bench-credit-"))
    print(f"- building a city of {CITY:,} workers ...", flush=True)
    city = City(f"sqlite:///{home / 'city.sqlite3'}", CITY)
    try:
        service = city.runtime.service
        today = today_in_china()
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            grades = service.credit.grades(today)
            timings.append(time.perf_counter() - start)
        gather_s = statistics.median(timings)
        start = time.perf_counter()
        service.daily.grade(today)
        daily_s = time.perf_counter() - start
        service.credit.seconds = 0
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            service.credit.directory(today)
            timings.append(time.perf_counter() - start)
        directory_s = statistics.median(timings)
        service.credit.seconds = credit.PUBLIC_SECONDS
        client = city.app.test_client()
        ids = ",".join(str(e) for e in city.enterprises[:3])
        pages = [
            ("directory, every enterprise", "/enterprises"),
            ("directory, a search", "/enterprises?q=%E5%AE%81%E6%B3%A2%E7%AC%AC1"),
            ("an enterprise's page", f"/enterprises/{city.enterprises[0]}"),
            ("three compared", f"/enterprises/compare?ids={ids}"),
        ]
        served = [(label, *_time(client, path)) for label, path in pages]
        graded = sum(1 for _i, g in grades.values() if g.graded)
    finally:
        city.close()
        shutil.rmtree(home, ignore_errors=True)
    lines = [
        f"### Credit grades and the public directory ({CITY:,} workers, {len(city.enterprises)} enterprises, SQLite)",
        "",
        "| step | time |",
        "| --- | --- |",
        f"| gather every enterprise's inputs and grade them ({graded} graded) | {gather_s:.2f} s |",
        f"| the daily job's grade step (gather, grade, keep the day's rows, audit) | {daily_s:.2f} s |",
        f"| the public directory computed (at most once a minute per process) | {directory_s:.2f} s |",
    ]
    for label, median, p95 in served:
        lines.append(f"| page: {label}, cached (median, p95 of 25) | {median:.1f} ms (p95 {p95:.1f}) |")
    write_section("credit", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
