"""What the check-in desk shows: a big coloured panel per tap (rich) and a sound, or JSON lines.

The panel is read from a step away by a worker who may not read well: one colour for the
verdict (green checked in, yellow checked in with a note, blue already this month, red not
checked in), the verdict's word large (有效 / 需注意 / 已吊销 / 已暂停 / 无法验证 / 已过期 …),
the masked name and the month's state; Chinese first, English beside. The terminal bell rings
once for a check-in and three times, spaced, for a refusal, where the terminal has a bell.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime
from typing import IO, Any

from anxinma import credential as fmt
from anxinma.nfc.checkin import Outcome, TapResult
from anxinma.nfc.checkin_queue import QueuedCheckIn
from anxinma.nfc.issuer_client import CheckInReceipt

__all__ = ["ConsoleDeskListener", "JsonDeskListener", "headline"]

_STYLE = {
    "green": ("bold white on dark_green", "green"),
    "yellow": ("bold black on yellow", "yellow"),
    "blue": ("bold white on blue", "blue"),
    "red": ("bold white on red", "red"),
}


def headline(result: TapResult) -> tuple[str, str, str]:
    """(colour, 中文, English) of the panel's first line."""
    verdict = result.verdict
    label_zh = verdict.label_zh if verdict is not None else "无法读取"
    label_en = (verdict.label_en if verdict is not None else "unreadable").upper()
    if result.outcome is Outcome.RECORDED:
        if result.provisional:
            return "yellow", f"已记录 · {label_zh}", f"RECORDED · {label_en}"
        colour = "green" if verdict is not None and verdict.status == "valid" else "yellow"
        return colour, f"打卡成功 · {label_zh}", f"CHECKED IN · {label_en}"
    if result.outcome is Outcome.ALREADY:
        return "blue", "本月已打卡", "ALREADY CHECKED IN THIS MONTH"
    if result.outcome is Outcome.RETRY:
        return "yellow", "请重新刷卡", "TAP AGAIN"
    if verdict is not None and verdict.status == "holder_proof_missing":
        # The verifier's word ("show the dynamic code") is for a consumer with a camera; a desk
        # reads cards.
        return "red", "请刷本人的卡 · 未打卡", "TAP YOUR OWN CARD · NOT CHECKED IN"
    if verdict is not None and verdict.card_binding == "mismatch":
        return "red", f"{label_zh} · 疑似复制卡", f"{label_en} · POSSIBLE COPY"
    return "red", f"{label_zh} · 未打卡", f"{label_en} · NOT CHECKED IN"


def _month_words(month: str) -> tuple[str, str]:
    year, number = month.split("-")
    return f"{year}年{int(number)}月", month


class _Bell:
    """BEL on the terminal: once (accepted), three times 150 ms apart (refused)."""

    def __init__(self, stream: IO[str] | None) -> None:
        self.stream = stream

    def ring(self, times: int) -> None:
        if self.stream is None:
            return
        for index in range(times):
            threading.Timer(0.15 * index, self._beep).start()

    def _beep(self) -> None:
        try:
            assert self.stream is not None
            self.stream.write("\a")
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away
            pass


