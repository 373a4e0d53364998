"""Options of ``python -m search.run`` for training evaluations and parallel execution.

``--evaluator train`` trains every proposed cell's network (``space.to_network``) on a data
module for ``--epochs`` epochs and searches on its validation accuracy; the benchmark table only
supplies the cells (the embedded NAS-Bench-201 table: all 15,625 cells). ``--data`` names a
built-in data module (``digits``, the default: scikit-learn's digits, no download; ``cifar10``:
a ``cifar-10-batches-py`` folder given as ``--data-args '{"root": ...}'``; ``planetoid``) or the
user's own as ``package.module:ClassName``, built with ``--data-args`` in the process that
trains.

``--workers N`` (N > 1) runs on Ray: with training, N evaluations of a search are in flight at
once (asynchronous search); with a table, N independent (algorithm, seed) runs go in parallel,
each exactly the sequential search. Without ``--ray-address`` gnnpred starts a Ray cluster of
this machine for the command, listening on 127.0.0.1 only; ``--ray-address`` joins an existing
cluster (many machines). How a command executes (workers, cluster, GPUs) is not part of
``config.json``: a run may be resumed with other settings.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import logging
import math
from typing import Any

from search.cli_config import UsageError, _one_line, json_object, positive_int

logger = logging.getLogger(__name__)

#: Built-in ``--data`` names and the data modules they stand for.
DATA_MODULES = {
    "digits": "gnnpred.training:DigitsDataModule",
    "cifar10": "gnnpred.training:CIFAR10DataModule",
    "planetoid": "gnnpred.training:PlanetoidFolderDataModule",
}
#: The metric a training evaluation returns (percent).
TRAIN_METRIC = "valid_accuracy"
#: The report metric of training evaluations (never used for decisions).
TRAIN_REPORT = ("test_accuracy",)
#: The evaluation cache of an output folder (shared by its runs).
CACHE_NAME = "eval_cache.jsonl"
#: ``--epochs`` when not given (a string, as argparse stores it).
DEFAULT_EPOCHS = "5"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the evaluator and execution options to the parser of ``search.run``."""
    p.add_argument("--evaluator", default="table",
                   help="table (look values up in --benchmark) or train (train each cell's "
                        "network on --data; --benchmark then only supplies the cells)")
    p.add_argument("--data", default=None,
                   help=f"data of --evaluator train: {', '.join(DATA_MODULES)} (default digits) "
                        "or package.module:ClassName (a LightningDataModule)")
    p.add_argument("--data-args", default=None,
                   help="keyword arguments of the data module as a JSON object, e.g. "
                        "'{\"root\": \"data/cifar-10-batches-py\"}'")
    p.add_argument("--network-args", default=None,
                   help="keyword arguments of space.to_network as a JSON object, e.g. "
                        "'{\"channels\": 8}'")
    p.add_argument("--epochs", default=DEFAULT_EPOCHS,
                   help=f"training epochs per evaluation (default {DEFAULT_EPOCHS})")
    p.add_argument("--workers", default="1",
                   help="evaluations in flight (training) or runs in parallel (table) on Ray "
                        "(default 1: no Ray)")
    p.add_argument("--ray-address", default=None,
                   help="join this Ray cluster (host:port, ray://host:port or auto) instead of "
                        "starting one on this machine")
    p.add_argument("--gpus-per-eval", default="0",
                   help="GPUs each training evaluation holds on Ray, e.g. 0.5 (default 0)")


def data_class(spec: str) -> type:
    """The data module class of a ``--data`` value.

    Raises:
        UsageError: If the name is unknown, the module cannot be imported or lacks the class.
    """
    target = DATA_MODULES.get(spec, spec)
    module_name, sep, cls_name = target.partition(":")
    if not sep or not module_name or not cls_name:
        raise UsageError(f"unknown --data {spec!r}; choose {', '.join(DATA_MODULES)} or give "
                         "your own data module as package.module:ClassName.")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import error of user code is bad input
        raise UsageError(f"--data {spec!r}: cannot import {module_name} "
                         f"({type(exc).__name__}: {exc}); check the name and PYTHONPATH.") from None
    cls = getattr(module, cls_name, None)
    if not callable(cls):
        raise UsageError(f"--data {spec!r}: {module_name} has no data module {cls_name!r}.")
    return cls


