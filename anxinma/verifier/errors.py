"""The verifier's failures, in the package's one family (:class:`anxinma.errors.AnxinmaError`).

A credential that does not verify is never an exception: it is a
:class:`~anxinma.verifier.result.VerificationResult`. These are for the things around it that
can fail: a bundle that cannot be read, a sync that must be refused, an image that is not one.
"""

from __future__ import annotations

from anxinma.errors import AnxinmaError


class BundleError(AnxinmaError):
    """A trust bundle that is missing, unreadable or fails its own checks (nothing is used)."""

    code = "bundle"


class SyncError(AnxinmaError):
    """A sync was refused or could not finish; the bundle in use is left exactly as it was."""

    code = "sync"


def refused(what: str, what_zh: str, why: AnxinmaError | str) -> SyncError:
    """The one refusal of a fetched document (trust list, freshness document, status list): the
    sync stops and changes nothing, and says so with what was refused and why."""
    en, zh = (why.message, why.message_zh) if isinstance(why, AnxinmaError) else (why, why)
    return SyncError(
        f"{what} was refused, nothing was changed: {en}",
        message_zh=f"{what_zh}被拒绝，未做任何更改：{zh}",
    )


class LiveRecordError(AnxinmaError):
    """The live record could not be had or did not verify; the offline result stands."""

    code = "live"


class NoRecord(LiveRecordError):
    """The issuer answered that it has no record of the credential (HTTP 404). For a credential
    whose signature verified that is an alarm, not a retry: a leaked or a test key signed it."""

    code = "no_record"


class ImageError(AnxinmaError):
    """A file that is not an image we can read, or one too large to scan."""

    code = "image"
