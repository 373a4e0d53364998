"""NAS-Bench-101 loaders: the official TFRecord files, hash-keyed CSVs and graph JSON files.

Paper: Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search", ICML 2019
(https://arxiv.org/abs/1902.09635). Data: https://github.com/google-research/nasbench.

Sources (``load("nasbench101", path=...)``):

* ``nasbench_only108.tfrecord`` / ``nasbench_full.tfrecord``, read without TensorFlow
  (:mod:`datasets._tfrecord`, :mod:`datasets._protobuf`). Each record is the JSON list
  ``[module_hash, epochs, adjacency digits, comma-separated ops, base64 ModelMetrics]``, one per
  training run (3 repeats per cell and epoch budget). For every budget ``E`` in the file
  (4/12/36/108) the metrics ``train_accuracy_E``, ``valid_accuracy_E``, ``test_accuracy_E`` and
  ``training_time_E`` are the final evaluation of each run, averaged over the repeats;
  ``trainable_parameters`` is per cell. Accuracies are fractions. Keys are the file's hashes.
* a ``.csv`` with a ``hash`` column (official module hashes) and metric columns (e.g.
  ``valid_accuracy_108``); cells come from the space's cached enumeration (built once, about a
  minute, on first use).
* a ``.json`` list of ``{"hash", "matrix", "ops", <metric>: value, ...}``; cells are built from
  ``matrix``/``ops`` (no enumeration needed) and must reproduce their hash.

The default metric is ``valid_accuracy_108`` when present.
"""

from __future__ import annotations

import base64
import binascii
import json
from array import array
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from datasets._files import GiB, check_size, existing, read_csv, read_text
from datasets._protobuf import DecodeError, decode_model_metrics
from datasets._tfrecord import read_records
from datasets.base import Benchmark
from gnnpred.spaces import get_space

_ORIGIN = (
    "The official NAS-Bench-101 files are "
    "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord "
    "and nasbench_full.tfrecord (see https://github.com/google-research/nasbench); a CSV keyed by "
    "'hash' or a JSON list of {hash, matrix, ops, ...} works too."
)
#: Largest accepted files: nasbench_full.tfrecord is about 2 GB; a CSV or JSON table of all
#: 423,624 cells with every metric stays well under 1 GB.
_TFRECORD_MAX_BYTES = 4 * GiB
_TABLE_MAX_BYTES = 1 * GiB
#: Per-run final-evaluation fields -> metric name prefix.
_RUN_METRICS = (
    ("train_accuracy", "train_accuracy"),
    ("validation_accuracy", "valid_accuracy"),
    ("test_accuracy", "test_accuracy"),
    ("training_time", "training_time"),
)


def load_nasbench101(
    path: str | PathLike | None = None,
    metric: str | None = None,
    *,
    dataset: str | None = None,
    verify_crc: bool = True,
    verbose: bool = True,
    cache_dir: str | PathLike | None = None,
) -> Benchmark:
    """Load a NAS-Bench-101 table (see the module docstring for the formats).

    Args:
        path: ``.tfrecord``, ``.csv`` or ``.json`` file (required: NAS-Bench-101 is not embedded).
        metric: Default metric; ``None`` picks ``valid_accuracy_108`` (or the first column).
        dataset: ``None`` or ``"cifar10"`` (NAS-Bench-101 has CIFAR-10 only; accepted so that
            callers can pass a dataset to every loader).
        verify_crc: For TFRecords, check every record's data CRC.
        verbose: Progress bars on long reads.
        cache_dir: Where the NB101 space keeps its enumeration cache (CSV tables only).

    Returns:
        The benchmark.

    Raises:
        FileNotFoundError: If ``path`` is ``None`` or does not exist.
        ValueError: If the file is corrupt or the metric unknown.
    """
    if dataset not in (None, "cifar10"):
        raise ValueError(f"NAS-Bench-101 has CIFAR-10 results only; got dataset={dataset!r}.")
    if path is None:
        raise FileNotFoundError(f"NAS-Bench-101 is not bundled; pass path=. {_ORIGIN}")
    path = existing(path, _ORIGIN)
    space = get_space("nasbench101", cache_dir=cache_dir)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        cells, keys, columns = _read_csv(path, space)
    elif suffix == ".json":
        cells, keys, columns = _read_json(path, space)
    else:
        cells, keys, columns = _read_tfrecord(path, space, verify_crc, verbose)
    if metric is None:
        metric = "valid_accuracy_108" if "valid_accuracy_108" in columns else None
    return Benchmark(
        "nasbench101", space, cells, columns, metric, keys=keys, dataset="cifar10", source=path
    )


def _read_csv(path: Path, space: Any) -> tuple[list, list, dict]:
    hashes, columns = read_csv(path, "hash", _TABLE_MAX_BYTES, "NAS-Bench-101 CSV table")
    try:
        cells = space.cells_for_hashes(hashes, missing="none")
    except ValueError as exc:
        raise ValueError(f"{path}: bad 'hash' column: {exc}") from exc
    missing = [h for h, c in zip(hashes, cells, strict=True) if c is None]
    if missing:
        raise ValueError(
            f"{path}: {len(missing)} hash(es) match no NAS-Bench-101 cell, e.g. {missing[:3]}; "
            "the file is corrupt or not keyed by official module hashes."
        )
    return cells, hashes, columns


