"""One exception family for the whole library.

Inside the library every failure is an :class:`AnxinmaError`; at a boundary a person sees
(the verifier's result, a CLI, a page, an API) it becomes a reason in words, never a stack
trace. Each subclass names one way a thing can fail so a caller can say *why*, as
itsdangerous and pyjwt do.
"""

from __future__ import annotations


class AnxinmaError(Exception):
    """Root of every error this package raises on purpose."""

    #: Short machine-readable code, stable across releases (used in JSON output).
    code = "error"

    def __init__(self, message: str, *, message_zh: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or message

    def explain(self) -> str:
        """The message as a person reads it: Chinese first, English beside it."""
        if self.message_zh and self.message_zh != self.message:
            return f"{self.message_zh} / {self.message}"
        return self.message


class InvalidClaims(AnxinmaError, ValueError):
    """Claims given to the issuer break a rule of the format (before anything is signed)."""

    code = "invalid_claims"


class MalformedCredential(AnxinmaError):
    """Bytes or text that are not a well-formed credential of a version we read."""

    code = "malformed"


class UnsupportedVersion(MalformedCredential):
    """A credential type or format version this release does not read."""

    code = "unsupported_version"


class UnsupportedAlgorithm(MalformedCredential):
    """A COSE algorithm other than EdDSA (Ed25519)."""

    code = "unsupported_algorithm"


class BadSignature(AnxinmaError):
    """The signature does not verify under the key the credential names."""

    code = "bad_signature"


class KeyStoreError(AnxinmaError):
    """Key files: missing, unreadable, wrong passphrase, wrong state for the operation."""

    code = "key_error"


class TrustListError(AnxinmaError):
    """A trust list that must not be used: bad root signature, expired, replayed, malformed."""

    code = "trust_list"


class StatusListError(AnxinmaError):
    """A status list that must not be used: bad signature, wrong issuer, malformed."""

    code = "status_list"


# -- NFC cards, readers and the encoding station (anxinma.nfc) ------------------------------


class NfcError(AnxinmaError):
    """A reader or a card did not do what was asked; the message says what the operator can do."""

    code = "nfc"


class ReaderNotFound(NfcError):
    """No reader answers on the device path (unplugged, wrong path, libusb missing)."""

    code = "reader_not_found"


class ReaderPermissionDenied(NfcError):
    """The reader is there but this user may not open it (a udev rule or group is missing)."""

    code = "reader_permission"


class ReaderBusy(NfcError):
    """Another program or a kernel driver holds the reader."""

    code = "reader_busy"


class NoCard(NfcError):
    """No card was presented within the time allowed."""

    code = "no_card"


class CardRemoved(NfcError):
    """The card left the field during an operation; what it holds may be partly written."""

    code = "card_removed"


class CardTooSmall(NfcError):
    """The card's NDEF area cannot hold the message."""

    code = "card_too_small"


class CardReadOnly(NfcError):
    """The card is locked or write-protected."""

    code = "card_read_only"


class CardNotFormatted(NfcError):
    """The card carries no NDEF capability container (not NFC Forum formatted)."""

    code = "card_not_formatted"


class CardUnsupported(NfcError):
    """The card cannot do what was asked (lock, password, a stable UID)."""

    code = "card_unsupported"


class CardVerifyFailed(NfcError):
    """What was read back from the card is not what was written."""

    code = "card_verify_failed"


class StationError(AnxinmaError):
    """The encoding station cannot go on: a bad batch file, a journal of another batch."""

    code = "station"


class IssuerRequestError(StationError):
    """The issuer refused or could not answer a request; ``status`` is the HTTP status (0: no answer)."""

    code = "issuer"

    def __init__(self, message: str, *, message_zh: str | None = None, status: int = 0) -> None:
        super().__init__(message, message_zh=message_zh)
        self.status = status

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed later (no answer, 429, 5xx)."""
        return self.status == 0 or self.status == 429 or self.status >= 500
