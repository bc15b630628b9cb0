"""Fixtures of the verifier tests: real HTTP publishers of real signed trust material."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.verifier.publisher import Publisher


@pytest.fixture
def make_publisher(tmp_path: Path) -> Iterator[Callable[..., Publisher]]:
    """Start publishers on free ports; every one is stopped after the test."""
    started: list[Publisher] = []

    def make(**kwargs: object) -> Publisher:
        publisher = Publisher(tmp_path / f"issuer-{len(started)}", **kwargs)  # type: ignore[arg-type]
        started.append(publisher)
        return publisher

    yield make
    for publisher in started:
        publisher.stop()


@pytest.fixture
def ningbo(make_publisher: Callable[..., Publisher]) -> Publisher:
    return make_publisher(issuer_code=330200, name="宁波市商务局")


@pytest.fixture
def chongqing(make_publisher: Callable[..., Publisher]) -> Publisher:
    return make_publisher(issuer_code=500000, name="重庆市商务委员会")


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return tmp_path / "bundles"
