"""Training runs: Ctrl-C reaches the caller as KeyboardInterrupt (not Lightning's exit 1)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import signal, sys
import numpy as np
import datasets
from gnnpred import Assessor
from gnnpred.models.autoencoder import AutoencoderTask

step = AutoencoderTask.training_step
def announce(self, batch, batch_idx):
    if batch_idx == 0 and self.current_epoch == 0:
        print("training", flush=True)
    return step(self, batch, batch_idx)
AutoencoderTask.training_step = announce

bench = datasets.load("nasbench201")
archs, y = bench.archs()[:40], bench.values()[:40]
try:
    Assessor(pretrain_steps=10**8, device="cpu").fit(archs, y, unlabeled=0)
except KeyboardInterrupt:
    restored = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    print("KeyboardInterrupt", "handler restored" if restored else "handler lost", flush=True)
    sys.exit(130)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_training_raises_keyboard_interrupt():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 240
        line = ""
        while "training" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert "training" in line, proc.stderr.read()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "KeyboardInterrupt handler restored" in out
