"""File helpers shared by the loaders: existence checks and a numeric CSV reader."""

from __future__ import annotations

import csv
from os import PathLike
from pathlib import Path

import numpy as np


def existing(path: str | PathLike, origin: str) -> Path:
    """``path`` as a :class:`Path`, or ``FileNotFoundError`` saying where the file comes from."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist. {origin}")
    return path


def read_csv(path: Path, key_column: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """Read a CSV with one text key column and numeric metric columns.

    Args:
        path: The CSV file (header row first).
        key_column: Name of the column holding the cell key (e.g. ``arch`` or ``hash``).

    Returns:
        ``(keys, columns)``: the key strings and ``{metric: float64 array}`` (empty cells -> NaN).

    Raises:
        ValueError: If the key column is missing, there are no metric columns, no rows, a row has
            the wrong number of fields or a value is not a number (naming the file and line).
    """
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path} is empty; expected a header with a {key_column!r} column.")
        header = [h.strip() for h in header]
        if key_column not in header:
            raise ValueError(f"{path} has no {key_column!r} column (header: {header}).")
        k = header.index(key_column)
        names = [h for i, h in enumerate(header) if i != k]
        if not names:
            raise ValueError(f"{path} has no metric columns besides {key_column!r}.")
        keys: list[str] = []
        rows: list[list[float]] = []
        for line, fields in enumerate(reader, start=2):
            if not fields:
                continue
            if len(fields) != len(header):
                raise ValueError(f"{path}, line {line}: {len(fields)} fields, the header has {len(header)}.")
            keys.append(fields[k].strip())
            try:
                rows.append([float(f) if f.strip() else np.nan for i, f in enumerate(fields) if i != k])
            except ValueError as exc:
                raise ValueError(f"{path}, line {line}: a metric value is not a number ({exc}).") from exc
    if not rows:
        raise ValueError(f"{path} has a header but no rows.")
    table = np.asarray(rows, dtype=np.float64)
    return keys, {name: table[:, j].copy() for j, name in enumerate(names)}
