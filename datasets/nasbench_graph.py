"""NAS-Bench-Graph loader: the tables embedded in the ``nas-bench-graph`` wheel.

Paper: Qin et al., "NAS-Bench-Graph: Benchmarking Graph Neural Architecture Search", NeurIPS 2022
Datasets and Benchmarks (https://arxiv.org/abs/2206.09166).

The wheel ships ``nas_bench_graph/light/<dataset>.bench``: a pickle of ``{int key: {'valid_perf',
'perf', 'latency', 'para'}}`` (values partly NumPy scalars). It is read with a restricted
unpickler that only rebuilds numeric NumPy scalars; the package itself is never imported. Cells
are the space's enumeration (``space.enumerate()``) joined by ``int(space.hash(cell))``.

Metrics: ``valid_perf`` (validation accuracy, the default; ROC-AUC on proteins), ``perf`` (test),
``latency`` (seconds per inference) and ``para`` (parameters, millions).
"""

from __future__ import annotations

import functools
import importlib.util
from os import PathLike
from pathlib import Path

import numpy as np

from datasets._files import MiB, existing
from datasets._safe_pickle import NUMPY_SCALARS, load_file
from datasets.base import Benchmark
from gnnpred.spaces import get_space

#: Datasets of NAS-Bench-Graph (the file names under ``light/``).
DATASETS: tuple[str, ...] = (
    "cora",
    "citeseer",
    "pubmed",
    "cs",
    "physics",
    "photo",
    "computers",
    "arxiv",
    "proteins",
)
METRICS: tuple[str, ...] = ("valid_perf", "perf", "latency", "para")
#: Largest accepted ``.bench`` file: the package's files are about 2 MB.
MAX_BYTES = 64 * MiB
_ORIGIN = (
    "NAS-Bench-Graph's tables ship in the 'nas-bench-graph' package (PyPI: `pip install "
    "nas-bench-graph`, https://github.com/THUMNLab/NAS-Bench-Graph) as light/<dataset>.bench."
)


def bench_file(dataset: str) -> Path:
    """Location of ``light/<dataset>.bench`` in the installed wheel (not imported).

    Raises:
        ValueError: If ``dataset`` is unknown.
        FileNotFoundError: If the package or the file is missing.
    """
    if dataset not in DATASETS:
        raise ValueError(
            f"Unknown NAS-Bench-Graph dataset {dataset!r}. Available: {list(DATASETS)}."
        )
    spec = importlib.util.find_spec("nas_bench_graph")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "light" / f"{dataset}.bench"
        if path.exists():
            return path
    raise FileNotFoundError(f"light/{dataset}.bench was not found. {_ORIGIN}")


@functools.lru_cache(maxsize=4)
def _read(path: Path, op_set: str) -> tuple[tuple, tuple, dict[str, np.ndarray]]:
    """``(cells, keys, columns)`` of one ``.bench`` file, in enumeration order (cached)."""
    data = load_file(
        path,
        NUMPY_SCALARS,
        max_bytes=MAX_BYTES,
        what="NAS-Bench-Graph .bench file",
        compressed=False,
    )
    if not isinstance(data, dict) or not data:
        raise ValueError(
            f"{path} is corrupt: expected a non-empty dict of cells, got {type(data).__name__}."
        )
    space = get_space("nasbench-graph", op_set=op_set)
    cells, keys, rows = [], [], []
    for cell in space.enumerate():
        key = space.hash(cell)  # the file's int key, as a str
        entry = data.get(int(key))
        if entry is None:
            continue
        if not isinstance(entry, dict) or not all(m in entry for m in METRICS):
            raise ValueError(
                f"{path} is corrupt: the entry of key {key} lacks some of {list(METRICS)}: "
                f"{entry!r}."
            )
        try:
            rows.append([float(entry[m]) for m in METRICS])
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{path} is corrupt: a metric of key {key} is not a number ({exc})."
            ) from exc
        cells.append(cell)
        keys.append(key)
    if len(keys) != len(data):
        stray = sorted(set(data) - {int(k) for k in keys}, key=repr)[:5]
        raise ValueError(
            f"{path} has {len(data) - len(keys)} entries that match no cell of the {op_set!r} "
            f"NAS-Bench-Graph space (e.g. keys {stray}); the file is corrupt or of another version."
        )
    table = np.asarray(rows, dtype=np.float64)
    return tuple(cells), tuple(keys), {m: table[:, j].copy() for j, m in enumerate(METRICS)}


def load_nasbench_graph(
    path: str | PathLike | None = None,
    metric: str | None = None,
    *,
    dataset: str = "cora",
) -> Benchmark:
    """Load a NAS-Bench-Graph table.

    Args:
        path: ``None`` to use the installed wheel's ``light/<dataset>.bench``, or a ``.bench``
            file of the same format (``dataset`` then only selects the op set and label).
        metric: Default metric, one of :data:`METRICS`; ``None`` picks ``valid_perf``.
        dataset: One of :data:`DATASETS` (``"proteins"`` uses the 5-op space).

    Returns:
        The benchmark (26,206 cells; 2,021 on proteins).

    Raises:
        ValueError: If the dataset or metric is unknown or the file is corrupt.
        FileNotFoundError: If the file is missing.
    """
    if dataset not in DATASETS:
        raise ValueError(
            f"Unknown NAS-Bench-Graph dataset {dataset!r}. Available: {list(DATASETS)}."
        )
    source = bench_file(dataset) if path is None else existing(path, _ORIGIN)
    op_set = "proteins" if dataset == "proteins" else "full"
    cells, keys, columns = _read(Path(source).absolute(), op_set)
    space = get_space("nasbench-graph", op_set=op_set)
    return Benchmark(
        "nasbench-graph",
        space,
        cells,
        columns,
        metric or "valid_perf",
        keys=keys,
        dataset=dataset,
        source=source,
    )
