"""NAS-Bench-201 loaders: the embedded AnalogNAS-Bench table, CSV tables and the official files.

Sources (``load("nasbench201", path=...)``):

* ``path=None``: the table embedded in the ``analog-nasbench`` wheel (AnalogNAS-Bench,
  Benmeziane et al. 2025, https://github.com/IBM/analog-nas), its ``data.anb`` file read with a
  restricted unpickler (its package is never imported). It holds all 15,625 NAS-Bench-201 cells,
  trained on CIFAR-10 by the AnalogNAS-Bench authors: their own digital retrain, which ranks the
  cells almost as NAS-Bench-201 does but whose values (and optimum) are not NAS-Bench-201's
  official numbers. Metrics (accuracies in percent): ``test_accuracy`` (their digital baseline
  accuracy, the default), ``ptq_accuracy``, ``qat_accuracy``, ``noisy_accuracy``,
  ``analog_accuracy`` and the drift measurements ``baseline_drift_{60,3600,86400,2592000}`` /
  ``analog_drift_{...}`` (mean accuracy after that many seconds of conductance drift; their
  uncertainties are dropped).

  **Key mapping.** AnalogNAS-Bench does not document its keys; the mapping below is the one
  under which its accuracies rank the cells as NAS-Bench-201's CIFAR-10 table does (of every
  op vocabulary and edge order; ``tests/datasets/test_nasbench201.py`` checks the agreement).
  A key is a tuple of six op indices with ``0 skip_connect, 1 none, 2 nor_conv_3x3,
  3 nor_conv_1x1, 4 avg_pool_3x3``, for the edges in the order ``1<-0, 2<-0, 3<-0, 2<-1, 3<-1,
  3<-2`` (by source node), i.e. official edge ``j`` (order ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1,
  3<-2``) is key position ``_KEY_POSITION[j]``.
* a ``.csv`` file with an ``arch`` column of official strings and one numeric column per metric
  (default metric ``test_accuracy`` when present).
* an official NAS-Bench-201 ``.pth`` file or a NATS-Bench topology file / ``-simple`` directory:
  see :mod:`datasets._nb201_official`.
"""

from __future__ import annotations

import functools
import importlib.util
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from datasets._files import MiB, existing, read_csv
from datasets._safe_pickle import load_file
from datasets.base import Benchmark
from gnnpred.spaces import get_space

#: AnalogNAS-Bench op index -> NAS-Bench-201 op name.
ANALOG_OPS: tuple[str, ...] = (
    "skip_connect",
    "none",
    "nor_conv_3x3",
    "nor_conv_1x1",
    "avg_pool_3x3",
)
#: Official edge j (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2) -> position in an AnalogNAS-Bench key.
_KEY_POSITION: tuple[int, ...] = (0, 1, 3, 2, 4, 5)
_ANALOG_ACCURACIES = (
    "baseline_accuracy",
    "ptq_accuracy",
    "qat_accuracy",
    "noisy_accuracy",
    "analog_accuracy",
)
_DRIFT_TIMES = (60, 3600, 86400, 2592000)
#: ``Benchmark.source`` (shown in its repr) of the embedded table: not the official NB201 numbers.
EMBEDDED_SOURCE = (
    "embedded: AnalogNAS-Bench's digital retrain of the NB201 cells on CIFAR-10, "
    "not the official NB201 numbers"
)
#: Largest accepted files: ``data.anb`` is about 6 MB; a CSV of all 15,625 cells with dozens of
#: metric columns stays under 20 MB.
_ANALOG_MAX_BYTES = 64 * MiB
_CSV_MAX_BYTES = 256 * MiB
_ANALOG_DRIFTS = tuple(f"{kind}_drift_{t}" for kind in ("baseline", "analog") for t in _DRIFT_TIMES)
_CSV_ORIGIN = (
    "Give a CSV with an 'arch' column of official NAS-Bench-201 strings and one column per metric, "
    "or leave path=None to use the embedded AnalogNAS-Bench table."
)


class _AnalogRecord:
    """Local stand-in for ``analognasbench.data.Architecture`` / ``DriftMeasurement``."""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise ValueError("unexpected record state")
        self.__dict__.update(state)


_ANALOG_ALLOWED = {
    ("analognasbench.data", "Architecture"): _AnalogRecord,
    ("analognasbench.data", "DriftMeasurement"): _AnalogRecord,
}


def _analog_key(ops: tuple[str, ...]) -> tuple[int, ...]:
    """The AnalogNAS-Bench key of a cell given by its six ops in official edge order."""
    key = [0] * len(ops)
    for edge, op in enumerate(ops):
        key[_KEY_POSITION[edge]] = ANALOG_OPS.index(op)
    return tuple(key)


def analog_file() -> Path:
    """Location of AnalogNAS-Bench's ``data.anb`` in the installed wheel (not imported).

    Raises:
        FileNotFoundError: If the ``analog-nasbench`` package or its data file is missing.
    """
    spec = importlib.util.find_spec("analognasbench")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data.anb"
        if path.exists():
            return path
    raise FileNotFoundError(
        "The embedded NAS-Bench-201 table comes from the 'analog-nasbench' package (PyPI), whose "
        "data.anb file was not found; `pip install analog-nasbench`, or pass path= to a CSV / "
        "official NAS-Bench-201 file."
    )


