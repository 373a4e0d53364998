"""Evaluators: what a search pays for a cell's value, a table lookup or a training run.

An :class:`Evaluator` answers ``evaluate(arch, seed)`` with an :class:`Evaluation`: the value
the search maximises, report metrics, the cost in seconds, or a failure with its message. The
search never learns where a value came from.

- :class:`TableEvaluator` looks the cell up in a benchmark table (the search of every benchmark
  figure; a non-finite table value is a failed evaluation).
- :class:`TrainingEvaluator` trains ``space.to_network(cell)`` on a data module with
  :func:`gnnpred.training.train_network` and returns the validation accuracy; the test accuracy
  is a report metric only. Anything that goes wrong inside (a NaN loss, out of memory, an
  exception in the user's data module) is a failed evaluation, not a crash.

Training evaluations run in other processes (Ray workers, possibly on other machines), so the
cache of finished trainings (:class:`EvaluationCache`) lives with the search, in its run folder:
equivalent cells (``space.hash(space.canonical(arch))``) are trained once per seed, also across
the runs of one folder and after ``--resume``.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from search._jsonl import complete_lines

logger = logging.getLogger(__name__)

Arch = Any


@dataclass(frozen=True)
class Evaluation:
    """The answer for one cell.

    Attributes:
        value: The value the search maximises (NaN when the evaluation failed).
        metrics: Report metrics (e.g. ``{"test_accuracy": 91.2}``), never used for decisions.
        cost: Seconds the evaluation took.
        error: Why it failed, ``None`` when it succeeded.
    """

    value: float
    metrics: dict[str, float] = field(default_factory=dict)
    cost: float = 0.0
    error: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the evaluation failed (an error, or no finite value)."""
        return self.error is not None or not math.isfinite(self.value)

    @classmethod
    def failure(cls, error: str, cost: float = 0.0) -> Evaluation:
        """A failed evaluation with its message."""
        return cls(math.nan, {}, float(cost), error)


@runtime_checkable
class Evaluator(Protocol):
    """Anything that evaluates a cell: ``evaluate(arch, seed) -> Evaluation`` (picklable, so
    that Ray can ship it to a worker)."""

    def evaluate(self, arch: Arch, seed: int) -> Evaluation:
        """Evaluate ``arch``; ``seed`` decides any randomness of the evaluation."""
        ...


class TableEvaluator:
    """Look cells up in a benchmark table (``datasets.load``); the seed is not used.

    Args:
        benchmark: The table.
        metric: The metric to maximise (default: the benchmark's).
        report_metrics: Other metrics to return for each cell.
    """

    def __init__(self, benchmark: Any, metric: str | None = None,
                 report_metrics: Sequence[str] = ()) -> None:
        self.benchmark = benchmark
        self.metric = metric if metric is not None else benchmark.metric
        self.report_metrics = tuple(report_metrics)

    def evaluate(self, arch: Arch, seed: int = 0) -> Evaluation:
        """The table's value of ``arch``; a non-finite value is a failed evaluation.

        Raises:
            KeyError: If the table lacks ``arch`` (a search only proposes table cells).
        """
        start = time.perf_counter()
        value = float(self.benchmark.query(arch, self.metric))
        metrics = {m: float(self.benchmark.query(arch, m)) for m in self.report_metrics}
        cost = time.perf_counter() - start
        if not math.isfinite(value):
            return Evaluation(math.nan, metrics, cost, f"non-finite value {value!r}")
        return Evaluation(value, metrics, cost)


