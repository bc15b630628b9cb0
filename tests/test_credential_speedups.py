"""The optional C readers (anxinma/credential/_speedups.c) against the Python readers they
stand in for: the same answer on every input, generated, mutated or taken from the vectors,
and the package whole without them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anxinma import credential as fmt
from anxinma.credential import claims as claims_set
from anxinma.credential import cose
from anxinma.credential import text as text_forms
from anxinma.errors import MalformedCredential
from tests.test_credential_properties import KEY, cbor2_claims_map, claims

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"


def _can_compile() -> bool:
    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return include.exists() and any(shutil.which(cc) for cc in ("cc", "gcc", "clang"))


try:
    from anxinma.credential import _speedups
except ImportError:  # pragma: no cover - the first test says why that fails here
    _speedups = None  # type: ignore[assignment]


def test_the_accelerator_is_built_wherever_a_c_compiler_is_present() -> None:
    """The install builds it (setup.py, optional); the readers then use it, else the Python ones."""
    if _can_compile():
        assert _speedups is not None, "a C compiler is here, but anxinma/credential/_speedups was not built"
        assert text_forms._decimal_to_bytes is _speedups.decimal_to_bytes
        assert claims_set._read_fields is _speedups.claims_fields
        assert cose._read_credential is _speedups.credential_fields
    else:  # pragma: no cover - this machine has a compiler
        assert text_forms._decimal_to_bytes is None
        assert claims_set._read_fields is claims_set._claims_fields_python
        assert cose._read_credential is cose._credential_fields_python


needs_speedups = pytest.mark.skipif(_speedups is None, reason="the C accelerator is not built (see above)")


def _python_decimal(text: str) -> bytes | None:
    try:
        return text_forms._from_decimal_python(text)
    except MalformedCredential:
        return None


@needs_speedups
@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.binary(min_size=1, max_size=300).map(fmt.to_decimal),
        st.text(alphabet="0123456789", max_size=320),
        st.text(max_size=60),
        st.binary(min_size=1, max_size=40)
        .map(fmt.to_decimal)
        .flatmap(
            lambda digits: st.integers(0, len(digits) - 1).map(
                lambda at: digits[:at] + "9" * (len(digits) - at)  # groups pushed out of range
            )
        ),
    )
)
def test_the_decimal_readers_agree_on_any_text(text: str) -> None:
    assert _speedups.decimal_to_bytes(text) == _python_decimal(text)


@needs_speedups
def test_the_decimal_reader_refuses_each_group_just_out_of_range() -> None:
    for size in range(1, 8):  # the largest value of k bytes, then one more, in its digits
        digits = len(str(256**size - 1))
        assert _speedups.decimal_to_bytes(str(256**size - 1).zfill(digits)) == b"\xff" * size
        assert _speedups.decimal_to_bytes(str(256**size).zfill(digits)) is None
        assert _python_decimal(str(256**size).zfill(digits)) is None
    assert _speedups.decimal_to_bytes("٣٧" * 10) is None  # Arabic-Indic digits: str.isdigit says yes
    with pytest.raises(TypeError):
        _speedups.decimal_to_bytes(b"123")  # type: ignore[arg-type]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(0, len(out) - 1)))
        if action == "replace" and out:
            out[at] = draw(st.integers(0, 255))
        elif action == "insert":
            out.insert(at, draw(st.integers(0, 255)))
        elif action == "delete" and out:
            del out[at]
        elif action == "truncate":
            del out[at:]
    return bytes(out)


@needs_speedups
@settings(max_examples=600, deadline=None)
@given(claims(), st.data())
def test_the_claims_readers_agree_on_written_changed_and_broken_payloads(c: fmt.Claims, data: Any) -> None:
    payload = c.to_cbor()
    changes = data.draw(
        st.dictionaries(st.integers(-12, 10), st.integers(-3, 2**70) | st.text(max_size=4), max_size=2)
    )
    for candidate in (
        payload,
        data.draw(mutated(payload)),
        cbor2.dumps({**cbor2_claims_map(c), **changes}, canonical=True),
        cbor2.dumps({**cbor2_claims_map(c), **changes}),  # not canonical: map order as given
    ):
        fields = _speedups.claims_fields(candidate)
        assert fields == claims_set._claims_fields_python(candidate), candidate.hex()
        if candidate == payload:
            assert fields is not None


@needs_speedups
@settings(max_examples=400, deadline=None)
@given(claims(), st.data())
def test_the_credential_readers_agree_on_signed_and_broken_credentials(c: fmt.Claims, data: Any) -> None:
    raw = fmt.sign(c, KEY).to_bytes()
    for candidate in (raw, data.draw(mutated(raw)), data.draw(st.binary(max_size=120))):
        fields = _speedups.credential_fields(candidate)
        assert fields == cose._credential_fields_python(candidate), candidate.hex()
    assert _speedups.credential_fields(raw) is not None or len(c.to_cbor()) > 255


def _vector_bytes() -> list[bytes]:
    found = []
    for path in sorted(VECTORS.glob("*.json")):
        document = json.loads(path.read_text("utf-8"))
        for case in document if isinstance(document, list) else [document]:
            if "credential_hex" in case:
                found.append(bytes.fromhex(case["credential_hex"]))
            elif "hex" in case:
                found.append(bytes.fromhex(case["hex"]))
    return found


@needs_speedups
def test_the_readers_agree_on_every_vector() -> None:
    vectors = _vector_bytes()
    assert len(vectors) >= 40
    accepted = 0
    for raw in vectors:
        fields = _speedups.credential_fields(raw)
        assert fields == cose._credential_fields_python(raw), raw.hex()
        accepted += fields is not None
    assert accepted >= 6  # the positive vectors take the fast path


@needs_speedups
def test_the_readers_refuse_wrong_argument_types_with_type_error() -> None:
    for reader in (_speedups.claims_fields, _speedups.credential_fields):
        with pytest.raises(TypeError):
            reader(bytearray(b"\xa9"))  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            reader("a9")  # type: ignore[arg-type]


_READ_VECTORS = """
import json, sys
if sys.argv[1] == "absent":
    sys.modules["anxinma.credential._speedups"] = None  # as if it had not been built
