"""Search histories on disk: one JSON line per query, appended and flushed as it happens.

A run killed at any moment (SIGKILL included) leaves at worst one partially written last line;
:func:`read_history` drops it (and truncates the file), so that resuming continues from the last
complete query. ``config.json`` beside the histories records what produced them, so that
``--resume`` refuses a folder written with another configuration.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"


@dataclass(frozen=True)
class Record:
    """One benchmark query.

    Attributes:
        index: 0-based position in the run.
        arch: The cell in its space's string form (``space.to_string``).
        value: The benchmark's answer for the search metric.
        time: Seconds since the run started when the answer arrived (summed over resumes).
        extra: Other recorded metrics, e.g. ``{"perf": 0.81}`` (a report metric).
    """

    index: int
    arch: str
    value: float
    time: float
    extra: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        d = asdict(self)
        if not d["extra"]:
            del d["extra"]
        return json.dumps(d, allow_nan=True)


def read_history(path: str | Path, *, repair: bool = True) -> list[Record]:
    """Read a history file; drop (and by default truncate away) a partial last line.

    Args:
        path: The ``history.jsonl`` file; a missing file is an empty history.
        repair: Truncate the file after the last complete line when the tail is partial.

    Returns:
        The complete records, oldest first.

    Raises:
        ValueError: If a line other than the last is not a valid record, or indices skip.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")  # the last piece is b"" when the file ends with a newline
    records: list[Record] = []
    good_end = 0  # byte offset just after the last complete, valid line
    for i, line in enumerate(lines):
        last = i == len(lines) - 1 or (i == len(lines) - 2 and lines[-1] == b"")
        if i == len(lines) - 1 and line == b"":
            break
        rec = _parse(line) if i < len(lines) - 1 else None  # no newline: never complete
        if rec is None:
            if not last:
                raise ValueError(f"{path}: line {i + 1} is not a valid history record "
                                 f"({line[:80]!r}); the file is corrupt, delete it to start again.")
            logger.warning("%s: dropping a partially written last line (%d bytes)", path, len(line))
            break
        if rec.index != len(records):
            raise ValueError(f"{path}: line {i + 1} has index {rec.index}, expected "
                             f"{len(records)}; the file is corrupt, delete it to start again.")
        records.append(rec)
        good_end += len(line) + 1
    if repair and good_end < len(data):
        with open(path, "r+b") as fh:
            fh.truncate(good_end)
    return records


def _parse(line: bytes) -> Record | None:
    try:
        d = json.loads(line.decode("utf-8"))
        rec = Record(index=int(d["index"]), arch=str(d["arch"]), value=float(d["value"]),
                     time=float(d["time"]), extra={k: float(v) for k, v in d.get("extra", {}).items()})
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return None
    return rec


class HistoryWriter:
    """Append records to a history file, one flushed line per query.

    Args:
        path: The ``history.jsonl`` file (created with its folder if needed).
        fsync: Also ``os.fsync`` after each line (survives power loss, not only process kills).
    """

    def __init__(self, path: str | Path, *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.fsync = fsync

    def append(self, record: Record) -> None:
        """Write one record and push it to the operating system."""
        self._fh.write(record.to_json() + "\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class ConfigMismatch(ValueError):
    """``--resume`` was asked on a folder written with another configuration."""


def write_config(folder: str | Path, config: dict[str, Any]) -> None:
    """Write ``config.json`` (atomically: a kill never leaves half a file)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (CONFIG_NAME + ".tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, folder / CONFIG_NAME)


def read_config(folder: str | Path) -> dict[str, Any] | None:
    """The stored ``config.json`` of ``folder``, or ``None`` when there is none.

    Raises:
        ValueError: If the file exists but is not a JSON object.
    """
    path = Path(folder) / CONFIG_NAME
    if not path.exists():
        return None
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); it was not written by search.run.") from exc
    if not isinstance(cfg, dict):
        raise ValueError(f"{path} does not hold a JSON object; it was not written by search.run.")
    return cfg


def check_config(folder: str | Path, config: dict[str, Any], ignore: tuple[str, ...] = ()) -> None:
    """Raise :class:`ConfigMismatch` unless ``folder`` was written with the same ``config``.

    Args:
        folder: The run folder.
        config: The configuration of the run about to resume (JSON-compatible).
        ignore: Keys that may differ (e.g. ``"device"``).

    Raises:
        ConfigMismatch: If there is no stored config or a key differs (the message names it).
    """
    stored = read_config(folder)
    if stored is None:
        raise ConfigMismatch(f"{folder} holds no {CONFIG_NAME}; it is not a search.run folder to resume.")
    now = json.loads(json.dumps(config))  # same normalisation as the stored file
    keys = sorted((set(stored) | set(now)) - set(ignore))
    diffs = [k for k in keys if stored.get(k) != now.get(k)]
    if diffs:
        detail = "; ".join(f"{k}: stored {stored.get(k)!r}, now {now.get(k)!r}" for k in diffs)
        raise ConfigMismatch(f"cannot resume {folder}: it was written with another configuration ({detail}).")