def data_factory(spec: str, data_args: dict[str, Any]) -> Any:
    """A zero-argument factory of the data module named by ``--data`` (``spec``) with
    ``--data-args`` (``data_args``); it pickles, so Ray workers can build their own.

    Raises:
        UsageError: As :func:`data_class`, or if the class does not take ``data_args``.
    """
    cls = data_class(spec)
    try:
        inspect.signature(cls).bind(**data_args)
    except TypeError as exc:
        raise UsageError(f"--data-args: {spec} does not take {data_args}: {exc}.") from None
    except ValueError:  # no signature to check (a builtin): building it will tell
        pass
    return functools.partial(cls, **data_args)


def training_config(args: argparse.Namespace) -> dict[str, Any]:
    """The ``config.json`` entries of the evaluator options (none for a table evaluator).

    Raises:
        UsageError: On an unknown evaluator or data module, bad JSON, arguments the data
            module does not take, or epochs < 1; or training options given for a table.
    """
    epochs = positive_int("--epochs", args.epochs)
    if args.evaluator not in ("table", "train"):
        raise UsageError(f"unknown --evaluator {args.evaluator!r}; choose table or train.")
    if args.evaluator == "table":
        given = [f for f, v in (("--data", args.data), ("--data-args", args.data_args),
                                ("--network-args", args.network_args)) if v is not None]
        given += ["--epochs"] if args.epochs != DEFAULT_EPOCHS else []
        if given:
            raise UsageError(f"{', '.join(given)}: only with --evaluator train (or a one-shot "
                             "--algorithm).")
        return {}
    if args.stop_at_optimum or args.metric or args.report_metric:
        raise UsageError("--stop-at-optimum, --metric and --report-metric apply to table "
                         "evaluations; a training evaluation maximises the validation accuracy "
                         "and reports the test accuracy.")
    spec = args.data or "digits"
    data_args = json_object("--data-args", args.data_args)
    data_factory(spec, data_args)  # checks the name and the arguments
    return {"evaluator": "train", "data": spec, "data_args": data_args,
            "network_args": json_object("--network-args", args.network_args),
            "epochs": epochs}


def execution_options(args: argparse.Namespace) -> dict[str, Any]:
    """How the command executes (not stored in ``config.json``).

    Raises:
        UsageError: If ``--workers`` or ``--gpus-per-eval`` is out of range, or GPUs are asked
            for on a machine without CUDA and no cluster address.
    """
    workers = positive_int("--workers", args.workers)
    try:
        gpus = float(args.gpus_per_eval)
    except ValueError:
        gpus = math.nan
    if not (math.isfinite(gpus) and gpus >= 0):
        raise UsageError(f"--gpus-per-eval must be a number >= 0. Got {args.gpus_per_eval!r}.")
    if gpus > 0:
        import torch

        if args.ray_address is None and not torch.cuda.is_available():
            raise UsageError(f"--gpus-per-eval {args.gpus_per_eval}: this machine has no CUDA "
                             "GPU; omit it, or give --ray-address of a cluster with GPUs.")
    return {"workers": workers, "ray_address": args.ray_address, "gpus_per_eval": gpus}


def check_network(config: dict[str, Any], space: Any, cell: Any, *,
                  build_data: bool = True) -> None:
    """Build the data module and one network of ``space`` as every evaluation will, and run
    the network on one training batch, so that a space without networks, a data module that
    cannot be built (a missing CIFAR-10 folder, bad ``--data-args``) or does not fit the
    network, and bad ``--network-args`` stop the command before anything is written, instead
    of failing every evaluation of the run.

    Args:
        config: The run's configuration.
        space: The search space.
        cell: A cell of the benchmark.
        build_data: Build the data module here; ``False`` when evaluations run on a cluster
            whose machines may hold data this one does not (``--ray-address``): only the
            network is checked then.

    Raises:
        UsageError: Naming the space, the data module or the bad argument.
    """
    data_kwargs: dict[str, Any] = {}
    datamodule = None
    if build_data:
        try:
            datamodule = data_factory(config["data"], config["data_args"])()
            data_kwargs = dict(getattr(datamodule, "network_kwargs", dict)())
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - user code: any failure is a usage error
            raise UsageError(f"--data {config['data']}: cannot build it "
                             f"({type(exc).__name__}: {_one_line(exc)})") from None
    try:
        network = space.to_network(cell, **{**data_kwargs, **config["network_args"]})
    except NotImplementedError:
        raise UsageError(f"--evaluator train: the {space.name} space has no networks to train "
                         "(space.to_network); use a table evaluator.") from None
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--network-args: {_one_line(exc)}") from None
    if datamodule is not None:
        _check_batch(config, space, network, datamodule)