def _number(value: Any, what: str, path: Path) -> float:
    if type(value) is float:  # the common case, checked first for speed
        return value
    if isinstance(value, _AnalogRecord):  # DriftMeasurement(value, uncertainty)
        value = getattr(value, "value", None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{path} is corrupt: {what} is {value!r}, not a number.")
    return float(value)


@functools.lru_cache(maxsize=2)
def _read_analog(path: Path) -> tuple[tuple, tuple, dict[str, np.ndarray]]:
    """Parse ``data.anb`` into ``(cells, keys, columns)`` (cached: the file is 5.6 MB)."""
    data = load_file(
        path,
        _ANALOG_ALLOWED,
        max_bytes=_ANALOG_MAX_BYTES,
        what="AnalogNAS-Bench data.anb file",
        compressed=False,
    )
    if not isinstance(data, dict) or not data:
        raise ValueError(
            f"{path} is corrupt: expected a dict of architectures, got {type(data).__name__}."
        )
    space = get_space("nasbench201")
    cell_of = {_analog_key(c.ops): c for c in space.enumerate()}  # every valid key -> its cell
    names = ("test_accuracy",) + _ANALOG_ACCURACIES[1:] + _ANALOG_DRIFTS
    table = np.empty((len(data), len(names)), dtype=np.float64)
    cells = []
    for row, (key, rec) in enumerate(data.items()):
        cell = cell_of.get(key) if isinstance(key, tuple) else None
        if cell is None:
            raise ValueError(f"{path} is corrupt: key {key!r} is not six op indices in 0..4.")
        if not isinstance(rec, _AnalogRecord):
            raise ValueError(f"{path} is corrupt: the entry of {key!r} is a {type(rec).__name__}.")
        cells.append(cell)
        for j, attr in enumerate(_ANALOG_ACCURACIES + _ANALOG_DRIFTS):
            table[row, j] = _number(getattr(rec, attr, None), f"{attr} of {key!r}", path)
    columns = {name: table[:, j].copy() for j, name in enumerate(names)}
    return tuple(cells), tuple(space.hash(c) for c in cells), columns


def load_nasbench201(
    path: str | PathLike | None = None,
    metric: str | None = None,
    *,
    dataset: str | None = None,
    epochs: int = 200,
    verbose: bool = True,
) -> Benchmark:
    """Load a NAS-Bench-201 table (see the module docstring for the sources).

    Args:
        path: ``None`` (embedded AnalogNAS-Bench CIFAR-10 table), a CSV file, an official
            ``NAS-Bench-201-v1_*.pth`` file, a NATS-Bench topology ``.pickle.pbz2`` file or its
            ``-simple`` directory.
        metric: Default metric; ``None`` picks ``test_accuracy``.
        dataset: For official files: ``"cifar10-valid"``, ``"cifar10"`` (default),
            ``"cifar100"`` or ``"ImageNet16-120"``. The embedded table is CIFAR-10 only; a
            CSV's rows are read as they are, and ``dataset`` (one of these names) labels them.
        epochs: For official files: 200 (default) or 12 (the short-schedule results). The
            embedded table and CSVs hold one schedule: only 200 is accepted for them.
        verbose: Progress bar while reading an official ``-simple`` directory.

    Returns:
        The benchmark.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is corrupt, or ``metric``/``dataset``/``epochs`` is unknown or
            does not apply to the source.
    """
    from datasets._nb201_official import DATASETS

    if dataset is not None and dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {list(DATASETS)}. Got {dataset!r} instead.")
    if epochs not in (200, 12) or isinstance(epochs, bool):
        raise ValueError(f"epochs must be 200 or 12. Got {epochs!r} instead.")
    official = path is not None and not str(path).lower().endswith(".csv")
    if epochs != 200 and not official:
        raise ValueError("epochs=12 needs an official NAS-Bench-201 / NATS-Bench file (path=); "
                         "the embedded table and CSV tables hold one training schedule.")
    space = get_space("nasbench201")
    if path is None:
        if dataset not in (None, "cifar10"):
            raise ValueError(
                "The embedded NAS-Bench-201 table (AnalogNAS-Bench) has CIFAR-10 only; got "
                f"dataset={dataset!r}. "
                "Pass path= to an official NAS-Bench-201 / NATS-Bench file for other datasets."
            )
        cells, keys, columns = _read_analog(analog_file())
        return Benchmark(
            "nasbench201",
            space,
            cells,
            columns,
            metric or "test_accuracy",
            keys=keys,
            dataset="cifar10",
            source=EMBEDDED_SOURCE,
        )
    path = existing(
        path,
        _CSV_ORIGIN + " Official files: https://github.com/D-X-Y/NAS-Bench-201 "
        "(NAS-Bench-201-v1_1-096897.pth) or https://github.com/D-X-Y/NATS-Bench "
        "(NATS-tss-v1_0-3ffb9-simple).",
    )
    if path.suffix.lower() == ".csv":
        return _load_csv(path, space, metric, dataset)
    from datasets._nb201_official import load_official

    return load_official(
        path, space, metric, dataset=dataset or "cifar10", epochs=epochs, verbose=verbose
    )


def _load_csv(path: Path, space: Any, metric: str | None, dataset: str | None) -> Benchmark:
    strings, columns = read_csv(path, "arch", _CSV_MAX_BYTES, "NAS-Bench-201 CSV table")
    cells = []
    for line, text in enumerate(strings, start=2):
        try:
            cells.append(space.from_string(text))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}, line {line}: bad 'arch' value: {exc}") from exc
    if metric is None and "test_accuracy" in columns:
        metric = "test_accuracy"
    return Benchmark("nasbench201", space, cells, columns, metric, dataset=dataset, source=path)
