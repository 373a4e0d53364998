"""Benchmark scripts refuse bad arguments up front, before minutes of work or meaningless output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv, message", [
    (["--image-size", "0"], "--image-size must be >= 8 (got 0)"),
    (["--channels", "0", "--workers", "0"], "--workers must be >= 1 (got 0); --channels must"),
])
def test_bad_sizes_exit_2_without_timings(argv, message):
    # they used to fail every training and still print "-0.00 s per epoch" and a speed-up
    proc = subprocess.run([sys.executable, "benchmarks/evaluate.py", *argv, "--skip-search"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "per epoch" not in proc.stdout


@pytest.mark.parametrize("script, argv, message", [
    ("proxies.py", ["--n-jobs", "0", "--subset", "-3"], "--subset must be >= 0 (got -3); --n-jobs"),
    ("proxies.py", ["--table", "/nonexistent.csv"], "--table /nonexistent.csv is not a file"),
    ("spaces.py", ["--threads", "0"], "--threads and --n-round must be >= 1"),
    ("oneshot.py", ["--seeds", "a"], "--seeds must be comma-separated ints"),
    ("oneshot.py", ["--path", "/nonexistent.csv"], "--path /nonexistent.csv is not a file"),
])
def test_bad_arguments_of_other_scripts_exit_2_at_once(script, argv, message):
    proc = subprocess.run([sys.executable, f"benchmarks/{script}", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