def _check_batch(config: dict[str, Any], space: Any, network: Any, datamodule: Any) -> None:
    """Run ``network`` on the first training batch of ``datamodule``; raise UsageError if it
    fails or predicts fewer classes than the labels hold."""
    import torch

    from gnnpred.training import ClassifierModule

    where = f"the {space.name} network with --network-args {config['network_args']}"
    try:
        datamodule.prepare_data()
        datamodule.setup("fit")
        batch = next(iter(datamodule.train_dataloader()))
    except Exception as exc:  # noqa: BLE001 - user code
        raise UsageError(f"--data {config['data']}: cannot read a training batch "
                         f"({type(exc).__name__}: {_one_line(exc)})") from None
    try:
        network.eval()
        with torch.no_grad():
            logits, labels = ClassifierModule(network).logits_and_targets(batch, "train")
    except Exception as exc:  # noqa: BLE001 - user code
        raise UsageError(f"--data {config['data']} does not fit {where}: it fails on a "
                         f"training batch ({type(exc).__name__}: {_one_line(exc)})") from None
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= logits.shape[-1]):
        raise UsageError(f"--data {config['data']} has labels up to {int(labels.max())} but "
                         f"{where} predicts {logits.shape[-1]} classes; do not set num_classes "
                         "in --network-args (the data module sets it).")


def make_executor(config: dict[str, Any], execution: dict[str, Any]) -> Any:
    """The executor of the command: ``None`` for table runs one after the other (the plain
    sequential loop), in-process for training with one worker and no cluster, else Ray.

    Raises:
        UsageError: If the cluster address cannot be reached (within 30 s), is given for table
            runs, or Ray is missing.
    """
    from search.executors import ClusterUnreachable, InProcessExecutor, RayExecutor

    if execution["ray_address"] is not None and config.get("evaluator") != "train":
        raise UsageError("--ray-address needs --evaluator train: table runs write their histories "
                         "where they run, so they run on this machine (--workers N).")
    on_ray = execution["workers"] > 1 or execution["ray_address"] is not None
    if not on_ray:
        return InProcessExecutor() if config.get("evaluator") == "train" else None
    try:
        return RayExecutor(execution["workers"], address=execution["ray_address"],
                           gpus_per_task=execution["gpus_per_eval"])
    except ClusterUnreachable as exc:
        raise UsageError(str(exc)) from None
    except ImportError as exc:
        raise UsageError(f"--workers > 1 and --ray-address run on Ray, which cannot be imported "
                         f"({exc}); install it with `pip install ray`.") from None


def make_evaluator(config: dict[str, Any], space: Any, execution: dict[str, Any]) -> Any:
    """The :class:`~search.evaluators.TrainingEvaluator` of ``config``: on the CPU unless
    GPUs are given to the Ray tasks (in one process: ``--device``). A GPU ``--device`` with Ray
    and no ``--gpus-per-eval`` is warned about: it then serves the search's own models only."""
    from search.evaluators import TrainingEvaluator

    ray = execution["workers"] > 1 or execution["ray_address"] is not None
    device = ("auto" if execution["gpus_per_eval"] > 0 else "cpu") if ray else config["device"]
    if ray and not execution["gpus_per_eval"] and str(config["device"]).startswith("cuda"):
        logger.warning("--device %s: the trainings run on Ray tasks, which get no GPU without "
                       "--gpus-per-eval (e.g. --gpus-per-eval 1); they train on the CPU, and "
                       "--device applies to the search's own models only.", config["device"])
    data = data_factory(config["data"], config["data_args"])
    return TrainingEvaluator(space, data, epochs=config["epochs"], device=device,
                             network_kwargs=config["network_args"])


