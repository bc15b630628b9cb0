"""The compact form (anxinma/status_list/compact.py, docs/interfaces.md, status data): round trips, exact bytes, refusals."""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anxinma.errors import StatusListError
from anxinma.status_list import (
    COMPACT_TYPE,
    CWT_TYPE,
    FAR_FUTURE,
    SHARD_SIZE,
    CredentialStatus,
    StatusArray,
    compact_digest,
    load_compact_status_list,
    sign_compact_status_list,
)
from anxinma.status_list.compact import MAX_K, best_k, rice_decode, rice_encode
from tests.status_list.support import (
    ISSUER,
    KEY,
    KID,
    OTHER_KEY,
    SIGNED_AT,
    array_of,
    compact_payload,
    forge_compact,
    lookup,
)


def _compact(statuses: dict[int, int], size: int = 1000, version: int = 3) -> bytes:
    return sign_compact_status_list(
        array_of(size, statuses),
        issuer_code=ISSUER,
        shard=2,
        version=version,
        key=KEY,
        kid=KID,
        now=SIGNED_AT,
    )


def _statuses(array: StatusArray) -> dict[int, int]:
    return {index: int(array.get(index)) for index in range(array.size) if array.get(index)}


def _refused(data: bytes, match: str) -> None:
    with pytest.raises(StatusListError, match=match) as caught:
        load_compact_status_list(data, lookup(), now=SIGNED_AT)
    assert caught.value.message_zh != caught.value.message  # said in both languages


# -- round trips ------------------------------------------------------------------------------


def test_a_compact_list_round_trips_with_its_version_and_digest() -> None:
    statuses = {0: 1, 7: 2, 8: 3, 999: 1, 500: 3}
    data = _compact(statuses)
    loaded = load_compact_status_list(data, lookup())
    assert (loaded.issuer_code, loaded.shard, loaded.size, loaded.version) == (ISSUER, 2, 1000, 3)
    assert loaded.digest == hashlib.sha256(data).hexdigest() == compact_digest(data)
    assert loaded.compact == data and loaded.token == "" and loaded.cwt is None
    assert loaded.issued_at == SIGNED_AT and loaded.expires_at == FAR_FUTURE
    assert _statuses(loaded.array) == statuses
    assert loaded.status(2 * 2**20 + 7) is CredentialStatus.SUSPENDED
    assert loaded.status(2 * 2**20 + 1000) is None


def test_an_empty_shard_has_no_streams() -> None:
    data = sign_compact_status_list(StatusArray(0), issuer_code=ISSUER, shard=0, version=1, key=KEY, kid=KID)
    payload = cbor2.loads(cbor2.loads(data).value[2])
    assert payload[3] == 0 and payload[6] == []
    assert load_compact_status_list(data, lookup()).size == 0


def test_the_envelope_is_the_contracts() -> None:
    outer = cbor2.loads(_compact({1: 1, 2: 3}))
    protected, unprotected, payload, _signature = outer.value
    assert outer.tag == 18 and dict(unprotected) == {}
    assert cbor2.loads(protected) == {1: -8, 4: KID, 16: COMPACT_TYPE}
    decoded = cbor2.loads(payload)
    assert sorted(decoded) == [1, 2, 3, 4, 5, 6]
    assert [stream[:3] for stream in decoded[6]] == [[1, 0, 1], [3, 0, 1]]


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 5000),
    density=st.floats(0, 1),
    weights=st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(0, 10)),
    seed=st.integers(0, 2**32),
)
def test_any_array_round_trips(size: int, density: float, weights: tuple[int, int, int], seed: int) -> None:
    rng = random.Random(seed)
    values = [value for value, weight in zip((1, 2, 3), weights, strict=True) for _ in range(weight)] or [1]
    array = StatusArray(size)
    for index in range(size):
        if rng.random() < density:
            array.set(index, rng.choice(values))
    data = sign_compact_status_list(
        array, issuer_code=ISSUER, shard=0, version=9, key=KEY, kid=KID, now=SIGNED_AT
    )
    loaded = load_compact_status_list(data, lookup())
    assert loaded.size == size and _statuses(loaded.array) == _statuses(array)
    assert loaded.array.to_bytes() == array.to_bytes()


