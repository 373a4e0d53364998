"""Arguments of one-shot search in ``python -m search.run``, checked into a config.

``--algorithm entrannas`` or ``--algorithm darts`` (or both, comma-separated) runs a one-shot
search (:mod:`search.oneshot`) instead of a table search: ``--benchmark nasbench201`` searches the
NAS-Bench-201 cell and looks the derived cell up in the table (the embedded one unless
``--path``); ``--benchmark darts`` searches the DARTS space, which has no table. As for table
searches, every value is checked, the data module built once and the table loaded before the
output folder is touched, so bad input leaves nothing behind. Importing this module imports
neither torch nor the benchmark loaders (``--help`` answers at once).
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from search.cli_config import UsageError, json_object, parse_params, parse_seeds, positive_int

#: One-shot algorithms (``gnnpred.supernets``).
ONESHOT_ALGORITHMS = ("entrannas", "darts")
#: Spaces with a super-net; only NAS-Bench-201 has a table to look the derived cell up in.
ONESHOT_BENCHMARKS = ("nasbench201", "darts")
#: Hyper-parameters ``--params`` may set for a one-shot algorithm (keywords of
#: :func:`gnnpred.supernets.oneshot_search`; all positive floats).
ONESHOT_PARAMS = ("lr", "arch_lr", "temperature", "final_temperature")
#: Table-search options that mean nothing to a one-shot search (refused when given).
_TABLE_ONLY = {"budget": "--budget", "zc_warmup": "--zc-warmup", "dataset": "--dataset",
               "stop_at_optimum": "--stop-at-optimum", "report_metric": "--report-metric",
               "evaluator": "--evaluator", "network_args": "--network-args",
               "workers": "--workers", "ray_address": "--ray-address",
               "gpus_per_eval": "--gpus-per-eval"}


def add_oneshot_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the one-shot options to the ``search.run`` parser (one argument group).

    ``--epochs``, ``--data`` and ``--data-args`` are shared with ``--evaluator train``
    (:mod:`search.cli_train`): a one-shot search reads them as its search epochs and the data
    module of its super-net.
    """
    g = parser.add_argument_group(
        "one-shot search (--algorithm entrannas and/or darts; --benchmark nasbench201 or darts;"
        " --epochs, --data and --data-args as for --evaluator train)")
    g.add_argument("--channels", default=None,
                   help="super-net width of the first stage (default 16)")
    g.add_argument("--cells", default=None,
                   help="nasbench201: cells per stage (default 5); darts: cells (default 8)")
    g.add_argument("--steps-per-epoch", default=None,
                   help="training batches per epoch (default: the whole training split)")
    g.add_argument("--topology", action="store_true",
                   help="darts space: EnTranNAS-DST topology search (any number of inputs "
                        "per node)")


def is_oneshot(algorithm: str) -> bool:
    """Whether ``--algorithm`` names one-shot algorithms (all of them) or table searches (none).

    Raises:
        UsageError: If it mixes the two kinds.
    """
    names = [a.strip() for a in str(algorithm).split(",") if a.strip()]
    one = [a for a in names if a in ONESHOT_ALGORITHMS]
    if one and len(one) != len(names):
        other = ", ".join(a for a in names if a not in ONESHOT_ALGORITHMS)
        raise UsageError(f"--algorithm mixes one-shot ({', '.join(one)}) and table searches "
                         f"({other}); run them in separate commands.")
    return bool(one)


