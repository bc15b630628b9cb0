"""One message type for everything a person reads: a key, its parameters, and both languages.

A :class:`Message` is a value — ``key`` (stable, machine-readable: what a test, a page or a
translator greps for), ``params`` (the data it speaks about) and the text in Chinese and
English, rendered once from one :class:`Catalog`. It *is* its text: a ``str`` subclass whose
value is ``"中文 / English"``, the form CLI lines and the verifier's ``reasons`` have always
had, so a message goes wherever a string went (itsdangerous's errors carry their data the same
way; markupsafe's ``Markup`` is the precedent for a ``str`` that knows more about itself).

Each part of the package keeps its messages beside its code, in a catalog of its own::

    REASONS = Catalog("verifier")
    REASONS.define("revoked", zh="此安心码已被吊销", en="this credential was revoked")
    REASONS("revoked")                    # Message("revoked", {}, zh=…, en=…)
    REASONS("expired", date="2026-09-23")  # templates are str.format templates, both languages

A parameter that is itself a :class:`Message` (or a :class:`Text`: a pair of words with no
key) is rendered in the language of the text it is put into, so "expired 3 天 ago" never
happens. :meth:`Message.to_json` gives ``{"key", "params"}`` — the shape verify.js already uses
for its reasons — with nested messages as nested objects.

This module is floor 0 (docs/interfaces.md, "Layers"): it imports nothing of ours.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["Catalog", "Message", "Text", "UnknownMessage"]


class UnknownMessage(KeyError):
    """A key no :meth:`Catalog.define` made: a programming error, caught by the catalog tests."""


@dataclass(frozen=True, slots=True)
class Text:
    """Words in both languages with no catalog key: a name, a duration, a list of items."""

    zh: str
    en: str

    def __str__(self) -> str:
        return self.zh if self.zh == self.en else f"{self.zh} / {self.en}"

    def in_language(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


class Message(str):
    """A message of a :class:`Catalog`: ``str(message)`` is ``"中文 / English"``.

    ``key``, ``params``, ``zh`` and ``en`` are read-only attributes; two messages are equal
    when their texts are (they are strings), and :meth:`same` compares key and params.
    """

    __slots__ = ("_en", "_key", "_params", "_zh")

    _key: str
    _params: Mapping[str, Any]
    _zh: str
    _en: str

    def __new__(cls, key: str, params: Mapping[str, Any], zh: str, en: str) -> Message:
        text = zh if zh == en else f"{zh} / {en}"
        self = super().__new__(cls, text)
        self._key = key
        self._params = MappingProxyType(dict(params))
        self._zh = zh
        self._en = en
        return self

    @property
    def key(self) -> str:
        return self._key

    @property
    def params(self) -> Mapping[str, Any]:
        return self._params

    @property
    def zh(self) -> str:
        return self._zh

    @property
    def en(self) -> str:
        return self._en

    def in_language(self, language: str) -> str:
        """The text in ``"zh"`` or ``"en"`` (anything else is English)."""
        return self._zh if language == "zh" else self._en

    def same(self, other: object) -> bool:
        """True when ``other`` is a message with this key and these params."""
        return (
            isinstance(other, Message) and other.key == self.key and dict(other.params) == dict(self.params)
        )

    def to_json(self) -> dict[str, Any]:
        """``{"key", "params"}``; a nested message or :class:`Text` param becomes an object too."""
        return {
            "key": self._key,
            "params": {name: _json_param(value) for name, value in self._params.items()},
        }

    def __repr__(self) -> str:
        return f"Message({self._key!r}, {dict(self._params)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (self._key, dict(self._params), self._zh, self._en))


def _json_param(value: Any) -> Any:
    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, Text):
        return {"zh": value.zh, "en": value.en}
    if isinstance(value, (list, tuple)):
        return [_json_param(item) for item in value]
    return value


class _Localised(Mapping[str, Any]):
    """The params as one language sees them: nested messages and texts in that language."""

    __slots__ = ("_language", "_params")

    def __init__(self, params: Mapping[str, Any], language: str) -> None:
        self._params = params
        self._language = language

    def __getitem__(self, name: str) -> Any:
        value = self._params[name]
        if isinstance(value, (Message, Text)):
            return value.in_language(self._language)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)


class Catalog:
    """The messages of one part of the package, by key; calling it renders one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._templates: dict[str, tuple[str, str]] = {}

    def define(self, key: str, *, zh: str, en: str) -> str:
        """Add a message; returns ``key`` (so a module can keep it as a constant). A key is
        defined once: a second definition is a programming error."""
        if key in self._templates:
            raise ValueError(f"{self.name}: message {key!r} is defined twice")
        self._templates[key] = (zh, en)
        return key

    def __call__(self, key: str, /, **params: Any) -> Message:
        try:
            zh, en = self._templates[key]
        except KeyError:
            raise UnknownMessage(f"{self.name}: no message {key!r}") from None
        try:
            return Message(
                key,
                params,
                zh.format_map(_Localised(params, "zh")),
                en.format_map(_Localised(params, "en")),
            )
        except (KeyError, IndexError) as exc:
            raise UnknownMessage(f"{self.name}: message {key!r} needs parameter {exc}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._templates

    def keys(self) -> list[str]:
        return sorted(self._templates)

    def templates(self, key: str) -> tuple[str, str]:
        """(zh, en) templates of ``key``: what a page that renders in the browser ships."""
        return self._templates[key]
