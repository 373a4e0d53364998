"""benchmarks/evaluate.py: sizes that would fail every training are refused up front."""

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
