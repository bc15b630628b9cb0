"""The status data vectors (tests/vectors/status-compact.json) for the JavaScript side: no drift, and
the Python loaders read every valid one as it says and refuse every invalid one for its reason."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from anxinma.errors import StatusListError
from anxinma.status_list import PublicKeyLookup, load_compact_status_list, load_freshness
from tests.vectors import generate_status

VECTORS: dict[str, Any] = json.loads(
    (Path(generate_status.__file__).parent / generate_status.FILENAME).read_text("utf-8")
)


def _lookup(vector: dict[str, Any]) -> PublicKeyLookup:
    public, kid = bytes.fromhex(vector["public_key"]), bytes.fromhex(vector["kid"])
    return lambda _code, asked: public if asked == kid else None


def test_the_committed_file_is_what_the_generator_makes() -> None:
    path = Path(generate_status.__file__).parent / generate_status.FILENAME
    assert path.read_text("utf-8") == generate_status.render(generate_status.build())


def test_the_vectors_cover_what_the_javascript_side_needs() -> None:
    names = {vector["name"] for vector in VECTORS["compact"]}
    assert {"empty-shard", "only-revoked", "mixed-1-5", "size-not-multiple-of-4", "every-value"} <= names
    values = {value for vector in VECTORS["compact"] for _index, value in vector["statuses"]}
    assert values == {1, 2, 3}
    assert len(VECTORS["invalid_compact"]) >= 20 and VECTORS["freshness"] and VECTORS["invalid_freshness"]


@pytest.mark.parametrize("vector", VECTORS["compact"], ids=[v["name"] for v in VECTORS["compact"]])
def test_a_compact_vector_reads_as_it_says(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    loaded = load_compact_status_list(data, _lookup(vector))
    assert (loaded.issuer_code, loaded.shard, loaded.size, loaded.version) == (
        vector["issuer_code"],
        vector["shard"],
        vector["size"],
        vector["version"],
    )
    assert int(loaded.issued_at.timestamp()) == vector["iat"]
    assert loaded.digest == vector["digest"] == hashlib.sha256(data).hexdigest()
    statuses = dict(vector["statuses"])
    assert [int(loaded.array.get(i)) for i in range(loaded.size)] == [
        statuses.get(i, 0) for i in range(loaded.size)
    ]


@pytest.mark.parametrize("vector", VECTORS["freshness"], ids=[v["name"] for v in VECTORS["freshness"]])
def test_a_freshness_vector_reads_as_it_says(vector: dict[str, Any]) -> None:
    loaded = load_freshness(vector["token"], _lookup(vector))
    claims = vector["claims"]
    assert (str(loaded.issuer_code), loaded.seq, loaded.ttl) == (claims["iss"], claims["seq"], claims["ttl"])
    assert [entry.as_claim() for entry in loaded.shards.values()] == claims["shards"]
    assert loaded.digest == vector["digest"]


def test_the_freshness_vector_lists_the_compact_vectors_digests() -> None:
    digests = {vector["digest"] for vector in VECTORS["compact"]}
    listed = VECTORS["freshness"][0]["claims"]["shards"]
    assert listed and all(entry["digest"] in digests for entry in listed)


@pytest.mark.parametrize(
    "vector", VECTORS["invalid_compact"], ids=[v["name"] for v in VECTORS["invalid_compact"]]
)
def test_an_invalid_compact_vector_is_refused_for_its_reason(vector: dict[str, Any]) -> None:
    with pytest.raises(StatusListError) as caught:
        load_compact_status_list(bytes.fromhex(vector["hex"]), _lookup(vector))
    assert vector["message_contains"] in caught.value.message


@pytest.mark.parametrize(
    "vector", VECTORS["invalid_freshness"], ids=[v["name"] for v in VECTORS["invalid_freshness"]]
)
def test_an_invalid_freshness_vector_is_refused_for_its_reason(vector: dict[str, Any]) -> None:
    with pytest.raises(StatusListError) as caught:
        load_freshness(vector["token"], _lookup(vector))
    assert vector["message_contains"] in caught.value.message