def describe_training(config: dict[str, Any], space: Any) -> tuple[str, str]:
    """What a training search optimises, long (summary) and short (plot title)."""
    what = f"{space.name} networks trained {config['epochs']} epoch(s) on {config['data']}"
    return f"{what}: validation accuracy (%), test accuracy reported", what


def table_run(algorithm: str, params: dict[str, Any], data: tuple[Any, Any], budget: int,
              seed: int, options: dict[str, Any], history: str, resume: bool) -> Any:
    """One (algorithm, seed) run on a table, as an executor task: exactly the sequential
    search (:func:`search.engine.run_search`), writing its own history."""
    from search.algorithms import ALGORITHMS
    from search.engine import run_search

    bench, domain = data
    return run_search(ALGORITHMS[algorithm](**params), bench, budget, seed, domain=domain,
                      history=history, resume=resume, **options)


def run_tables(config: dict[str, Any], bench: Any, domain: Any, runs: list[tuple[str, int]],
               histories: list[Any], resume: bool, executor: Any, progress: Any) -> list[Any]:
    """Run the table searches ``runs`` in parallel (``--workers`` at a time) on Ray.

    ``progress`` follows the queries as the runs record them (their history files are polled
    every second where this machine can read them), not only when a run finishes.

    Returns:
        The :class:`~search.engine.SearchResult` of each run, in the order of ``runs``.

    Raises:
        UsageError: If a run fails (e.g. a stored history cannot be resumed).
    """
    from search.cli_config import algorithm_params
    from search.history import read_history

    options = {"metric": config["metric"], "report_metrics": config["report_metrics"],
               "stop_at_optimum": config["stop_at_optimum"], "device": config["device"]}
    results: dict[int, Any] = {}
    data = executor.put((bench, domain))
    tasks, counted = {}, {}
    for i, ((algo, seed), hist) in enumerate(zip(runs, histories, strict=True)):
        counted[i] = len(read_history(hist, repair=False))
        task = executor.submit(table_run, algo, algorithm_params(config, algo), data,
                               config["budget"], seed, options, str(hist), resume)
        tasks[task] = i

    def advance(i: int, n: int) -> None:
        if n > counted[i]:
            progress(n - counted[i])
            counted[i] = n

    while executor.n_running:
        for out in executor.wait(timeout=1.0):
            i = tasks[out.task]
            if out.error is not None:
                algo, seed = runs[i]
                raise UsageError(f"{algo} seed {seed}: {out.error}")
            results[i] = out.result
            advance(i, out.result.n_queries)
        for i in counted.keys() - results.keys():
            advance(i, _complete_lines(histories[i]))
    return [results[i] for i in range(len(runs))]


def _complete_lines(path: Any) -> int:
    """Newline-terminated lines of a history being written (one record each); 0 if unreadable."""
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return 0


def run_training(config: dict[str, Any], domain: Any, runs: list[tuple[str, int]],
                 histories: list[Any], resume: bool, executor: Any, execution: dict[str, Any],
                 progress: Any) -> list[Any]:
    """Run the training searches ``runs`` one after the other, each with ``--workers``
    evaluations in flight, sharing the output folder's evaluation cache.

    Raises:
        UsageError: If a stored run cannot be resumed.
    """
    from search.algorithms import ReplayMismatch
    from search.cli_config import build_algorithm
    from search.evaluators import EvaluationCache
    from search.scheduler import run_async_search

    results = []
    evaluator = make_evaluator(config, domain.space, execution)
    for (algo, seed), hist in zip(runs, histories, strict=True):
        cache = EvaluationCache(hist.parents[2] / CACHE_NAME)
        try:
            res = run_async_search(build_algorithm(config, algo), domain, evaluator, executor,
                                   config["budget"], seed, folder=hist.parent, cache=cache,
                                   resume=resume, report_metrics=TRAIN_REPORT,
                                   device=config["device"], progress=progress)
        except (ValueError, ReplayMismatch) as exc:
            raise UsageError(f"{algo} seed {seed}: {exc}") from None
        results.append(res)
    return results