def make_oneshot_config(args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    """Check the arguments of a one-shot search and load its table (NB201).

    Returns:
        The JSON config stored in ``config.json`` (with the table's fingerprint, ``None`` on the
        DARTS space) and the loaded benchmark (``None`` on the DARTS space).

    Raises:
        UsageError: On a bad value, an option that does not apply, a data module that cannot be
            built, or a table that cannot be loaded.
    """
    from search.cli_config import build_parser, load_benchmark
    from search.folder import fingerprint
    from search.history import FINGERPRINT_KEY

    parser = build_parser()
    given = [flag for dest, flag in _TABLE_ONLY.items()
             if getattr(args, dest, None) != parser.get_default(dest)]
    if given:
        raise UsageError(f"{', '.join(given)} does not apply to one-shot search "
                         f"(--algorithm {args.algorithm}); use --epochs.")
    benchmark = _benchmark(args.benchmark)
    algos = list(dict.fromkeys(a.strip() for a in args.algorithm.split(",") if a.strip()))
    cells = _int(args.cells, "--cells")
    config: dict[str, Any] = {
        "mode": "oneshot", "benchmark": benchmark, "path": _path(args.path, benchmark),
        "metric": args.metric, "algorithms": algos, "seeds": parse_seeds(args.seeds),
        "epochs": _int(args.epochs, "--epochs"),
        "channels": _int(args.channels, "--channels"), "cells": cells,
        "steps_per_epoch": _int(args.steps_per_epoch, "--steps-per-epoch"),
        "topology": bool(args.topology), "data": args.data or "digits",
        "data_args": json_object("--data-args", args.data_args), "device": args.device,
    }
    if config["topology"] and benchmark != "darts":
        raise UsageError("--topology applies to --benchmark darts only (EnTranNAS-DST).")
    if config["topology"] and "darts" in algos:
        raise UsageError("--topology is EnTranNAS-DST; --algorithm darts keeps two inputs per "
                         "node. Run darts without --topology.")
    if benchmark == "darts" and args.metric is not None:
        raise UsageError("--metric needs a table; --benchmark darts has none.")
    params = parse_params(args.params, algos)
    for algo, kw in params.items():
        for name, value in kw.items():
            if name not in ONESHOT_PARAMS:
                raise UsageError(f"--params: {algo} has no hyper-parameter {name!r}; it takes "
                                 f"{', '.join(ONESHOT_PARAMS)}.")
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise UsageError(f"--params: {algo}: {name} must be a positive number. "
                                 f"Got {value!r}.")
    if params:
        config["params"] = params
    from gnnpred._common import resolve_device

    try:
        resolve_device(args.device)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    _check_supernet(config)
    _check_data(config)
    bench = None
    if benchmark == "nasbench201":
        bench, _ = load_benchmark({**config, "dataset": None, "report_metrics": []})
        config[FINGERPRINT_KEY] = fingerprint(bench, config["path"])
    else:
        config[FINGERPRINT_KEY] = None
    return config, bench


def _benchmark(name: str) -> str:
    from gnnpred.spaces.base import resolve_name

    try:
        canon = resolve_name(name)
    except ValueError as exc:
        raise UsageError(f"unknown --benchmark {name!r}: {exc}") from None
    if canon not in ONESHOT_BENCHMARKS:
        raise UsageError(f"one-shot search runs on --benchmark {' or '.join(ONESHOT_BENCHMARKS)}"
                         f" (the spaces with a super-net). Got {name!r}.")
    return canon


def _path(path: str | None, benchmark: str) -> str | None:
    if path is None:
        return None
    if benchmark == "darts":
        raise UsageError("--path is a benchmark table; --benchmark darts has none.")
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"--path {path} does not exist.")
    return str(p.resolve())


def _int(text: str | None, flag: str) -> int | None:
    return None if text is None else positive_int(flag, text)


def data_factory(data: str, data_args: dict[str, Any]) -> Callable[[int], Any]:
    """``seed -> data module`` for ``--data`` and ``--data-args`` (names as for
    ``--evaluator train``: :func:`search.cli_train.data_class`).

    The seed of the search becomes the data module's ``seed`` (its split and shuffling) unless
    ``--data-args`` sets one or the class takes none.

    Raises:
        UsageError: If the name is unknown or the module cannot be imported.
    """
    from search.cli_train import data_class

    cls = data_class(data)
    try:
        takes_seed = "seed" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        takes_seed = False

    def build(seed: int) -> Any:
        kw = dict(data_args)
        if takes_seed:
            kw.setdefault("seed", seed)
        return cls(**kw)

    return build


def _check_supernet(config: dict[str, Any]) -> None:
    """Build each algorithm's super-net once at width 1, so that an invalid shape (``--cells 2``
    on the DARTS space has no reduction cell) stops here, before anything is written."""
    from gnnpred.supernets import build_supernet

    for algo in config["algorithms"]:
        try:
            build_supernet(config["benchmark"], algo, channels=1, cells=config["cells"],
                           topology=config["topology"])
        except ValueError as exc:
            cells = "the default" if config["cells"] is None else config["cells"]
            raise UsageError(f"--cells {cells} does not make a {config['benchmark']} super-net "
                             f"for {algo}: {' '.join(str(exc).split())}") from None


def _check_data(config: dict[str, Any]) -> None:
    """Build the data module of the first seed once, so a bad argument stops here."""
    factory = data_factory(config["data"], config["data_args"])
    try:
        module = factory(config["seeds"][0])
    except Exception as exc:  # noqa: BLE001 - any failure of user code is reported the same way
        raise UsageError(f"--data {config['data']}: cannot build the data module "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())}).") from None
    missing = [m for m in ("train_dataloader", "val_dataloader", "network_kwargs")
               if not callable(getattr(module, m, None))]
    if missing:
        raise UsageError(f"--data {config['data']}: {type(module).__name__} is not an image data "
                         f"module of gnnpred.training (it lacks {', '.join(missing)}).")
