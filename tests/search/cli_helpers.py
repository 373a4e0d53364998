"""Helpers of the command-line tests: the embedded NB201 table, edited copies of it as CSV
files, and a way to run the real CLI in a subprocess with slow benchmark queries."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

#: Runs ``search.run`` with every benchmark query slowed down (an "expensive" evaluation), so
#: that a test can act while the run is in the middle.
SLOW_CLI = """
import sys, time
from datasets.base import Benchmark
real = Benchmark.query
def slow(self, arch, metric=None):
    time.sleep(float(sys.argv[1]))
    return real(self, arch, metric)
Benchmark.query = slow
from search.run import main
sys.exit(main(sys.argv[2:]))
"""


@functools.lru_cache(maxsize=1)
def embedded():
    """The embedded NB201 table (AnalogNAS-Bench), loaded once per test session."""
    import datasets

    return datasets.load("nasbench201")


def write_table(path: Path, edit: Callable[[np.ndarray], np.ndarray] | None = None) -> Path:
    """Write the embedded table as a ``arch,test_accuracy`` CSV, values passed through ``edit``."""
    bench = embedded()
    values = np.array(bench.values(), dtype=float)
    if edit is not None:
        values = edit(values)
    rows = [f"{bench.space.to_string(a)},{v!r}" for a, v in zip(bench.archs(), values.tolist(),
                                                                 strict=True)]
    path.write_text("arch,test_accuracy\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def env() -> dict[str, str]:
    """The environment of a CLI subprocess (the project on the path)."""
    return {**os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def start_slow(delay: float, *argv: str, script: str = SLOW_CLI) -> subprocess.Popen:
    """Start the CLI in a subprocess with each query taking ``delay`` seconds."""
    return subprocess.Popen([sys.executable, "-c", script, str(delay), *argv], cwd=ROOT,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_lines(path: Path, n: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    """Wait until ``path`` holds ``n`` complete lines (fails if ``proc`` ends first)."""
    deadline = time.time() + timeout
    while not path.exists() or path.read_bytes().count(b"\n") < n:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early: {proc.communicate()[1][-2000:]}")
        if time.time() > deadline:
            raise AssertionError(f"{path} did not reach {n} lines in {timeout} s")
        time.sleep(0.01)


def _reject(name: str) -> None:
    raise ValueError(f"the non-standard JSON constant {name}")


def strict_load(path: Path) -> dict:
    """Parse a JSON file, failing on NaN/Infinity literals (strict JSON)."""
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject)


def history(folder: Path, algorithm: str, seed: int) -> list[dict]:
    """The lines of one run's history as dicts (strict JSON)."""
    path = folder / algorithm / f"seed{seed}" / "history.jsonl"
    return [json.loads(line, parse_constant=_reject)
            for line in path.read_text(encoding="utf-8").splitlines()]
