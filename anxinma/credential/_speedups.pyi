"""The optional C readers (``_speedups.c``); the Python readers they stand in for are
``text._from_decimal_python``, ``claims._claims_fields_python`` and ``cose._credential_fields_python``."""

def decimal_to_bytes(text: str, /) -> bytes | None: ...
def claims_fields(
    payload: bytes, /
) -> tuple[int, int, int, int, int, str, int, int, int, bytes | None, bytes | None] | None: ...
def credential_fields(
    data: bytes, /
) -> (
    tuple[bytes, bytes, bytes, bytes, int, int, int, int, int, str, int, int, int, bytes | None, bytes | None]
    | None
): ...
