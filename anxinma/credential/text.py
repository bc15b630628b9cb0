"""The text forms of a credential: decimal digits (for QR numeric mode), the URL, hex
(docs/format.md §5). Pure text ⇄ bytes; :func:`anxinma.credential.decode_text` joins it to
the decoder."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from anxinma.errors import MalformedCredential

_decimal_to_bytes: Callable[[str], bytes | None] | None
try:  # the C reader (optional, built where a compiler was present): accepts only, never refuses
    from anxinma.credential._speedups import decimal_to_bytes as _decimal_to_bytes
except ImportError:  # pragma: no cover - the Python reader below is the same rule
    _decimal_to_bytes = None

#: Text forms longer than this are refused before they are decoded.
MAX_TEXT_LENGTH = 4096
#: The verify base URL when nothing names one: a development service on this machine
#: (``anxinma serve``'s default port). The one home of it: keys, the CLI, the NFC commands and
#: the issuer's configuration import it.
DEFAULT_BASE_URL = "http://127.0.0.1:8600"


# Decimal form: big-endian groups of 7 bytes, each written as exactly 17 digits
# (2**56 < 10**17); a final group of k bytes takes the fewest digits that hold 256**k - 1.
_GROUP_BYTES = 7
_DIGITS_FOR = {k: len(str(256**k - 1)) for k in range(1, _GROUP_BYTES + 1)}
_BYTES_FOR = {d: k for k, d in _DIGITS_FOR.items()}
_GROUP_DIGITS = _DIGITS_FOR[_GROUP_BYTES]


def to_decimal(data: bytes) -> str:
    """Bytes as decimal digits for QR numeric mode (2.43 digits a byte)."""
    full = len(data) - len(data) % _GROUP_BYTES
    out = [
        str(int.from_bytes(data[at : at + _GROUP_BYTES], "big")).zfill(_GROUP_DIGITS)
        for at in range(0, full, _GROUP_BYTES)
    ]
    if full < len(data):
        out.append(str(int.from_bytes(data[full:], "big")).zfill(_DIGITS_FOR[len(data) - full]))
    return "".join(out)


def from_decimal(text: str) -> bytes:
    """Strict inverse of :func:`to_decimal`: wrong lengths or out-of-range groups are malformed.

    The C reader takes what it can prove well formed; the rest (and everything where it is
    not built) goes to :func:`_from_decimal_python`, which words the error.
    """
    if _decimal_to_bytes is not None and type(text) is str:
        data = _decimal_to_bytes(text)
        if data is not None:
            return data
    return _from_decimal_python(text)


def _from_decimal_python(text: str) -> bytes:
    """The reference reader of the decimal form (and the only one without the C accelerator)."""
    if not text.isascii() or not text.isdigit():
        raise MalformedCredential(
            "the decimal form holds only the digits 0-9", message_zh="数字形式只能包含数字"
        )
    full, rest = divmod(len(text), _GROUP_DIGITS)
    if rest and rest not in _BYTES_FOR:
        raise MalformedCredential(
            "the decimal form has a length no byte string encodes to (truncated?)",
            message_zh="数字形式的长度不对（不完整？）",
        )
    end = full * _GROUP_DIGITS
    try:
        groups = [int(text[cut]).to_bytes(_GROUP_BYTES, "big") for cut in _group_slices(full)]
        if rest:
            groups.append(int(text[end:]).to_bytes(_BYTES_FOR[rest], "big"))
    except OverflowError:  # a group whose value does not fit its bytes
        raise MalformedCredential(
            "the decimal form has a group out of range", message_zh="数字形式中有一组超出范围"
        ) from None
    return b"".join(groups)


@functools.cache
def _group_slices(groups: int) -> tuple[slice, ...]:
    """The slices of ``groups`` full digit groups (verification is hot: cut them once)."""
    return tuple(slice(at, at + _GROUP_DIGITS) for at in range(0, groups * _GROUP_DIGITS, _GROUP_DIGITS))


_HEX = re.compile(r"[0-9a-fA-F]+")
#: The first byte of a credential (array of four) and of a presentation (array of three) in hex.
_HEX_HEADS = ("84", "83")


def parse_text(text: str) -> bytes:
    """Binary form from any text form: the URL (``/v/<digits>`` or ``/v#<digits>``, any case
    of scheme, host and ``v``), bare decimal digits, or hex (which always begins ``84``, the
    CBOR head of a four-element array — a credential — or ``83``, an array of three — a dynamic
    code, docs/format.md §12; decimal digits always begin ``3``).

    The bytes are a credential's or a presentation's: their first byte tells which
    (:func:`anxinma.credential.presentation.is_presentation`).
    """
    if not isinstance(text, str):
        raise MalformedCredential("a text form is a string", message_zh="文本形式必须是字符串")
    value = text.strip()
    if not value:
        raise MalformedCredential("empty input", message_zh="输入为空")
    if len(value) > MAX_TEXT_LENGTH:
        raise MalformedCredential("the text is far longer than any credential", message_zh="文本过长")
    if value[:8].lower().startswith(("https://", "http://")):
        data = _plain_url_bytes(value)
        return data if data is not None else from_decimal(_payload_from_url(value))
    if value[:2] in _HEX_HEADS and _HEX.fullmatch(value):
        if len(value) % 2 == 0:
            return bytes.fromhex(value)
        if not value.isdigit():
            raise MalformedCredential(
                "the hex form has an odd number of digits (truncated?)",
                message_zh="十六进制形式的位数为奇数（不完整？）",
            )
    if value.isascii() and value.isdigit():
        return from_decimal(value)
    raise MalformedCredential(
        "this is not a 安心码 (not its URL, digits or hex form)", message_zh="这不是安心码"
    )


def base_url_of(text: str) -> str | None:
    """The verify base URL a URL-form code points at (``https://v.example.cn`` of
    ``https://v.example.cn/v/<digits>`` or ``…/v#<digits>``); None for any other text form."""
    code = text.strip()
    lower = code.lower()
    if not lower.startswith(("http://", "https://")):
        return None
    path = _path_start(lower)
    for marker in ("/v/", "/v#"):
        cut = lower.rfind(marker)
        if 0 <= path <= cut:  # a marker in the path (not a URL without one: both are -1)
            return code[:cut]
    return None


def _path_start(url: str) -> int:
    """Where the path of an absolute URL begins (past ``scheme://host``); -1 without one."""
    return url.find("/", url.find("//") + 2)


#: What the part of an issuer's URL before ``/v/`` never holds (a query, fragment, escape…).
_NOT_IN_PLAIN_HEAD = re.compile(r"[?#%\\ \t\r\n]")


def _plain_url_bytes(url: str) -> bytes | None:
    """The bytes of a URL in the exact form the issuer writes (``…/v/<digits>``, or ``/V/``
    from a QR), read without the general URL parser, which costs a verifier more than the
    rest of the text decoding. It only accepts: for anything else it returns None and
    :func:`_payload_from_url` reads the URL and words the error (a property test keeps the
    two in agreement)."""
    path = _path_start(url)  # not inside ``//v/``: a host named v
    if path < 0:
        return None
    cut = url.find("/v/", path)
    if cut < 0:
        cut = url.find("/V/", path)
        if cut < 0:
            return None
    head = url[:cut]
    if not head.isascii() or _NOT_IN_PLAIN_HEAD.search(head) is not None:
        return None
    try:
        return from_decimal(url[cut + 3 :])
    except MalformedCredential:
        return None


def _payload_from_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise MalformedCredential("not a valid URL", message_zh="不是有效的网址") from exc
    path = parts.path
    lower = path.lower()
    if parts.fragment and (lower.endswith("/v") or lower.endswith("/v/")):
        return parts.fragment
    marker = lower.rfind("/v/")
    if marker < 0 or parts.query:
        raise MalformedCredential(
            "this URL is not a 安心码 link (…/v/<digits>)", message_zh="该网址不是安心码链接"
        )
    return path[marker + 3 :]


def _normalise_base(base_url: str) -> str:
    base = base_url.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"a verify base URL looks like https://v.example.cn, got {base_url!r}")
    return base
