"""The output folder of ``search.run``: an exclusive lock, atomic writes and provenance.

Two processes writing one folder would interleave their history lines, so a run holds an
exclusive ``fcntl.flock`` on ``<folder>/.lock`` (which also holds its pid) for as long as it
writes. The operating system drops the lock when the process exits or is killed, so a crash
never leaves a folder locked. Files other than the append-only histories are written whole to a
temporary file and moved into place with ``os.replace``, so a kill never leaves half a file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

LOCK_NAME = ".lock"


class FolderBusy(RuntimeError):
    """Another process holds the lock of the output folder."""


class FolderLock:
    """An exclusive, non-blocking lock on a folder, held until :meth:`release` or exit.

    Args:
        folder: The folder to lock (created if needed).

    Raises:
        FolderBusy: If another process holds the lock (the message names its pid).
        OSError: If the lock file cannot be created.
    """

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(self._fd)
            self._fd = None
            raise FolderBusy(f"{self.path.parent} is in use by another search (pid {holder}); "
                             "wait for it to finish or stop it, then retry.") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode("ascii"), 0)

    def release(self) -> None:
        """Drop the lock (the file stays: removing it would race with a waiting process)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``.

    Returns:
        The written path.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def fingerprint(benchmark: Any, path: str | Path | None) -> dict[str, Any]:
    """A content fingerprint of the table a search reads, stored in ``config.json``.

    A benchmark read from a file is identified by the file's size and SHA-256 (a changed file is
    a different table even when it parses); an embedded table (``path`` is ``None``) by the
    SHA-256 of its metric names, cell keys and values, so that an upgraded wheel with other
    numbers is caught too.

    Args:
        benchmark: The loaded benchmark.
        path: The file it was loaded from, or ``None`` for an embedded table.

    Returns:
        ``{"of": "file", "size", "sha256"}`` or ``{"of": "table", "cells", "sha256"}``.
    """
    digest = hashlib.sha256()
    if path is not None:
        size = 0
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                size += len(chunk)
                digest.update(chunk)
        return {"of": "file", "size": size, "sha256": digest.hexdigest()}
    space = benchmark.space
    for arch in benchmark.archs():
        digest.update(repr(space.hash(arch)).encode("utf-8") + b"\n")
    for metric in benchmark.metrics:
        digest.update(metric.encode("utf-8") + b"\n")
        digest.update(np.ascontiguousarray(benchmark.values(metric), dtype="<f8").tobytes())
    return {"of": "table", "cells": len(benchmark), "sha256": digest.hexdigest()}


def provenance() -> dict[str, Any]:
    """The package version and, when the code is a git checkout, its commit (else ``None``)."""
    import gnnpred

    root = Path(__file__).resolve().parents[1]
    commit = None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
        if out.returncode == 0 and len(out.stdout.strip()) == 40:
            commit = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {"gnnpred_version": gnnpred.__version__, "git_commit": commit}
