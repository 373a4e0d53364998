"""Readers for the official NAS-Bench-201 / NATS-Bench (topology) files.

Layouts (from the official ``nas_201_api`` / ``nats_bench`` code):

* ``NAS-Bench-201-v1_0-e61699.pth`` / ``-v1_1-096897.pth``: ``torch.save`` of
  ``{"meta_archs": [arch string, ...], "arch2infos": {index: {"less": A, "full": A}}, ...}``
  ("full" = 200 epochs, "less" = 12 epochs); read with ``torch.load(weights_only=True)``.
* ``NATS-tss-v1_0-3ffb9.pickle.pbz2``: the same dict bz2-pickled, with hyper-parameter keys
  ``"12"`` / ``"200"`` instead of "less" / "full".
* ``NATS-tss-v1_0-3ffb9-simple/``: ``meta.pickle.pbz2`` (``{"meta_archs": [...], ...}``) and one
  ``{index:06d}.pickle.pbz2`` per architecture holding ``{"12": A, "200": A}``.

``A`` is an ``ArchResults`` state dict: ``{"dataset_seed": {dataset: [seed, ...]},
"all_results": {(dataset, seed): R}, ...}`` and ``R`` a ``ResultsCount`` state dict with
``epochs``, ``train_acc1es`` (``{epoch: acc}``), ``eval_acc1es`` (``{"<set>@<epoch>": acc}``),
``params``, ``flop`` and ``latency`` (a list of seconds). Pickles are read with the restricted
unpickler (plain containers, ``OrderedDict``, numeric NumPy scalars and arrays only).

Metrics (the last epoch, averaged over seeds; accuracies in percent), following the official
API's split conventions: ``valid_accuracy`` is ``x-valid`` (for ``cifar10`` that of the
``cifar10-valid`` run, as the official API remaps it), ``test_accuracy`` is ``ori-test`` for
``cifar10``/``cifar10-valid`` and ``x-test`` for ``cifar100``/``ImageNet16-120``;
``train_accuracy``, ``params`` (MB), ``flops`` (M) and ``latency`` (s). Missing values are NaN.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from datasets._files import GiB, MiB, check_size
from datasets._safe_pickle import NUMPY_ARRAYS, ORDERED_DICT, load_file
from datasets.base import Benchmark

logger = logging.getLogger(__name__)

DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
METRICS = ("test_accuracy", "valid_accuracy", "train_accuracy", "params", "flops", "latency")
_HP_KEYS = {200: ("200", "full"), 12: ("12", "less")}
_ALLOWED = {**ORDERED_DICT, **NUMPY_ARRAYS}
_EXT = ".pickle.pbz2"
#: Largest accepted files. NAS-Bench-201-v1_1-096897.pth is about 4.7 GB and the whole-benchmark
#: NATS-Bench pickle expands to a similar size; one architecture's file of a ``-simple``
#: directory, or its ``meta`` file, holds a few megabytes at most.
_PTH_MAX_BYTES = 8 * GiB
_ARCHIVE_MAX_BYTES = 8 * GiB
_ENTRY_MAX_BYTES = 64 * MiB


def _splits(dataset: str) -> dict[str, tuple[str, str]]:
    """Metric -> (results dataset, set name) following the official API."""
    if dataset == "cifar10-valid":
        return {
            "valid_accuracy": ("cifar10-valid", "x-valid"),
            "test_accuracy": ("cifar10-valid", "ori-test"),
            "train_accuracy": ("cifar10-valid", "train"),
        }
    if dataset == "cifar10":
        return {
            "valid_accuracy": ("cifar10-valid", "x-valid"),
            "test_accuracy": ("cifar10", "ori-test"),
            "train_accuracy": ("cifar10", "train"),
        }
    return {
        "valid_accuracy": (dataset, "x-valid"),
        "test_accuracy": (dataset, "x-test"),
        "train_accuracy": (dataset, "train"),
    }


def _final(result: dict, setname: str) -> float:
    last = int(result["epochs"]) - 1
    if setname == "train":
        accs = result.get("train_acc1es") or {}
        value = accs.get(last, accs.get(str(last)))
    else:
        value = (result.get("eval_acc1es") or {}).get(f"{setname}@{last}")
    return math.nan if value is None else float(value)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def _row(archres: dict, dataset: str) -> list[float]:
    """The metric values of one ``ArchResults`` state dict."""
    seeds, results = archres["dataset_seed"], archres["all_results"]
    out = {}
    for name, (ds, setname) in _splits(dataset).items():
        out[name] = _mean([_final(results[(ds, s)], setname) for s in seeds.get(ds, [])])
    runs = [results[(dataset, s)] for s in seeds.get(dataset, [])]
    out["params"] = _mean(
        [float(r["params"]) if r.get("params") is not None else math.nan for r in runs]
    )
    out["flops"] = _mean(
        [float(r["flop"]) if r.get("flop") is not None else math.nan for r in runs]
    )
    lat = [
        float(np.mean(r["latency"]))
        for r in runs
        if r.get("latency") is not None and np.size(r["latency"])
    ]
    out["latency"] = _mean([v for v in lat if v > 0])
    return [out[m] for m in METRICS]


def _pick_hp(infos: dict, epochs: int, label: str) -> dict:
    if not isinstance(infos, dict):
        raise TypeError(f"expected a dict of hyper-parameter settings, got {type(infos).__name__}")
    for key in _HP_KEYS[epochs]:
        if key in infos:
            return infos[key]
    raise ValueError(f"{label} has no {epochs}-epoch results (keys: {sorted(map(str, infos))}).")


def _numpy_globals() -> list:
    """NumPy scalar/array reconstruction, allowed in ``torch.load(weights_only=True)`` under
    their numpy 1.x and 2.x names (plain containers and tensors are allowed anyway)."""
    from numpy._core import multiarray

    dtypes = [
        type(np.dtype(t))
        for t in ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "?")
    ]
    return [
        multiarray.scalar,
        (multiarray.scalar, "numpy.core.multiarray.scalar"),
        multiarray._reconstruct,
        (multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        *dtypes,
    ]


def _read_pth(path: Path) -> dict:
    import torch

    check_size(path, _PTH_MAX_BYTES, "NAS-Bench-201 .pth file")
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure of torch.load: a corrupt or foreign file
        raise ValueError(
            f"{path} is corrupt or not a NAS-Bench-201 .pth file ({type(exc).__name__}: {exc})."
        ) from exc


def _archive_entries(folder: Path, verbose: bool) -> tuple[list[str], dict[int, dict]]:
    meta_file = folder / f"meta{_EXT}"
    if not meta_file.exists():
        raise FileNotFoundError(
            f"{meta_file} does not exist: {folder} is not a NATS-Bench '-simple' directory "
            "(get NATS-tss-v1_0-3ffb9-simple from https://github.com/D-X-Y/NATS-Bench)."
        )
    meta = load_file(meta_file, _ALLOWED, max_bytes=_ENTRY_MAX_BYTES, what="NATS-Bench meta file")
    if not isinstance(meta, dict) or not isinstance(meta.get("meta_archs"), list | tuple):
        raise ValueError(f"{meta_file} is corrupt: expected a dict with a 'meta_archs' list.")
    infos: dict[int, dict] = {}
    names = meta["meta_archs"]
    for idx in tqdm(range(len(names)), desc="NATS-Bench archs", disable=not verbose):
        for name in (f"{idx:06d}{_EXT}", f"{idx}{_EXT}"):
            if (folder / name).exists():
                infos[idx] = load_file(
                    folder / name, _ALLOWED, max_bytes=_ENTRY_MAX_BYTES, what="NATS-Bench entry"
                )
                break
    return list(names), infos


def load_official(
    path: Path, space: Any, metric: str | None, *, dataset: str, epochs: int, verbose: bool
) -> Benchmark:
    """Read an official NAS-Bench-201 / NATS-Bench topology file or ``-simple`` directory.

    Raises:
        ValueError: For an unknown dataset / epochs / format, or a corrupt file.
        FileNotFoundError: For a directory without ``meta.pickle.pbz2``.
    """
    if dataset not in DATASETS:
        raise ValueError(f"Unknown NAS-Bench-201 dataset {dataset!r}. Available: {list(DATASETS)}.")
    if epochs not in _HP_KEYS:
        raise ValueError(
            f"epochs must be 200 or 12 for NAS-Bench-201 files. Got {epochs!r} instead."
        )
    if path.is_dir():
        names, infos = _archive_entries(path, verbose)
    else:
        if path.suffix == ".pth":
            data = _read_pth(path)
        elif path.name.endswith((".pbz2", ".pickle")):
            data = load_file(
                path, _ALLOWED, max_bytes=_ARCHIVE_MAX_BYTES, what="NATS-Bench topology file"
            )
        else:
            raise ValueError(
                f"{path}: unsupported NAS-Bench-201 file; expected .csv, .pth, .pickle.pbz2 or a "
                "'-simple' directory."
            )
        if not isinstance(data, dict) or "meta_archs" not in data or "arch2infos" not in data:
            raise ValueError(
                f"{path} is corrupt: expected a dict with 'meta_archs' and 'arch2infos'."
            )
        names, infos = list(data["meta_archs"]), data["arch2infos"]
    cells, rows = [], []
    for idx, info in sorted(infos.items()):
        label = f"{path} (architecture {idx})"
        try:
            cell = space.from_string(names[idx])
        except (IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"{label}: no valid architecture string ({exc}).") from exc
        try:
            rows.append(_row(_pick_hp(info, epochs, label), dataset))
        except ValueError:
            raise
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"{label} is corrupt: missing or malformed entry ({type(exc).__name__}: {exc})."
            ) from exc
        cells.append(cell)
    if not cells:
        raise ValueError(f"{path} holds no evaluated architectures.")
    if len(cells) < len(names):
        logger.warning("%s: %d of %d architectures have results.", path, len(cells), len(names))
    table = np.asarray(rows, dtype=np.float64)
    columns = {m: table[:, j].copy() for j, m in enumerate(METRICS)}
    return Benchmark(
        "nasbench201",
        space,
        cells,
        columns,
        metric or "test_accuracy",
        dataset=dataset,
        source=path,
    )
