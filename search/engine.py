"""The search loop: propose, query the benchmark, record, observe; resumable from its history."""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from search.algorithms import ALGORITHMS, SearchAlgorithm
from search.domain import Domain
from search.history import HistoryWriter, Record, read_history

logger = logging.getLogger(__name__)

#: Values within this of the optimum count as reaching it (table values are rounded decimals).
OPTIMUM_TOL = 1e-9


@dataclass
class SearchResult:
    """One finished (or stopped) search.

    Attributes:
        algorithm: The algorithm's name.
        seed: The run's seed.
        archs: Queried cells, in order.
        values: Their search-metric values, ``[n]``.
        times: Seconds since the start when each answer arrived, ``[n]``.
        extra: Report metrics of each queried cell, name -> ``[n]``.
        optimum: The benchmark's best value of the search metric (``None`` if unknown).
    """

    algorithm: str
    seed: int
    archs: list[Hashable]
    values: np.ndarray
    times: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    optimum: float | None = None

    @property
    def n_queries(self) -> int:
        return len(self.archs)

    @property
    def failed(self) -> np.ndarray:
        """Which queries failed (no finite value), ``[n]`` bool."""
        return ~np.isfinite(self.values)

    @property
    def n_failed(self) -> int:
        return int(np.sum(self.failed))

    @property
    def best_index(self) -> int | None:
        """0-based index of the first query that reached the best value (``None`` when no query
        succeeded: failed evaluations are never best)."""
        ok = np.flatnonzero(~self.failed)
        return int(ok[np.argmax(self.values[ok])]) if ok.size else None

    @property
    def best_value(self) -> float | None:
        i = self.best_index
        return None if i is None else float(self.values[i])

    @property
    def queries_to_best(self) -> int | None:
        """Queries spent until the best cell was found (1-based count)."""
        i = self.best_index
        return None if i is None else i + 1

    @property
    def queries_to_optimum(self) -> int | None:
        """Queries spent until the benchmark's optimum was reached, ``None`` if never/unknown."""
        if self.optimum is None:
            return None
        hit = np.flatnonzero(np.nan_to_num(self.values, nan=-np.inf)
                             >= self.optimum - OPTIMUM_TOL)
        return int(hit[0]) + 1 if hit.size else None

    def best_curve(self) -> np.ndarray:
        """Best value so far after each query, ``[n]`` (NaN until the first success)."""
        return np.fmax.accumulate(self.values) if self.n_queries else self.values

    def best_after(self, n: int) -> float:
        """Best value within the first ``n`` queries (NaN when the run is shorter or none of
        them succeeded)."""
        if self.n_queries < n:
            return float("nan")
        return float(self.best_curve()[n - 1])

    def summary(self, space: Any) -> dict[str, Any]:
        """The JSON-ready entry of ``summary.json`` for this run (``None`` where undefined)."""
        i = self.best_index
        out: dict[str, Any] = {
            "algorithm": self.algorithm,
            "seed": self.seed,
            "n_queries": self.n_queries,
            "n_failed": self.n_failed,
            "best_arch": None if i is None else space.to_string(self.archs[i]),
            "best_value": self.best_value,
            "queries_to_best": self.queries_to_best,
            "queries_to_optimum": self.queries_to_optimum,
            "time": float(self.times[-1]) if self.n_queries else 0.0,
        }
        for name, vals in self.extra.items():
            v = None if i is None else float(vals[i])
            out[f"best_{name}"] = v if v is not None and math.isfinite(v) else None
        return out


