"""``anxinma badge``: print a batch of badges (居家上门服务证) as one PDF.

A thin shell over :mod:`anxinma.badge`; registered in ``anxinma.cli.LAZY_COMMANDS``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from anxinma.badge.batch import read_batch
from anxinma.badge.geometry import Layout
from anxinma.badge.pdf import BadgeReport, render_badges
from anxinma.errors import AnxinmaError


@click.command("badge")
@click.option(
    "--batch",
    "batch_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="CSV with header code,enterprise_name,photo (extra columns ignored), or JSON lines.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="FILE.pdf"
)
@click.option(
    "--layout",
    type=click.Choice([layout.value for layout in Layout]),
    default=Layout.CARD.value,
    show_default=True,
    help="card: one CR80 card a page (card printers); a4: ten a sheet with cut marks (office printers).",
)
@click.option(
    "--base-url",
    default=None,
    help="Verify base URL for the QR (default: the one in each code, else $ANXINMA_BASE_URL).",
)
@click.option("--issuer-name", default=None, help="Issuer printed on the card, e.g. 宁波市商务局.")
def badge(batch_file: Path, output: Path, layout: str, base_url: str | None, issuer_name: str | None) -> None:
    """Print badges (居家上门服务证) for a batch of credentials as one PDF.

    Every row is checked before anything is written: if any row is bad, each bad row is
    listed with its line number and no PDF is written (exit status 2).
    """
    if output.suffix.lower() != ".pdf":
        raise click.BadParameter("the output file must end in .pdf", param_hint="-o/--output")
    try:
        report = _run(batch_file, output, Layout(layout), base_url, issuer_name)
    except AnxinmaError as exc:
        click.echo(f"错误 / error: {exc.explain()}", err=True)
        sys.exit(2)
    except OSError as exc:
        click.echo(f"错误 / error: {exc.strerror or exc}: {exc.filename or output}", err=True)
        sys.exit(2)
    low, high = report.qr_versions[0], report.qr_versions[-1]
    versions = str(low) if low == high else f"{low}–{high}"
    click.echo(
        f"已写入 {report.path}：{report.cards} 张证卡，{report.pages} 页 / "
        f"wrote {report.path}: {report.cards} card(s) on {report.pages} page(s) "
        f"(QR version {versions}-M, modules ≥ {report.min_module_mm:.2f} mm)"
    )


def _run(
    batch_file: Path, output: Path, layout: Layout, base_url: str | None, issuer_name: str | None
) -> BadgeReport:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    labels = {"check": "检查 / checking", "draw": "排版 / drawing", "write": "写入 / writing"}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done)

        cards = read_batch(
            batch_file,
            base_url=base_url,
            default_base_url=os.environ.get("ANXINMA_BASE_URL"),
            issuer_name=issuer_name,
            progress=progress,
        )
        return render_badges(cards, output, layout=layout, progress=progress)