def _read_json(path: Path, space: Any) -> tuple[list, list, dict]:
    text = read_text(path, _TABLE_MAX_BYTES, "NAS-Bench-101 JSON table")
    try:
        rows = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise ValueError(
            f"{path}: expected a non-empty JSON list of objects with hash, matrix and ops."
        )
    names = [k for k in rows[0] if k not in ("hash", "matrix", "ops")]
    if not names:
        raise ValueError(f"{path}: the objects have no metric fields besides hash, matrix and ops.")
    cells, keys = [], []
    table = np.empty((len(rows), len(names)), dtype=np.float64)
    for i, row in enumerate(rows):
        try:
            cell = space.make(matrix=row["matrix"], ops=row["ops"])
            table[i] = [np.nan if row[k] is None else float(row[k]) for k in names]
        except KeyError as exc:
            raise ValueError(f"{path}: entry {i} lacks the field {exc}.") from exc
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: entry {i} is invalid: {exc}") from exc
        key = space.hash(cell)
        if str(row.get("hash", "")).lower() != key:
            raise ValueError(
                f"{path}: entry {i} says hash {row.get('hash')!r} but its cell hashes to {key!r}."
            )
        cells.append(cell)
        keys.append(key)
    return cells, keys, {k: table[:, j].copy() for j, k in enumerate(names)}


def _parse_record(raw: bytes) -> tuple[str, int, str, str, dict]:
    module_hash, epochs, adjacency, operations, metrics = json.loads(raw)
    if not isinstance(module_hash, str) or not isinstance(epochs, int):
        raise ValueError(f"hash {module_hash!r} / epochs {epochs!r} have the wrong type")
    if (
        not isinstance(adjacency, str)
        or not isinstance(operations, str)
        or not isinstance(metrics, str)
    ):
        raise ValueError("adjacency, operations and metrics must be strings")
    return (
        module_hash,
        epochs,
        adjacency,
        operations,
        decode_model_metrics(base64.b64decode(metrics, validate=True)),
    )


def _cell(space: Any, adjacency: str, operations: str, interned: dict) -> Any:
    matrix = interned.get(adjacency)
    if matrix is None:
        dim = int(round(len(adjacency) ** 0.5))
        if dim * dim != len(adjacency) or set(adjacency) - {"0", "1"}:
            raise ValueError(f"adjacency {adjacency!r} is not a square 0/1 matrix")
        matrix = interned[adjacency] = tuple(
            tuple(int(c) for c in adjacency[i * dim : (i + 1) * dim]) for i in range(dim)
        )
    ops = interned.get(operations)
    if ops is None:
        ops = interned[operations] = tuple(operations.split(","))
    # The official files store pruned cells: validating one as it is costs far less than
    # make(), which checks and prunes the spec from scratch; make() runs only for a cell that
    # fails validation.
    cell = space.arch_type(matrix, ops)
    if space.is_valid(cell):
        return cell
    return space.make(matrix=matrix, ops=ops)


def _read_tfrecord(
    path: Path, space: Any, verify_crc: bool, verbose: bool
) -> tuple[list, list, dict]:
    row_of: dict[str, int] = {}
    interned: dict[str, tuple] = {}  # many cells share a matrix or an op list: keep one copy
    cells, params = [], []
    run_row, run_epochs = array("q"), array("q")
    run_values = array("d")  # 4 values per run, in _RUN_METRICS order
    check_size(path, _TFRECORD_MAX_BYTES, "NAS-Bench-101 TFRecord file")
    records = read_records(path, verify_crc=verify_crc)
    for i, raw in enumerate(
        tqdm(records, desc="NAS-Bench-101 records", unit="rec", disable=not verbose)
    ):
        try:
            module_hash, epochs, adjacency, operations, metrics = _parse_record(raw)
            row = row_of.get(module_hash)
            if row is None:
                row = row_of[module_hash] = len(cells)
                cells.append(_cell(space, adjacency, operations, interned))
                p = metrics["trainable_parameters"]
                params.append(np.nan if p is None else float(p))
            final = metrics["evaluation_data"][-1] if metrics["evaluation_data"] else {}
        except (
            UnicodeDecodeError,
            json.JSONDecodeError,
            binascii.Error,
            DecodeError,
            TypeError,
            ValueError,
        ) as exc:
            raise ValueError(
                f"{path}: record {i} is not a valid NAS-Bench-101 record: {exc}"
            ) from exc
        run_row.append(row)
        run_epochs.append(epochs)
        run_values.extend(final.get(field, np.nan) for field, _ in _RUN_METRICS)
    if not cells:
        raise ValueError(f"{path} holds no records.")
    rows = np.frombuffer(run_row, dtype=np.int64)
    epochs = np.frombuffer(run_epochs, dtype=np.int64)
    values = np.frombuffer(run_values, dtype=np.float64).reshape(-1, len(_RUN_METRICS))
    columns: dict[str, np.ndarray] = {}
    for budget in sorted(set(epochs.tolist())):
        sel = epochs == budget
        counts = np.bincount(rows[sel], minlength=len(cells)).astype(np.float64)
        for j, (_, name) in enumerate(_RUN_METRICS):
            sums = np.bincount(rows[sel], weights=values[sel, j], minlength=len(cells))
            with np.errstate(invalid="ignore", divide="ignore"):
                columns[f"{name}_{budget}"] = sums / counts  # NaN where a cell has no run
    columns["trainable_parameters"] = np.asarray(params)
    return cells, list(row_of), columns