def test_slots_beyond_the_size_in_the_last_byte_are_not_encoded() -> None:
    array = StatusArray(7, bytes([0, 0b11000000]))  # serial 7 set, but the size is 7
    data = sign_compact_status_list(array, issuer_code=ISSUER, shard=0, version=1, key=KEY, kid=KID)
    assert _statuses(load_compact_status_list(data, lookup()).array) == {}


@settings(deadline=None)  # the 2 cores are shared: no per-example deadline
@given(gaps=st.lists(st.integers(0, 5000), max_size=200), k=st.integers(0, MAX_K))
def test_rice_codes_round_trip(gaps: list[int], k: int) -> None:
    if gaps:
        assert rice_decode(rice_encode(gaps, k), k, len(gaps), size=sum(gaps) + len(gaps)) == gaps


@settings(deadline=None)  # the 2 cores are shared: no per-example deadline
@given(gaps=st.lists(st.integers(0, 1 << 20), min_size=1, max_size=100))
def test_the_encoder_takes_the_smallest_k_of_least_bits(gaps: list[int]) -> None:
    def bits(k: int) -> int:
        return len(gaps) * (k + 1) + sum(gap >> k for gap in gaps)

    assert best_k(gaps) == min(range(MAX_K + 1), key=lambda k: (bits(k), k))


# -- exact bytes ------------------------------------------------------------------------------


def test_the_same_statuses_version_time_and_key_give_the_same_bytes() -> None:
    assert _compact({5: 1, 6: 3}) == _compact({6: 3, 5: 1})
    assert _compact({5: 1}) != _compact({5: 1}, version=4)


def test_the_bytes_are_pinned() -> None:
    """Serials 0 and 3 revoked (k 0: ``0`` ``110``), 10 suspended (k 2: ``11`` ``0`` ``10``), 4 attention
    (k 1: ``11`` ``0`` ``0``): a change here changes every publication's digest."""
    data = _compact({0: 1, 3: 1, 4: 3, 10: 2}, size=12, version=2)
    payload = "a6011a000509d80202030c0402051a6b16678006838401000241608402020141d08403010141c0"  # {1: 330200, … 6: streams}
    assert data.hex().startswith(
        "d284582da301270442be5d1078236170706c69636174696f6e2f766e642e616e78696e6d612e"
    )
    assert payload in data.hex()
    assert compact_digest(data) == hashlib.sha256(data).hexdigest()


# -- refusals ---------------------------------------------------------------------------------

GOOD = compact_payload(100, [[1, 0, 2, bytes([0b11101110])]])  # indices 3 and 7 revoked


def test_the_hand_built_form_is_accepted() -> None:
    loaded = load_compact_status_list(forge_compact(GOOD), lookup(), now=SIGNED_AT)
    assert _statuses(loaded.array) == {3: 1, 7: 1}


@pytest.mark.parametrize("cut", [1, 2, 10, 40, 70])
def test_a_truncated_form_is_refused(cut: int) -> None:
    data = _compact({1: 1, 500: 3})
    _refused(data[:-cut], "truncated|not CBOR")


def test_trailing_bytes_are_refused() -> None:
    _refused(_compact({1: 1}) + b"\x00", "bytes after the envelope")


def test_an_untagged_or_otherwise_tagged_form_is_refused() -> None:
    _refused(forge_compact(GOOD, tag=None), "tag 18")
    _refused(forge_compact(GOOD, tag=17), "tag 18")


def test_another_algorithm_is_refused() -> None:
    _refused(forge_compact(GOOD, header={1: -7, 4: KID, 16: COMPACT_TYPE}), "not EdDSA")


def test_another_type_is_refused() -> None:
    _refused(forge_compact(GOOD, header={1: -8, 4: KID, 16: CWT_TYPE}), "not a compact status list")


def test_a_header_with_other_fields_is_refused() -> None:
    _refused(forge_compact(GOOD, header={1: -8, 4: KID, 16: COMPACT_TYPE, 2: [1]}), "protected header")


