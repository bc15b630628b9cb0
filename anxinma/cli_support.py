"""What every ``anxinma`` command shares, below the parts so each part's commands can use it.

One convention for all commands (operators script them): a library error is one line
``错误 / error: …`` on standard error and exit status 2 (1 is kept for "not valid"); a file
error says which file; anything unexpected is one ``内部错误 / internal error`` line, never a
stack trace, unless ``ANXINMA_DEBUG=1`` asks for it.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from anxinma.errors import AnxinmaError

F = TypeVar("F", bound=Callable[..., Any])

#: Exit status of a command that could not do its work (bad input, a missing file, an error).
EXIT_ERROR = 2


def friendly(func: F) -> F:
    """Wrap a click command so that failures follow the convention of this module."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AnxinmaError as exc:
            click.echo(f"错误 / error: {exc.explain()}", err=True)
            sys.exit(EXIT_ERROR)
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"错误 / error: 文件读写失败 / file error: {exc.strerror or exc}{where}", err=True)
            sys.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise  # click's own flow (usage errors, --help, Ctrl-C) is click's to report
        except Exception as exc:
            if os.environ.get("ANXINMA_DEBUG"):
                raise
            click.echo(
                f"内部错误 / internal error: {type(exc).__name__}: {exc} (ANXINMA_DEBUG=1 shows the trace)",
                err=True,
            )
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


def read_code(code: str) -> str | bytes:
    """CODE is any text form, or ``-`` for standard input, which may also carry the binary form
    (``anxinma credential issue --format binary | anxinma credential inspect -``)."""
    if code != "-":
        return code
    data = sys.stdin.buffer.read()
    if data[:1] == b"\x84":  # a CBOR array of four: the binary form (no text form starts so)
        return data
    return data.decode("utf-8", "replace")


def read_text(code: str) -> str:
    """CODE as text only (commands that also need the code's URL, such as its verify host)."""
    return sys.stdin.read() if code == "-" else code