def run_search(
    algorithm: SearchAlgorithm | str,
    benchmark: Any,
    budget: int,
    seed: int = 0,
    *,
    metric: str | None = None,
    report_metrics: Sequence[str] = (),
    domain: Domain | None = None,
    history: str | Path | None = None,
    resume: bool = False,
    optimum: float | None | str = "auto",
    stop_at_optimum: bool = False,
    device: str = "auto",
    verbose: bool = False,
    progress: Callable[[int], Any] | None = None,
) -> SearchResult:
    """Run one search on a benchmark table.

    Args:
        algorithm: A :class:`SearchAlgorithm` or a registered name (default parameters).
        benchmark: A benchmark from ``datasets.load``.
        budget: Maximum number of benchmark queries (no cell is queried twice).
        seed: The run's seed; the same seed gives the same history.
        metric: The metric to maximise (default: the benchmark's).
        report_metrics: Other metrics to record for every queried cell (e.g. ``("perf",)``).
        domain: A prebuilt :class:`Domain` of ``benchmark`` (saves work across seeds).
        history: A ``history.jsonl`` path; each query is appended and flushed as it happens.
        resume: Continue the history at ``history`` (replayed, not re-queried) instead of
            requiring it to be absent or empty.
        optimum: The best reachable value (``"auto"``: the table's largest finite value;
            ``None``: unknown).
        stop_at_optimum: Stop as soon as the optimum is reached.
        device: Torch device for algorithms that train models.
        verbose: Let inner models report progress.
        progress: Called with 1 after every new query (e.g. ``tqdm.update``).

    Returns:
        The :class:`SearchResult`, including replayed queries.

    A query whose value is not finite is a failed evaluation: it is recorded (``failed`` in the
    history, NaN in the result), observed by the algorithm as NaN so that the cell counts as
    spent, and never counted as best or as reaching the optimum.

    Raises:
        ValueError: If ``budget`` < 1 or exceeds the table's distinct cells, ``seed``,
            ``report_metrics`` or ``optimum`` has the wrong type or value, a history exists
            without ``resume``, or it cannot be replayed (corrupt, longer than ``budget``, cells
            outside the benchmark, or values other than the benchmark's).
    """
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be an int >= 1 (benchmark queries). Got {budget!r} instead.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int. Got {seed!r} instead.")
    if isinstance(report_metrics, str):
        raise ValueError(f"report_metrics must be a list of metric names, not one string: pass "
                         f"[{report_metrics!r}].")
    if not (optimum is None or optimum == "auto" or (
            isinstance(optimum, numbers.Real) and not isinstance(optimum, bool))):
        raise ValueError(f"optimum must be a number, None or 'auto'. Got {optimum!r} instead.")
    algo = _algorithm(algorithm)
    domain = domain if domain is not None else Domain(benchmark)
    if budget > domain.n_keys:
        raise ValueError(f"budget {budget} exceeds the {domain.n_keys} distinct cells of the "
                         "benchmark (no cell is queried twice); lower it.")
    space = domain.space
    metric = metric if metric is not None else benchmark.metric
    if optimum == "auto":
        optimum = finite_optimum(benchmark, metric)
    records = _load_records(history, resume)
    if len(records) > budget:
        raise ValueError(f"{history} already holds {len(records)} queries, "
                         f"more than the budget {budget}.")
    archs = _decode(records, domain, history)
    _check_values(records, archs, benchmark, metric, report_metrics, history)
    values = [r.value for r in records]
    times = [r.time for r in records]
    extra = {m: [r.extra.get(m, float("nan")) for r in records] for m in report_metrics}
    reached = optimum is not None and any(v >= optimum - OPTIMUM_TOL for v in values)
    if len(archs) < budget and not (stop_at_optimum and reached):  # else: finished, no replay
        algo.setup(domain, seed, budget, device=device, verbose=verbose)
        algo.replay(list(zip(archs, values, strict=True)))
        if records:
            logger.info("resumed %s seed %d at query %d of %d", algo.name, seed, len(records),
                        budget)
    writer = HistoryWriter(history) if history is not None else None
    offset, t0 = (times[-1] if times else 0.0), time.perf_counter()
    try:
        while len(archs) < budget and not (stop_at_optimum and reached):
            arch = algo.propose()
            value = float(benchmark.query(arch, metric))
            ext = {m: float(benchmark.query(arch, m)) for m in report_metrics}
            t = offset + time.perf_counter() - t0
            error = None if math.isfinite(value) else f"non-finite value {value!r}"
            if error is not None:  # a failed evaluation: recorded, never best, never a label
                logger.warning("%s seed %d: query %d (%s) failed: %s", algo.name, seed,
                               len(archs), space.to_string(arch), error)
                value = float("nan")
            if writer is not None:
                writer.append(Record(len(archs), space.to_string(arch), value, round(t, 4), ext,
                                     failed=error is not None, error=error))
            algo.observe(arch, value)
            archs.append(arch)
            values.append(value)
            times.append(t)
            for m in report_metrics:
                extra[m].append(ext[m])
            reached = reached or (optimum is not None and value >= optimum - OPTIMUM_TOL)
            if progress is not None:
                progress(1)
    finally:
        if writer is not None:
            writer.close()
    return SearchResult(algo.name, int(seed), archs, np.asarray(values, dtype=float),
                        np.asarray(times, dtype=float),
                        {m: np.asarray(v, dtype=float) for m, v in extra.items()}, optimum)


def finite_optimum(benchmark: Any, metric: str | None = None) -> float | None:
    """The largest finite value of ``metric`` in the table, ``None`` when it has none."""
    vals = np.asarray(benchmark.values(metric), dtype=float)
    finite = vals[np.isfinite(vals)]
    return float(finite.max()) if finite.size else None


def _algorithm(algorithm: SearchAlgorithm | str) -> SearchAlgorithm:
    if not isinstance(algorithm, str):
        return algorithm
    if algorithm not in ALGORITHMS:
        raise ValueError(f"Unknown search algorithm {algorithm!r}. "
                         f"Available: {', '.join(ALGORITHMS)}.")
    return ALGORITHMS[algorithm]()


def _load_records(history: str | Path | None, resume: bool) -> list[Record]:
    if history is None:
        return []
    records = read_history(history)
    if records and not resume:
        raise ValueError(f"{history} already holds {len(records)} queries; "
                         "resume it or use another path.")
    return records


def _decode(records: list[Record], domain: Domain, history: Any) -> list[Hashable]:
    archs = []
    for r in records:
        try:
            cell = domain.lookup(domain.space.from_string(r.arch))
        except ValueError as exc:
            raise ValueError(f"{history}: query {r.index} holds {r.arch!r}, not a cell of the "
                             f"{domain.space.name} space ({exc}).") from exc
        if cell is None:
            raise ValueError(f"{history}: query {r.index} holds {r.arch!r}, "
                             "which the benchmark lacks.")
        archs.append(cell)
    return archs


def _check_values(records: list[Record], archs: list[Hashable], benchmark: Any, metric: str,
                  report_metrics: Sequence[str], history: Any) -> None:
    """Raise unless every replayed value is the table's (an edited history, or another table,
    would otherwise be mixed in silently)."""
    for r, arch in zip(records, archs, strict=True):
        for name, got in [(metric, r.value), *((m, r.extra.get(m)) for m in report_metrics)]:
            want = float(benchmark.query(arch, name))
            same = (got is not None and (got == want
                                         or not (math.isfinite(got) or math.isfinite(want))))
            if not same:
                raise ValueError(
                    f"{history}: query {r.index} ({r.arch}) records {name} = {got!r} but the "
                    f"benchmark gives {want!r}; the history was edited or written with another "
                    "table. Delete the run's folder to start it again.")
