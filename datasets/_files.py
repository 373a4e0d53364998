"""File helpers shared by the loaders: existence and size checks, capped reads, a CSV reader.

Every loader reads a file of a known format whose real size is known (the largest official
NAS benchmark file is a few GB). Each format therefore has a maximum size, and a file larger
than that, or a stream that may never end (a device such as ``/dev/zero``, a pipe), is refused
with a ``ValueError`` naming the file, before anything is read into memory.
"""

from __future__ import annotations

import bz2
import csv
import io
import stat
from os import PathLike
from pathlib import Path

import numpy as np

MiB = 1 << 20
GiB = 1 << 30


def existing(path: str | PathLike, origin: str) -> Path:
    """``path`` as a :class:`Path`, or ``FileNotFoundError`` saying where the file comes from."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist. {origin}")
    return path


def _size(n: int) -> str:
    return f"{n / GiB:g} GiB" if n >= GiB else f"{n / MiB:g} MiB"


def check_size(path: str | PathLike, max_bytes: int, what: str) -> int:
    """Check that ``path`` is a regular file of at most ``max_bytes`` bytes.

    Args:
        path: The file (symbolic links are followed).
        max_bytes: The largest size a genuine file of this format has, with room to spare.
        what: The format, for the message (e.g. ``"NAS-Bench-201 CSV table"``).

    Returns:
        The file's size in bytes.

    Raises:
        ValueError: Naming the file if it is not a regular file (a device, pipe or socket,
            whose end is unknown) or is larger than ``max_bytes``.
    """
    info = Path(path).stat()
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(
            f"{path} is not a regular file (a device, pipe or socket, which may never end); "
            f"a {what} is read from a file of at most {_size(max_bytes)}."
        )
    if info.st_size > max_bytes:
        raise ValueError(
            f"{path} is {info.st_size:,} bytes, larger than any {what} "
            f"(at most {_size(max_bytes)}); it is not such a file."
        )
    return info.st_size


def read_bytes(path: str | PathLike, max_bytes: int, what: str) -> bytes:
    """The content of a regular file of at most ``max_bytes`` bytes (see :func:`check_size`).

    At most ``max_bytes + 1`` bytes are read, so a file that grows while it is read is refused
    too.

    Raises:
        ValueError: Naming the file if it is not a regular file or is too large.
    """
    check_size(path, max_bytes, what)
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{path} grew past {_size(max_bytes)} while it was read as a {what}.")
    return data


def read_text(path: str | PathLike, max_bytes: int, what: str) -> str:
    """The UTF-8 text of a file of at most ``max_bytes`` bytes; a leading BOM is dropped.

    Spreadsheet programs save CSV files with a UTF-8 byte-order mark, which is not part of
    the first column's name.

    Raises:
        ValueError: Naming the file if it is too large, not a regular file or not UTF-8.
    """
    data = read_bytes(path, max_bytes, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc}); expected a {what}.") from exc


def bz2_decompress(data: bytes, max_bytes: int, label: str) -> bytes:
    """Decompress (possibly multi-stream) bz2 ``data`` into at most ``max_bytes`` bytes.

    A few kilobytes of bz2 can expand to gigabytes, so the output is capped as it is produced.

    Raises:
        ValueError: Naming ``label`` if the data is not valid bz2 or expands past ``max_bytes``.
    """
    out: list[bytes] = []
    total = 0
    try:
        while data:
            dec = bz2.BZ2Decompressor()
            while not dec.eof:
                chunk = dec.decompress(data, max_length=max_bytes + 1 - total)
                data = b""
                total += len(chunk)
                out.append(chunk)
                if total > max_bytes:
                    raise ValueError(
                        f"{label} expands to more than {_size(max_bytes)}; "
                        "it is not a file of this benchmark."
                    )
                if not dec.eof and dec.needs_input:
                    raise ValueError(f"{label} is corrupt: its bz2 data is truncated.")
            data = dec.unused_data
    except (OSError, EOFError) as exc:
        raise ValueError(f"{label} is corrupt: it is not valid bz2 data ({exc}).") from exc
    return b"".join(out)


def read_csv(
    path: Path, key_column: str, max_bytes: int, what: str
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Read a CSV with one text key column and numeric metric columns.

    Args:
        path: The CSV file (header row first).
        key_column: Name of the column holding the cell key (e.g. ``arch`` or ``hash``).
        max_bytes: The largest size of such a table (see :func:`check_size`).
        what: The table's name, for messages.

    Returns:
        ``(keys, columns)``: the key strings and ``{metric: float64 array}`` (empty cells -> NaN).

    Raises:
        ValueError: If the file is too large, not UTF-8, the key column is missing, a column
            name repeats, there are no metric columns, no rows, a row has the wrong number of
            fields or a value is not a number (naming the file and line).
    """
    text = read_text(path, max_bytes, what)
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:  # e.g. an unterminated quote or a field past the size limit
        raise ValueError(f"{path} is not a valid CSV file ({exc}).") from exc
    if not records:
        raise ValueError(f"{path} is empty; expected a header with a {key_column!r} column.")
    header = [h.strip() for h in records[0]]
    if key_column not in header:
        raise ValueError(f"{path} has no {key_column!r} column (header: {header}).")
    twice = sorted({h for h in header if h and header.count(h) > 1})  # "" : empty trailing cells
    if twice:
        raise ValueError(f"{path} names column(s) {twice} more than once; give every column "
                         "its own name.")
    k = header.index(key_column)
    names = [h for i, h in enumerate(header) if i != k]
    if not names:
        raise ValueError(f"{path} has no metric columns besides {key_column!r}.")
    keys: list[str] = []
    rows: list[list[float]] = []
    for line, fields in enumerate(records[1:], start=2):
        if not fields:
            continue
        if len(fields) != len(header):
            raise ValueError(
                f"{path}, line {line}: {len(fields)} fields, the header has {len(header)}."
            )
        keys.append(fields[k].strip())
        try:
            rows.append([float(f) if f.strip() else np.nan for i, f in enumerate(fields) if i != k])
        except ValueError as exc:
            msg = f"{path}, line {line}: a metric value is not a number ({exc})."
            raise ValueError(msg) from exc
    if not rows:
        raise ValueError(f"{path} has a header but no rows.")
    table = np.asarray(rows, dtype=np.float64)
    return keys, {name: table[:, j].copy() for j, name in enumerate(names)}
