"""Evaluators for the Ray tests: cheap deterministic values, slow ones, and one whose worker
process is killed the first time it evaluates a given cell."""

from __future__ import annotations

import os
import time
from pathlib import Path

from datasets.base import Benchmark
from gnnpred.training import DigitsDataModule
from search.evaluators import Evaluation


def op_score(arch) -> float:
    """A deterministic value of an NB201 cell: its convolutions count most."""
    weights = {"nor_conv_3x3": 3.0, "nor_conv_1x1": 2.0, "avg_pool_3x3": 1.0,
               "skip_connect": 0.5, "none": 0.0}
    return float(sum(w * (i + 1) for i, op in enumerate(arch.ops) for w in [weights[op]]))


class OpScore:
    """Evaluate a cell by :func:`op_score` after ``delay`` seconds; with ``log``, each attempt
    leaves a file ``attempt-<pid>-<ns>`` holding the cell's ops, so a test can count them."""

    def __init__(self, delay: float = 0.0, log: str | None = None) -> None:
        self.delay, self.log = delay, log

    def evaluate(self, arch, seed: int) -> Evaluation:
        if self.log is not None:
            name = f"attempt-{os.getpid()}-{time.monotonic_ns()}"
            (Path(self.log) / name).write_text("|".join(arch.ops))
        time.sleep(self.delay)
        return Evaluation(op_score(arch), {"slept": self.delay}, self.delay)


class DieOnce(OpScore):
    """Like :class:`OpScore`, but the first evaluation writes ``<log>/victim`` (its pid and the
    cell's ops) and waits there to be killed; the retry (in a new worker) evaluates normally."""

    def evaluate(self, arch, seed: int) -> Evaluation:
        victim = Path(self.log) / "victim"
        if not victim.exists():
            victim.write_text(f"{os.getpid()}\n{'|'.join(arch.ops)}")
            time.sleep(120)  # the test kills this worker process meanwhile
        return super().evaluate(arch, seed)


class SlowDigits(DigitsDataModule):
    """A user's data module that takes ``delay`` seconds to build (a slow evaluation)."""

    def __init__(self, *, delay: float = 1.0, **kwargs) -> None:
        time.sleep(delay)
        super().__init__(**kwargs)


class DataHereOnly(DigitsDataModule):
    """A user's data module whose files exist only on the machine of process ``driver_pid``
    (the command's): built anywhere else (a Ray worker), it cannot open them."""

    def __init__(self, *, driver_pid: int, **kwargs) -> None:
        if os.getpid() != driver_pid:
            raise OSError("cannot open /data/mine.npz")
        super().__init__(**kwargs)


class SlowQueries(Benchmark):
    """A table whose every query takes :attr:`delay` seconds (an expensive look-up)."""

    delay = 0.1

    @classmethod
    def of(cls, bench: Benchmark) -> SlowQueries:
        """A copy of ``bench`` with slow queries."""
        slow = cls.__new__(cls)
        slow.__dict__.update(bench.__dict__)
        return slow

    def query(self, arch, metric=None) -> float:
        time.sleep(self.delay)
        return super().query(arch, metric)
