"""The :class:`Benchmark` table: architectures of one search space -> measured metrics.

A benchmark is stored column-wise: one list of cells, one ``{space.hash(cell): row}`` index and
one float64 NumPy array per metric. Lookups are a hash plus a dict access, so search loops can
call :meth:`Benchmark.query` thousands of times cheaply.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np

from gnnpred.spaces.base import SearchSpace


class Benchmark:
    """A tabular NAS benchmark: every listed cell of ``space`` with one value per metric.

    Args:
        name: Registry name of the benchmark (e.g. ``"nasbench201"``).
        space: The search space the cells belong to.
        archs: The cells, one per row.
        columns: Metric name -> 1-D array aligned with ``archs`` (stored as float64; NaN marks a
            missing measurement and is kept, never replaced).
        metric: The default metric (used when a method gets ``metric=None``); by default the
            first column.
        keys: ``space.hash(arch)`` of every cell, when the file already provides them (saves
            recomputing); computed otherwise.
        dataset: The task the metrics were measured on (e.g. ``"cifar10"``, ``"cora"``).
        source: Where the table was read from (a path or a description), for messages.

    Raises:
        ValueError: If the columns are empty, of the wrong length, the default metric is not a
            column, or two rows share a key.
    """

    def __init__(
        self,
        name: str,
        space: SearchSpace,
        archs: Sequence[Any],
        columns: Mapping[str, Any],
        metric: str | None = None,
        *,
        keys: Sequence[Hashable] | None = None,
        dataset: str | None = None,
        source: str | PathLike | None = None,
    ) -> None:
        self.name = name
        self.space = space
        self.dataset = dataset
        self.source = None if source is None else str(source)
        self._archs = list(archs)
        n = len(self._archs)
        if not columns:
            raise ValueError(f"The {name} benchmark has no metric columns.")
        self._columns: dict[str, np.ndarray] = {}
        for col, values in columns.items():
            arr = np.asarray(values, dtype=np.float64).reshape(-1)
            if arr.shape[0] != n:
                raise ValueError(
                    f"Metric column {col!r} of the {name} benchmark has {arr.shape[0]} values for "
                    f"{n} cells."
                )
            arr.setflags(write=False)  # values() hands out the cached array itself
            self._columns[str(col)] = arr
        self.metrics: tuple[str, ...] = tuple(self._columns)
        self.metric = self._check_metric(self.metrics[0] if metric is None else metric)
        if keys is None:
            keys = [space.hash(a) for a in self._archs]
        elif len(keys) != n:
            raise ValueError(f"Got {len(keys)} keys for {n} cells in the {name} benchmark.")
        self._index: dict[Hashable, int] = {}
        for row, key in enumerate(keys):
            if key in self._index:
                raise ValueError(
                    f"Duplicate cell {key!r} in the {name} benchmark "
                    f"({self.source or 'in memory'}): "
                    f"rows {self._index[key]} and {row}. Each cell must appear once."
                )
            self._index[key] = row

    # ------------------------------------------------------------------------------- access
    def _check_metric(self, metric: str | None) -> str:
        if metric is None:
            return self.metric
        if metric not in self._columns:
            raise ValueError(
                f"Unknown metric {metric!r} for the {self.name} benchmark. Available: "
                f"{list(self.metrics)}."
            )
        return metric

    def _row(self, arch: Any) -> int:
        row = self._index.get(self.space.hash(arch))
        if row is None:
            raise KeyError(
                f"Cell {self._describe(arch)} is not in the {self.name} benchmark ({len(self)} "
                "cells)."
            )
        return row

    def _describe(self, arch: Any) -> str:
        try:
            return repr(self.space.to_string(arch))
        except (TypeError, ValueError):
            return repr(arch)

    def query(self, arch: Any, metric: str | None = None) -> float:
        """The measured value of ``arch``.

        Args:
            arch: A cell of :attr:`space`; cells sharing a key (e.g. isomorphic NB101 graphs) give
                the same value.
            metric: Metric name; ``None`` uses :attr:`metric`.

        Returns:
            The value as a Python float (NaN if the benchmark has no measurement).

        Raises:
            KeyError: If the cell is not in the table (the message names it).
            ValueError: If the metric is unknown (or ``arch`` is an invalid cell).
            TypeError: If ``arch`` is not a cell of :attr:`space`.
        """
        col = self._columns[self._check_metric(metric)]
        return float(col[self._row(arch)])

    def query_many(self, archs: Sequence[Any], metric: str | None = None) -> np.ndarray:
        """Vectorised :meth:`query`: values of ``archs`` as a float64 array.

        Raises:
            KeyError: Naming the first cell that is not in the table.
            ValueError: If the metric is unknown.
        """
        col = self._columns[self._check_metric(metric)]
        rows = np.fromiter((self._row(a) for a in archs), dtype=np.int64)
        return col[rows]

    def __contains__(self, arch: Any) -> bool:
        try:
            return self.space.hash(arch) in self._index
        except (TypeError, ValueError):
            return False

    def __len__(self) -> int:
        return len(self._archs)

    def __iter__(self) -> Iterator[tuple[Any, float]]:
        """``(arch, value)`` pairs of the default metric, in table order."""
        return zip(self._archs, self._columns[self.metric].tolist(), strict=True)

    def archs(self) -> list[Any]:
        """All cells, in table order (a new list; the cells themselves are immutable)."""
        return list(self._archs)

    def values(self, metric: str | None = None) -> np.ndarray:
        """Values of one metric aligned with :meth:`archs` (a cached, read-only float64 array).

        Raises:
            ValueError: If the metric is unknown.
        """
        return self._columns[self._check_metric(metric)]

    def best(self, metric: str | None = None, *, minimize: bool = False) -> tuple[Any, float]:
        """The best cell and its value: the maximum (accuracies), or the minimum with ``minimize``
        (e.g. latency). NaN and infinite entries (failed evaluations) are ignored; ties go to the
        first row in table order.

        Raises:
            ValueError: If the metric is unknown or has no finite value.
        """
        metric = self._check_metric(metric)
        col = self._columns[metric]
        col = np.where(np.isfinite(col), col, np.nan)
        if np.isnan(col).all():
            raise ValueError(f"Metric {metric!r} of the {self.name} benchmark has no finite value.")
        row = int(np.nanargmin(col) if minimize else np.nanargmax(col))
        return self._archs[row], float(col[row])

    @property
    def optimum(self) -> float:
        """The best (maximum) value of the default metric."""
        return self.best()[1]

    def with_metric(self, metric: str) -> Benchmark:
        """A shallow copy sharing the data whose default metric is ``metric``.

        Raises:
            ValueError: If the metric is unknown.
        """
        metric = self._check_metric(metric)
        out = object.__new__(Benchmark)
        out.__dict__.update(self.__dict__)
        out.metric = metric
        return out

    def __repr__(self) -> str:
        data = f", dataset={self.dataset!r}" if self.dataset else ""
        source = f", source={self.source!r}" if self.source else ""
        return (
            f"Benchmark(name={self.name!r}{data}, size={len(self)}, metric={self.metric!r}{source})"
        )
