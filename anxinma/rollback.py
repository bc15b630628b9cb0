"""Never older data over newer: the one rule every verifier and the issuer apply to anything
versioned that arrives over the network or from a file (TUF's rollback protection, spec §5.3-§5.5).

Held data and a candidate are each a ``(version, digest)`` pair: the trust list's ``seq``, a
status-list shard's ``version``, the freshness document's ``seq``, with a digest of the exact
bytes. The candidate

* is taken when nothing is held (:attr:`Update.NEW`) or its version is higher (:attr:`Update.NEWER`);
* changes nothing when it is the held data again (:attr:`Update.SAME`: same version, same bytes);
* is refused when its version is lower (:attr:`Update.OLDER`: a replay or a rollback) or when it
  has the held version but other bytes (:attr:`Update.EQUIVOCAL`: two different publications
  under one version — a signer that equivocates, or a replay inside a signing window).

verify.js mirrors :func:`judge` (``judgeUpdate``); tests/vectors/trust-rules.json holds the cases
both are tested against. Floor 0: imports nothing of ours.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Update", "judge"]


class Update(StrEnum):
    """What to do with a candidate, given what is held."""

    NEW = "new"
    NEWER = "newer"
    SAME = "same"
    OLDER = "older"
    EQUIVOCAL = "equivocal"

    @property
    def accepted(self) -> bool:
        """The candidate replaces (or becomes) the held data."""
        return self in (Update.NEW, Update.NEWER)

    @property
    def refused(self) -> bool:
        """The candidate must not be used; the held data stays."""
        return self in (Update.OLDER, Update.EQUIVOCAL)


def judge(held: tuple[int, str] | None, candidate: tuple[int, str]) -> Update:
    """The verdict on ``candidate`` = (version, digest) against ``held`` (None: nothing held)."""
    if held is None:
        return Update.NEW
    held_version, held_digest = held
    version, digest = candidate
    if version > held_version:
        return Update.NEWER
    if version < held_version:
        return Update.OLDER
    return Update.SAME if digest == held_digest else Update.EQUIVOCAL