from anxinma import credential as fmt
from anxinma.credential import claims, cose, text
pure = (text._decimal_to_bytes, claims._read_fields, cose._read_credential)
assert (pure == (None, claims._claims_fields_python, cose._credential_fields_python)) == (sys.argv[1] == "absent")
vector = json.load(open(sys.argv[2]))
assert fmt.decode_text(vector["url"]).to_hex() == vector["credential_hex"]
out = []
for case in json.load(open(sys.argv[3])) + json.load(open(sys.argv[4])):
    try:
        fmt.decode_text(case["text"]) if "text" in case else fmt.decode(bytes.fromhex(case["hex"]))
        out.append([case["name"], "ok"])
    except Exception as exc:
        out.append([case["name"], type(exc).__name__, exc.message])
print(json.dumps(out))
"""


def _read_vectors(speedups: str) -> list[list[str]]:
    paths = [VECTORS / "typical-worker.json", VECTORS / "negative.json", VECTORS / "negative_text.json"]
    done = subprocess.run(
        [sys.executable, "-c", _READ_VECTORS, speedups, *map(str, paths)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: list[list[str]] = json.loads(done.stdout)
    return result


def test_without_the_accelerator_the_python_readers_give_the_same_answers() -> None:
    """A machine with no C compiler installs without it: the vectors read the same there."""
    pure = _read_vectors("absent")
    assert pure == _read_vectors("present" if _speedups is not None else "absent")
    assert len(pure) >= 40 and all(row[1] != "ok" for row in pure)  # each negative vector refused