def test_a_kid_that_is_not_two_bytes_is_refused() -> None:
    _refused(forge_compact(GOOD, header={1: -8, 4: b"\x01\x02\x03", 16: COMPACT_TYPE}), "kid")


def test_a_non_empty_unprotected_header_is_refused() -> None:
    _refused(forge_compact(GOOD, unprotected={4: KID}), "unprotected")


def test_a_stream_of_value_0_is_refused() -> None:
    _refused(forge_compact(compact_payload(100, [[0, 0, 1, b"\x00"]])), "value")


def test_a_stream_of_value_above_3_is_refused() -> None:
    _refused(forge_compact(compact_payload(100, [[4, 0, 1, b"\x00"]])), "value")


def test_a_repeated_stream_is_refused() -> None:
    _refused(forge_compact(compact_payload(100, [[1, 0, 1, b"\x00"], [1, 0, 1, b"\x80"]])), "ascending, once")


def test_streams_out_of_order_are_refused() -> None:
    _refused(forge_compact(compact_payload(100, [[3, 0, 1, b"\x00"], [1, 0, 1, b"\x80"]])), "ascending, once")


def test_an_index_at_or_beyond_the_size_is_refused() -> None:
    assert load_compact_status_list(forge_compact(compact_payload(8, GOOD[6])), lookup()).status(7)
    _refused(forge_compact(compact_payload(7, GOOD[6])), "index 7 is not below the size 7")  # k = 0
    _refused(
        forge_compact(compact_payload(7, [[1, 1, 2, bytes([0b10110100])]])), "not below the size 7"
    )  # 3, 7
    _refused(forge_compact(compact_payload(100, [[1, 3, 1, bytes([0xFF, 0xF7])]])), "gap of 103")


def test_gaps_that_add_up_past_the_size_are_refused_before_they_are_expanded() -> None:
    coded = rice_encode([2**18] * 5, 20)  # each gap fits a shard, the five do not
    _refused(forge_compact(compact_payload(SHARD_SIZE, [[1, 20, 5, coded]])), "beyond the size 1048576")


def test_a_size_above_a_shard_is_refused() -> None:
    _refused(forge_compact(compact_payload(SHARD_SIZE + 1, [])), "above")
    assert (
        load_compact_status_list(forge_compact(compact_payload(SHARD_SIZE, [])), lookup()).size == SHARD_SIZE
    )


def test_a_count_above_the_codes_is_refused() -> None:
    _refused(forge_compact(compact_payload(100, [[1, 0, 3, bytes([0b11101110])]])), "ends before its count")


def test_a_count_below_the_codes_is_refused() -> None:
    _refused(forge_compact(compact_payload(100, [[1, 0, 1, bytes([0b11101110])]])), "padding")
    two_bytes = bytes([0b11101110, 0b10000000])
    _refused(forge_compact(compact_payload(100, [[1, 0, 2, two_bytes]])), "bytes after a stream")


def test_a_stream_with_no_entries_is_refused() -> None:
    _refused(forge_compact(compact_payload(100, [[1, 0, 0, b""]])), "int >= 1")


def test_a_count_above_the_size_is_refused() -> None:
    _refused(forge_compact(compact_payload(2, [[1, 0, 3, b"\x00"]])), "above")


def test_k_above_24_is_refused() -> None:
    _refused(forge_compact(compact_payload(100, [[1, 25, 1, bytes(4)]])), "above 24")


def test_set_padding_bits_are_refused() -> None:
    _refused(
        forge_compact(compact_payload(100, [[1, 0, 2, bytes([0b00100000])]])), "padding"
    )  # 0, 1, then a 1


def test_a_stream_longer_than_its_count_allows_is_refused() -> None:
    _refused(forge_compact(compact_payload(100, [[1, 0, 1, bytes(100)]])), "longer than")


def test_an_index_in_two_streams_is_refused() -> None:
    streams = [[1, 0, 1, bytes([0b11100000])], [3, 0, 1, bytes([0b11100000])]]
    _refused(forge_compact(compact_payload(100, streams)), "two streams")


