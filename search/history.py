"""Search histories on disk: one JSON line per query, appended and flushed as it happens.

A run killed at any moment (SIGKILL included) leaves at worst one partially written last line;
:func:`read_history` drops it (and truncates the file), so that resuming continues from the last
complete query; a corrupt line anywhere else is an error that names the file and the line.
Every line is strict JSON: a failed evaluation (no finite value) is stored with
``"failed": true`` and ``"value": null``. ``config.json`` beside the histories records what
produced them, including a content fingerprint of the benchmark table, so that ``--resume``
refuses a folder written with another configuration or against another table.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search._jsonl import read_records

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
#: The key of ``config.json`` holding the benchmark's content fingerprint.
FINGERPRINT_KEY = "benchmark_fingerprint"


@dataclass(frozen=True)
class Record:
    """One benchmark query.

    A query whose answer is not a finite number is a *failed* evaluation: it is recorded (the
    cell counts as spent) with ``failed`` set, ``value`` NaN in memory and ``null`` on disk, and
    it is never a best cell nor a label.

    Attributes:
        index: 0-based position in the run.
        arch: The cell in its space's string form (``space.to_string``).
        value: The benchmark's answer for the search metric (NaN when ``failed``).
        time: Seconds since the run started when the answer arrived (summed over resumes).
        extra: Other recorded metrics, e.g. ``{"perf": 0.81}`` (a report metric; NaN when the
            table has no finite value).
        failed: Whether the evaluation failed.
        error: Why it failed (e.g. ``"non-finite value inf"``), ``None`` otherwise.
    """

    index: int
    arch: str
    value: float
    time: float
    extra: dict[str, float] = field(default_factory=dict)
    failed: bool = False
    error: str | None = None

    def to_json(self) -> str:
        """The record as one line of strict JSON (non-finite numbers become ``null``)."""
        d: dict[str, Any] = {"index": self.index, "arch": self.arch,
                             "value": None if self.failed else _finite(self.value),
                             "time": self.time}
        if self.failed:
            d["failed"] = True
            if self.error:
                d["error"] = self.error
        if self.extra:
            d["extra"] = {k: _finite(v) for k, v in self.extra.items()}
        return json.dumps(d, allow_nan=False)


class HistoryError(ValueError):
    """A history file is corrupt (the message names the file and the line)."""


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def read_history(path: str | Path, *, repair: bool = True) -> list[Record]:
    """Read a history file; drop (and by default truncate away) a partial last line.

    Args:
        path: The ``history.jsonl`` file; a missing file is an empty history.
        repair: Truncate a partial or unreadable last line off the file.

    Returns:
        The complete records, oldest first.

    Raises:
        HistoryError: If a line other than the last is not a valid record, or indices skip.
    """
    path = Path(path)

    def parse(line: bytes, n: int) -> Record | None:
        rec = _parse(line)
        if rec is not None and rec.index != n:  # all earlier lines are valid: line n + 1
            raise HistoryError(f"{path}: line {n + 1} has index {rec.index}, expected {n}; "
                               "the file is corrupt, delete it to start again.")
        return rec

    def corrupt(number: int, line: bytes) -> HistoryError:
        return HistoryError(f"{path}: line {number} is not a valid history record "
                            f"({line[:80]!r}); the file is corrupt, delete it to start again.")

    return read_records(path, parse, corrupt, repair=repair)


def _parse(line: bytes) -> Record | None:
    try:
        d = json.loads(line.decode("utf-8"), parse_constant=_reject)
        failed = bool(d.get("failed", False))
        value = float("nan") if failed else float(d["value"])
        if not (failed or math.isfinite(value)):
            return None
        extra = {str(k): float("nan") if v is None else float(v)
                 for k, v in d.get("extra", {}).items()}
        error = d.get("error")
        return Record(index=int(d["index"]), arch=str(d["arch"]), value=value,
                      time=float(d["time"]), extra=extra, failed=failed,
                      error=None if error is None else str(error))
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return None


def _reject(constant: str) -> float:
    raise ValueError(f"{constant} is not strict JSON")


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
    from search.folder import write_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(config, indent=2, sort_keys=True, allow_nan=False) + "\n"
    write_atomic(folder / CONFIG_NAME, text)


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
        raise ValueError(f"{path} is not valid JSON ({exc}); "
                         "it was not written by search.run.") from exc
    if not isinstance(cfg, dict):
        raise ValueError(f"{path} does not hold a JSON object; "
                         "it was not written by search.run.")
    return cfg


def check_config(folder: str | Path, config: dict[str, Any], ignore: tuple[str, ...] = ()) -> None:
    """Raise :class:`ConfigMismatch` unless ``folder`` was written with the same ``config``.

    A different :data:`FINGERPRINT_KEY` (the benchmark table changed) gets its own message, since
    mixing answers of two tables in one history would be silently wrong.

    Args:
        folder: The run folder.
        config: The configuration of the run about to resume (JSON-compatible).
        ignore: Keys that may differ (e.g. ``"device"``).

    Raises:
        ConfigMismatch: If there is no stored config or a key differs (the message names it).
    """
    stored = read_config(folder)
    if stored is None:
        raise ConfigMismatch(f"{folder} holds no {CONFIG_NAME}; "
                             "it is not a search.run folder to resume.")
    now = json.loads(json.dumps(config))  # same normalisation as the stored file
    keys = sorted((set(stored) | set(now)) - set(ignore))
    diffs = [k for k in keys if stored.get(k) != now.get(k)]
    if FINGERPRINT_KEY in diffs and FINGERPRINT_KEY in now and FINGERPRINT_KEY not in stored:
        raise ConfigMismatch(f"cannot resume {folder}: its {CONFIG_NAME} holds no benchmark "
                             "fingerprint (written by an older version); start a new --out.")
    if FINGERPRINT_KEY in diffs and FINGERPRINT_KEY in now:
        raise ConfigMismatch(
            f"cannot resume {folder}: the benchmark table is not the one it was written with "
            f"(stored {stored.get(FINGERPRINT_KEY)}, now {now[FINGERPRINT_KEY]}); resume with "
            "the same table or choose another --out.")
    if diffs:
        detail = "; ".join(f"{k}: stored {stored.get(k)!r}, now {now.get(k)!r}" for k in diffs)
        raise ConfigMismatch(f"cannot resume {folder}: it was written with another "
                             f"configuration ({detail}).")
