"""The badge printer at the encoding station: a PDF badge for every card it finishes.

:class:`StationBadges` is the station's ``on_encoded`` hook. For each finished card it checks
the badge at once (a missing photo is reported at that card, not at the end) and, with a
directory, writes that card's own PDF (``<worker_id>-<serial>.pdf``). :meth:`StationBadges.finish`
writes the batch's PDF: every worker the journal says is done, in batch order, so a batch
resumed after a crash still ends with one complete PDF, badges in the order of the batch file.

A badge that cannot be printed never touches the card's journal state: the hook's error is
logged by the station as a ``hook_failed`` event and the card stays done; the batch PDF leaves
that badge out and names it in :class:`BadgeOutcome`. Uses :mod:`anxinma.badge` (floor 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anxinma import credential as fmt
from anxinma.badge import BadgeError, BadgeItem, Card, Layout, prepare, render_badge, render_badges
from anxinma.errors import AnxinmaError, MalformedCredential
from anxinma.nfc.batch import Batch
from anxinma.nfc.journal import Journal
from anxinma.nfc.report import report_rows
from anxinma.nfc.station import EncodedCard

__all__ = ["BadgeOutcome", "StationBadges"]


@dataclass
class BadgeOutcome:
    """What the badge printer did in a run (the station's summary carries it)."""

    pdf: str | None = None
    cards: int = 0
    written: list[str] = field(default_factory=list)  # one-card PDFs written this run
    failed: list[dict[str, str]] = field(default_factory=list)  # {"worker_id", "reason"}
    error: str | None = None  # the batch PDF could not be written at all

    def to_json(self) -> dict[str, Any]:
        return {
            "pdf": self.pdf,
            "cards": self.cards,
            "written": len(self.written),
            "failed": self.failed,
            "error": self.error,
        }


def _file_safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z._-]+", "_", text).strip("._") or "worker"


class StationBadges:
    """Badges for one station run. ``pdf``: the batch's PDF; ``directory``: one PDF per card."""

    def __init__(
        self,
        batch: Batch,
        *,
        pdf: Path | None = None,
        directory: Path | None = None,
        layout: Layout | str = Layout.CARD,
        issuer_name: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self.batch = batch
        self.pdf = pdf
        self.directory = directory
        self.layout = Layout(layout)
        self.issuer_name = issuer_name
        self.base_url = base_url
        self.outcome = BadgeOutcome(pdf=str(pdf) if pdf is not None else None)

    def _card(self, code: str, enterprise_name: str, photo: str | None, line: int | None) -> Card:
        try:
            credential = fmt.decode_text(code)
        except MalformedCredential as exc:
            raise BadgeError(
                f"the card's code does not decode: {exc.message}", message_zh="安心码无法解码"
            ) from exc
        base = self.base_url or fmt.base_url_of(code)
        if base is None:
            raise BadgeError("the verify base URL is unknown", message_zh="无法得知验证网址")
        picture: Path | None = None
        if photo:
            given = Path(photo).expanduser()
            picture = given if given.is_absolute() else self.batch.path.parent / given
        item = BadgeItem(credential, enterprise_name, base, picture, self.issuer_name, line)
        return prepare(item)

    def __call__(self, encoded: EncodedCard) -> None:
        """The ``on_encoded`` hook: check the card's badge now; with a directory, write its PDF.

        Raises :class:`BadgeError` (the station logs it; the card stays done).
        """
        card = self._card(encoded.code, encoded.enterprise_name, encoded.extra.get("photo"), None)
        if self.directory is not None:
            target = self.directory / f"{_file_safe(encoded.worker_id)}-{encoded.serial}.pdf"
            try:
                render_badge(card, target, layout=self.layout)
            except OSError as exc:  # a full disk must not stop the station: the card is done
                raise BadgeError(
                    f"cannot write {target}: {exc.strerror}", message_zh=f"无法写入 {target}：{exc.strerror}"
                ) from exc
            self.outcome.written.append(str(target))

    def finish(self, journal: Journal) -> BadgeOutcome:
        """Write the batch PDF (when asked for): every done worker, in batch order. Never raises
        for a badge; an error writing the PDF at all is kept in ``outcome.error``."""
        if self.pdf is None:
            return self.outcome
        cards: list[Card] = []
        failed: list[dict[str, str]] = []
        lines = {row.worker_id: row.line for row in self.batch.rows}
        for row in report_rows(self.batch, journal):
            if row["status"] != "done" or not row["code"]:
                continue
            try:
                cards.append(
                    self._card(
                        row["code"], row["enterprise_name"], row.get("photo"), lines.get(row["worker_id"])
                    )
                )
            except AnxinmaError as exc:
                failed.append({"worker_id": row["worker_id"], "reason": exc.explain()})
        self.outcome.failed = failed
        if not cards:
            return self.outcome
        try:
            report = render_badges(cards, self.pdf, layout=self.layout)
        except (AnxinmaError, OSError) as exc:
            self.outcome.error = (
                exc.explain() if isinstance(exc, AnxinmaError) else f"{exc.strerror}: {self.pdf}"
            )
            return self.outcome
        self.outcome.cards = report.cards
        return self.outcome