class ConsoleDeskListener:
    """The desk's screen: a full-width panel per tap, one line per background event."""

    def __init__(self, console: Any, *, sound: bool = True) -> None:
        self.console = console
        self._lock = threading.Lock()
        bell_stream = getattr(console, "file", None) if sound and console.is_terminal else None
        self.bell = _Bell(bell_stream)

    def _print(self, *items: Any) -> None:
        with self._lock:
            self.console.print(*items)

    def ready(self, info: dict[str, Any]) -> None:
        queued = info.get("queued", 0)
        lines = [
            f"[bold]按月打卡 / monthly check-in[/] · 站点 station [bold]{info.get('station')}[/]",
            f"发证机构 issuer {info.get('issuer_url')} ({info.get('issuer_code')}) · 信任包 bundle {info.get('bundle')}",
            f"队列 queue {info.get('queue')} · 待上传 waiting {queued}",
        ]
        for problem in info.get("problems", []):
            lines.append(f"[yellow]! {problem}[/]")
        if not info.get("token"):
            lines.append(
                "[yellow]! 未提供令牌：打卡只保存在本机，之后用 --sync-only --token 上传 / no token: check-ins stay queued[/]"
            )
        lines.append("[bold]请刷卡 / tap a card[/]")
        self._print("\n".join(lines))

    def tap(self, result: TapResult, queued: int) -> None:
        from rich.align import Align
        from rich.panel import Panel
        from rich.text import Text

        colour, zh, en = headline(result)
        fill, _ = _STYLE[colour]
        body = Text(justify="center")
        mark = {
            "green": "✓",
            "yellow": "✓" if result.outcome is Outcome.RECORDED else "!",
            "blue": "✓",
            "red": "✗",
        }
        body.append(f"{mark[colour]}  {zh}\n", style="bold")
        body.append(f"{en}\n\n", style="bold")
        name = result.display_name
        if name:
            body.append(f"{name}\n", style="bold")
        month_zh, month_en = _month_words(result.month)
        if result.outcome is Outcome.RECORDED:
            state = "已存入本机，等待上传" if queued else "已上传"
            state_en = (
                f"saved on this station, {queued} waiting to be sent" if queued else "sent to the issuer"
            )
            body.append(f"{month_zh} 打卡已记录 / check-in for {month_en} recorded\n")
            body.append(f"{state} / {state_en}\n")
        elif result.outcome is Outcome.ALREADY:
            body.append(f"{month_zh} 已打卡 / already checked in for {month_en}\n")
        elif result.outcome is Outcome.REFUSED:
            body.append(f"{month_zh} 未记录打卡 / no check-in recorded for {month_en}\n")
        for reason in result.reasons:
            body.append(f"{reason}\n")
        body.append(f"卡号 card {result.card_uid.hex()}")
        self._print(Panel(Align.center(body), style=fill, border_style=fill, padding=(1, 2), expand=True))
        self.bell.ring(1 if result.outcome in (Outcome.RECORDED, Outcome.ALREADY) else 3)

    def sent(self, entry: QueuedCheckIn, receipt: CheckInReceipt) -> None:
        what = "已上传" if receipt.status == 201 else "发证机构已有此记录"
        what_en = "sent" if receipt.status == 201 else "the issuer already had it"
        self._print(
            f"[green]↑[/] {entry.display_name} {entry.month} {what} / {what_en}",
        )

    def rejected(self, entry: QueuedCheckIn, reason: str) -> None:
        self._print(
            f"[red]✗[/] {entry.display_name} {entry.month} 发证机构不予记录 / refused by the issuer: {reason}"
        )

    def offline(self, reason: str, retry_in: float, queued: int) -> None:
        later = f"，{retry_in:.0f} 秒后重试 / retry in {retry_in:.0f} s" if retry_in else ""
        self._print(f"[yellow]![/] 离线 / offline: {reason}；待上传 {queued} 条 waiting{later}")

    def note(self, message: str) -> None:
        self._print(f"[cyan]i[/] {message}")


class JsonDeskListener:
    """One JSON object a line on stdout for each thing that happens (scripts, tests)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, ensure_ascii=False)
        with self._lock:
            stream = self.stream or sys.stdout
            stream.write(line + "\n")
            stream.flush()

    def ready(self, info: dict[str, Any]) -> None:
        self.emit("ready", **info)

    def tap(self, result: TapResult, queued: int) -> None:
        colour, zh, en = headline(result)
        self.emit("tap", **result.to_json(), headline={"zh": zh, "en": en, "colour": colour}, queued=queued)

    def sent(self, entry: QueuedCheckIn, receipt: CheckInReceipt) -> None:
        self.emit(
            "sent",
            id=entry.id,
            worker_id=entry.worker_id,
            month=entry.month,
            issuer_status=receipt.status,
            issuer_record=receipt.record_id,
        )

    def rejected(self, entry: QueuedCheckIn, reason: str) -> None:
        self.emit("rejected", id=entry.id, worker_id=entry.worker_id, month=entry.month, reason=reason)

    def offline(self, reason: str, retry_in: float, queued: int) -> None:
        self.emit("offline", reason=reason, retry_in=round(retry_in, 3), queued=queued)

    def note(self, message: str) -> None:
        self.emit("note", message=message)


def local_time(stamp: str) -> str:
    """A stored UTC stamp as China time for a person (``03-05 09:12``)."""
    try:
        return datetime.fromisoformat(stamp).astimezone(fmt.CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp
