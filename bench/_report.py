"""Write one benchmark's block into docs/benchmarks.md, with the machine and the date."""

from __future__ import annotations

import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def write_section(area: str, body: str) -> None:
    """Replace the block ``<!-- bench:area -->`` … ``<!-- /bench:area -->`` (appending it if absent)."""
    stamp = f"_Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {machine()}._\n\n"
    block = f"<!-- bench:{area} -->\n{stamp}{body.strip()}\n<!-- /bench:{area} -->"
    text = DOC.read_text("utf-8") if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(area)} -->.*?<!-- /bench:{re.escape(area)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text.rstrip()}\n\n{block}\n"
    DOC.write_text(text, "utf-8")


def rate(func: Callable[[], object], *, repeat: int = 7, min_time: float = 0.2) -> float:
    """Median calls per second over ``repeat`` timed batches (each at least ``min_time`` s)."""
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            func()
        if time.perf_counter() - start >= min_time / 4:
            break
        batch *= 2
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(batch):
            func()
        rates.append(batch / (time.perf_counter() - start))
    return statistics.median(rates)
