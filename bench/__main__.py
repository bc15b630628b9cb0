"""``python -m bench [area ...]``: run the benchmarks (all, or the named areas)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    areas = argv or sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )
    for area in areas:
        print(f"== {area}", flush=True)
        importlib.import_module(f"bench.bench_{area}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