def test_a_bad_signature_is_refused() -> None:
    _refused(forge_compact(GOOD, key=OTHER_KEY), "signature does not verify")
    data = bytearray(_compact({1: 1}))
    data[-1] ^= 1
    _refused(bytes(data), "signature does not verify")


def test_a_kid_the_lookup_does_not_give_is_refused() -> None:
    _refused(forge_compact(GOOD, header={1: -8, 4: b"\x00\x01", 16: COMPACT_TYPE}), "does not hold")
    _refused(forge_compact(compact_payload(100, [], issuer=500000)), "does not hold")


@pytest.mark.parametrize(
    ("field", "value"),
    [("version", 0), ("version", -1), ("issuer", "330200"), ("shard", True), ("iat", 1.5), ("iat", None)],
)
def test_payload_fields_of_the_wrong_type_are_refused(field: str, value: Any) -> None:
    _refused(forge_compact(compact_payload(100, [], **{field: value})), "int")


def test_streams_that_are_not_an_array_are_refused() -> None:
    payload = dict(GOOD)
    payload[6] = {1: b""}
    _refused(forge_compact(payload), "not an array")


def test_a_payload_with_other_keys_is_refused() -> None:
    payload = dict(GOOD)
    payload[7] = "extra"
    _refused(forge_compact(payload), "keys")
    del payload[7], payload[5]
    _refused(forge_compact(payload), "keys")


def test_non_deterministic_cbor_is_refused() -> None:
    body = cbor2.dumps(GOOD, canonical=True)
    long_head = b"\xb8\x06" + body[1:]  # the map's length in a two-byte head
    _refused(forge_compact(long_head), "deterministic")


def test_a_form_dated_in_the_future_is_refused() -> None:
    data = forge_compact(compact_payload(100, [], iat=int((SIGNED_AT + timedelta(hours=1)).timestamp())))
    _refused(data, "future")
    load_compact_status_list(data, lookup(), now=SIGNED_AT + timedelta(minutes=56))  # within the leeway


def test_what_is_not_bytes_is_refused() -> None:
    with pytest.raises(StatusListError):
        load_compact_status_list("d284", lookup())  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_are_refused_with_a_status_list_error(data: bytes) -> None:
    with pytest.raises(StatusListError):
        load_compact_status_list(data, lookup())


@settings(max_examples=200, deadline=None)
@given(
    position=st.integers(0, 10_000),
    change=st.integers(1, 255),
)
def test_any_changed_byte_is_refused_with_a_status_list_error(position: int, change: int) -> None:
    data = bytearray(_compact({1: 1, 30: 3, 31: 3, 900: 2}))
    data[position % len(data)] ^= change
    with pytest.raises(StatusListError):
        load_compact_status_list(bytes(data), lookup())


_STREAM = st.lists(
    st.one_of(st.integers(-2, 30), st.binary(max_size=40), st.none(), st.text(max_size=2)),
    min_size=0,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(size=st.integers(-1, 300), streams=st.lists(_STREAM, max_size=4))
def test_signed_nonsense_streams_load_or_are_refused_never_crash(size: int, streams: list[list[Any]]) -> None:
    try:
        loaded = load_compact_status_list(
            forge_compact(compact_payload(size, streams)), lookup(), now=SIGNED_AT
        )
    except StatusListError:
        return
    assert sum(1 for index in range(loaded.size) if loaded.array.get(index)) == sum(s[2] for s in streams)


@pytest.mark.parametrize(
    ("array", "version", "kid"),
    [
        (StatusArray(4), 0, KID),
        (StatusArray(4), True, KID),
        (StatusArray(4), 1, b"\x01\x02\x03"),
        (StatusArray(SHARD_SIZE + 1), 1, KID),
    ],
)
def test_the_signer_refuses_what_no_reader_would_take(array: StatusArray, version: int, kid: bytes) -> None:
    with pytest.raises(ValueError):
        sign_compact_status_list(array, issuer_code=ISSUER, shard=0, version=version, key=KEY, kid=kid)
