"""Append-only JSON-lines files that survive a kill.

Run folders keep their records (``history.jsonl``, ``submitted.jsonl``, the one-shot epochs,
the evaluation cache) as one JSON object per line, each line written whole with its newline
and flushed. A kill, a Ctrl-C or a full disk can therefore damage only the end of a file: a
last line without its newline (a torn write) or, rarely, a complete last line that does not
parse. Readers drop that one damaged line, say so in a warning, and by default cut it off the
file so that the next append starts on a line of its own; anything more (an unreadable line
before the last, or two damaged lines) means the file was edited or mixed up, and is an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["complete_lines", "read_records"]


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(size)


def _split(path: Path, repair: bool) -> tuple[list[bytes], bool]:
    """``(complete lines, whether a torn last line was dropped)``."""
    if not path.exists():
        return [], False
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    torn = end < len(data)
    if torn:
        logger.warning("%s: dropping a partially written last line (%d bytes)", path,
                       len(data) - end)
        if repair:
            _truncate(path, end)
    return data[:end].split(b"\n")[:-1], torn


def complete_lines(path: Path, *, repair: bool = True) -> list[bytes]:
    """The newline-terminated lines of ``path``, without their newlines.

    A last line without a newline is a torn write: it is left out, with a warning, and with
    ``repair`` truncated off the file. A missing file has no lines.
    """
    return _split(path, repair)[0]


def read_records(
    path: Path,
    parse: Callable[[bytes, int], T | None],
    corrupt: Callable[[int, bytes], Exception],
    *,
    repair: bool = True,
) -> list[T]:
    """The records of an append-only JSON-lines file, oldest first.

    Args:
        path: The file; a missing file has no records.
        parse: ``parse(line, n)``: the record of one complete line given the ``n`` records
            read before it, or ``None`` when the line is not a valid record (it may also raise
            its own error, e.g. for records out of order).
        corrupt: ``corrupt(line_number, line)``: the exception raised when a line other than
            the last is not a valid record (line numbers count from 1).
        repair: Cut a damaged tail (torn or unparseable last line) off the file. Off for
            readers that only look, e.g. at a file another process is appending to.

    Returns:
        The records of the valid lines; a damaged last line is dropped with a warning.

    Raises:
        Exception: ``corrupt(...)`` for an invalid line before the last, or for an invalid
            last complete line followed by a torn one (a kill damages one line, not two).
    """
    lines, torn = _split(path, repair)
    records: list[T] = []
    for i, line in enumerate(lines):
        rec = parse(line, len(records))
        if rec is None:
            if i < len(lines) - 1 or torn:
                raise corrupt(i + 1, line)
            logger.warning("%s: dropping an unreadable last line (%r)", path, line[:80])
            if repair:
                _truncate(path, sum(len(x) + 1 for x in lines[:i]))
            break
        records.append(rec)
    return records