class TrainingEvaluator:
    """Train each cell's network on a data module and return its validation accuracy.

    Args:
        space: The search space (its ``to_network`` builds the network).
        data: A zero-argument callable returning a fresh ``LightningDataModule`` (e.g. a class,
            or ``functools.partial(DigitsDataModule, batch_size=64)``). It is called in the
            process that trains, once per evaluation, so a worker never shares loaders.
        epochs: Training epochs per evaluation.
        device: ``"auto"`` (CUDA when the worker has one), ``"cpu"`` or ``"cuda[:N]"``.
        network_kwargs: Arguments of ``space.to_network`` over the data module's
            ``network_kwargs()`` (e.g. ``{"channels": 8}`` for a narrower NB201 network).
        train_kwargs: Further arguments of :func:`gnnpred.training.train_network` (``lr``,
            ``batch_size``, ``optimizer``, ``trainer_kwargs`` ...).

    Raises:
        ValueError: If ``epochs`` is not a positive int or ``data`` is not callable.
        TypeError: If ``train_kwargs`` names an argument ``train_network`` does not take.
    """

    def __init__(self, space: Any, data: Callable[[], Any], *, epochs: int = 5,
                 device: str = "auto", network_kwargs: dict[str, Any] | None = None,
                 train_kwargs: dict[str, Any] | None = None) -> None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive int. Got {epochs!r} instead.")
        if not callable(data):
            raise ValueError(f"data must be a callable returning a LightningDataModule (e.g. "
                             f"DigitsDataModule). Got {data!r} instead.")
        from gnnpred.training import train_network  # lazy: lightning is slow to import

        own = set(inspect.signature(train_network).parameters) - {"network", "datamodule",
                                                                  "epochs", "seed", "device"}
        unknown = sorted(set(train_kwargs or {}) - own)
        if unknown:
            raise TypeError(f"train_kwargs names {unknown}, which train_network does not take; "
                            f"it takes {sorted(own)}.")
        self.space, self.data, self.epochs = space, data, epochs
        self.device = device
        self.network_kwargs = dict(network_kwargs or {})
        self.train_kwargs = dict(train_kwargs or {})

    def evaluate(self, arch: Arch, seed: int = 0) -> Evaluation:
        """Train ``arch``'s network with ``seed``; any error is a failed evaluation.

        Returns:
            The validation accuracy (percent) as the value; ``test_accuracy``,
            ``train_accuracy``, ``train_loss`` and ``epochs`` as report metrics.
        """
        from gnnpred.training import train_network

        start = time.perf_counter()
        try:
            datamodule = self.data()
            kwargs = {**getattr(datamodule, "network_kwargs", dict)(), **self.network_kwargs}
            network = self.space.to_network(arch, **kwargs)
            result = train_network(network, datamodule, epochs=self.epochs, seed=int(seed),
                                   device=self.device, **self.train_kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure of user code is a failed evaluation
            cost = time.perf_counter() - start
            where = traceback.extract_tb(exc.__traceback__)[-1:]
            at = f" (at {where[0].filename}:{where[0].lineno})" if where else ""
            logger.warning("training %s failed: %s: %s", self.space.to_string(arch),
                           type(exc).__name__, exc)
            return Evaluation.failure(f"{type(exc).__name__}: {exc}{at}", cost)
        cost = time.perf_counter() - start
        metrics = {"test_accuracy": result.test_accuracy, "train_accuracy": result.train_accuracy,
                   "train_loss": result.train_loss, "epochs": float(result.epochs)}
        if not math.isfinite(result.valid_accuracy):
            return Evaluation(math.nan, metrics, cost,
                              f"non-finite validation accuracy {result.valid_accuracy!r}")
        return Evaluation(float(result.valid_accuracy), metrics, cost)


class EvaluationCache:
    """Successful evaluations by (dedupe key, seed), appended to a JSON-lines file.

    Failures are not cached: a cell whose training ran out of memory may succeed later. A
    partially written last line (a killed process) is ignored.

    Args:
        path: The cache file (``None``: in memory only).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._entries: dict[tuple[str, int], Evaluation] = {}
        if self.path is not None:
            # a cache may lose entries: unreadable lines anywhere are skipped, not fatal
            for line in complete_lines(self.path):
                try:
                    d = json.loads(line)
                    ev = Evaluation(float(d["value"]), {k: float(v) for k, v in
                                                        d["metrics"].items()}, float(d["cost"]))
                    self._entries[(str(d["key"]), int(d["seed"]))] = ev
                except (ValueError, KeyError, TypeError, AttributeError):
                    logger.warning("%s: skipping an unreadable line", self.path)

    def get(self, key: str, seed: int) -> Evaluation | None:
        """The cached evaluation of ``key`` with ``seed``, or ``None``."""
        return self._entries.get((str(key), int(seed)))

    def put(self, key: str, seed: int, evaluation: Evaluation) -> None:
        """Remember a successful evaluation (failures are ignored) and append it to the file."""
        if evaluation.failed or not all(math.isfinite(v) for v in evaluation.metrics.values()):
            return
        self._entries[(str(key), int(seed))] = evaluation
        if self.path is not None:
            line = json.dumps({"key": str(key), "seed": int(seed), "value": evaluation.value,
                               "metrics": evaluation.metrics, "cost": evaluation.cost},
                              allow_nan=False)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    def __len__(self) -> int:
        return len(self._entries)
