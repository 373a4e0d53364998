"""Arguments of ``python -m search.run``: the parser, and their validation into a config.

Everything here runs before the output folder is touched, so that a bad value (down to a nested
``--params`` entry) leaves nothing behind. The parser and :func:`parse_seeds` import neither
torch nor the benchmark loaders, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import textwrap
from pathlib import Path
from typing import Any, NoReturn

#: Benchmarks the command line runs on (canonical names; aliases such as nb201 work too).
BENCHMARKS = ("nasbench201", "nasbench101", "nasbench-graph")
#: Most seeds one command may run per algorithm (each seed is a run folder).
MAX_SEEDS = 10_000
#: Largest seed value (seeds are 32-bit unsigned ints for the random generators).
MAX_SEED = 2**32 - 1
#: Keys of ``config.json`` a resume may differ in: the device and the provenance of the code.
FOLDER_KEYS = ("device", "gnnpred_version", "git_commit")


class UsageError(Exception):
    """Bad command-line input: reported as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        raise UsageError(f"{message} (see --help)")


def build_parser(prog: str = "python -m search.run") -> argparse.ArgumentParser:
    """The argument parser of ``python -m search.run`` (its epilog lists every algorithm's
    hyper-parameters and defaults, read from the algorithms' signatures)."""
    from search.algorithms import ALGORITHMS, hyper_parameters

    lines = [textwrap.fill(", ".join(f"{k}={v!r}" for k, v in hyper_parameters(name).items())
                           or "(none)", 96, initial_indent=f"  {name}: ",
                           subsequent_indent="    ", break_on_hyphens=False)
             for name in ALGORITHMS]
    epilog = "hyper-parameters for --params (name=default):\n" + "\n".join(lines)
    p = _Parser(prog=prog, description="Neural architecture search on a benchmark table, or by "
                "training the candidates (--evaluator train), in parallel on Ray (--workers).",
                epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", default="nasbench201",
                   help=f"one of {', '.join(BENCHMARKS)} (or darts, one-shot search only); "
                        "aliases such as nb201 work too (default nasbench201)")
    p.add_argument("--path", default=None,
                   help="benchmark file (default for nasbench201: the embedded table, "
                        "AnalogNAS-Bench's digital retrain of the NB201 cells on CIFAR-10, "
                        "optimum 94.07, not the official NB201 numbers)")
    p.add_argument("--dataset", default=None,
                   help="benchmark dataset, e.g. cora for nasbench-graph")
    p.add_argument("--metric", default=None, help="metric to maximise (default: the benchmark's)")
    p.add_argument("--report-metric", default="",
                   help="comma-separated metrics to record too, e.g. perf")
    p.add_argument("--algorithm", default="assessor",
                   help=f"one or more of {', '.join(ALGORITHMS)}, comma-separated "
                        "(default assessor); or the one-shot searches entrannas, darts")
    p.add_argument("--budget", default="100", help="benchmark queries per run (default 100)")
    p.add_argument("--seeds", default="0",
                   help=f"seeds: 0-9 or 0,3,5 (default 0; at most {MAX_SEEDS} seeds)")
    p.add_argument("--out", default=None, help="output folder (default runs/<timestamp>)")
    p.add_argument("--resume", action="store_true", help="continue the runs in --out")
    p.add_argument("--zc-warmup", default="0",
                   help="seed the algorithms that have a zc_warmup hyper-parameter with the best "
                        "of N synflow-scored cells (default 0: off)")
    p.add_argument("--params", default=None,
                   help="algorithm hyper-parameters as a JSON object keyed by algorithm, e.g. "
                        "'{\"assessor\": {\"n_explore\": 0}, \"evolution\": "
                        "{\"population_size\": 50}}' (they override --zc-warmup; names and "
                        "defaults below)")
    p.add_argument("--stop-at-optimum", action="store_true",
                   help="end a run once it reaches the optimum")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    from search.cli_train import add_arguments

    add_arguments(p)
    from search.oneshot_cli import add_oneshot_arguments

    add_oneshot_arguments(p)  # --algorithm entrannas / darts: search/oneshot.py
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    return p


def parse_seeds(text: str) -> list[int]:
    """``"0-9"`` -> ``[0..9]``, ``"0,3,5"`` -> ``[0, 3, 5]`` (mixes allowed, order kept).

    Raises:
        UsageError: If the text is not such a list of distinct ints in ``[0, MAX_SEED]``, or
            names more than :data:`MAX_SEEDS` seeds (counted before any list is built).
    """
    spans: list[tuple[int, int]] = []
    try:
        for part in str(text).split(","):
            lo, dash, hi = part.strip().partition("-")
            spans.append((int(lo), int(hi) if dash else int(lo)))  # "1-" is not a range
    except ValueError:
        raise UsageError(f"--seeds must look like 0-9 or 0,3,5. Got {text!r}.") from None
    if any(hi < lo or lo < 0 or hi > MAX_SEED for lo, hi in spans):
        raise UsageError(f"--seeds must be ints from 0 to {MAX_SEED}, ranges low-high. "
                         f"Got {text!r}.")
    count = sum(hi - lo + 1 for lo, hi in spans)
    if count > MAX_SEEDS:
        raise UsageError(f"--seeds {text!r} names {count} seeds; at most {MAX_SEEDS} are "
                         "allowed per command (run further seeds in another --out).")
    seeds = [s for lo, hi in spans for s in range(lo, hi + 1)]
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds must be distinct. Got {text!r}.")
    return seeds


def make_config(args: argparse.Namespace) -> dict[str, Any]:
    """Validate the arguments and turn them into the JSON config stored in the out folder.

    Every algorithm is built with its hyper-parameters here (``__init__`` validates values,
    nested ones included), so a bad value stops the command before anything is written.

    Raises:
        UsageError: On an unknown algorithm or benchmark, a bad budget, seeds, device or
            hyper-parameter, or a missing path.
    """
    from search.algorithms import ALGORITHMS, hyper_parameters

    benchmark = _benchmark_name(args.benchmark)
    algos = [a.strip() for a in args.algorithm.split(",") if a.strip()]
    bad = [a for a in algos if a not in ALGORITHMS]
    if not algos or bad:
        raise UsageError(f"unknown --algorithm {','.join(bad) or args.algorithm!r}; "
                         f"choose from {', '.join(ALGORITHMS)}.")
    twice = sorted({a for a in algos if algos.count(a) > 1})
    if twice:
        raise UsageError(f"--algorithm names {', '.join(twice)} more than once; each algorithm "
                         "runs once per seed (use more --seeds for more runs).")
    oneshot_only = [flag for dest, flag in (("channels", "--channels"), ("cells", "--cells"),
                                            ("steps_per_epoch", "--steps-per-epoch"))
                    if getattr(args, dest, None) is not None]
    oneshot_only += ["--topology"] if getattr(args, "topology", False) else []
    if oneshot_only:
        raise UsageError(f"{', '.join(oneshot_only)}: only with a one-shot --algorithm "
                         "(entrannas, darts).")
    budget = _int_option("--budget", args.budget, 1, "a positive int (benchmark queries)")
    zc = _int_option("--zc-warmup", args.zc_warmup, 0, "a non-negative int")
    # (not on --resume: folders written before this check may hold such a warm-up)
    if zc and not args.resume and not any("zc_warmup" in hyper_parameters(a) for a in algos):
        warm = ", ".join(a for a in ALGORITHMS if "zc_warmup" in hyper_parameters(a))
        raise UsageError(f"--zc-warmup: only with an --algorithm that has a zero-cost warm-up "
                         f"({warm}).")
    params = parse_params(args.params, algos)
    path = None
    if args.path is not None:
        p = Path(args.path).expanduser()
        if not p.is_file():
            raise UsageError(f"--path {args.path} does not exist or is not a file.")
        if not os.access(p, os.R_OK):
            raise UsageError(f"--path {args.path} is not readable.")
        path = str(p.resolve())
    from gnnpred._common import resolve_device

    try:
        resolve_device(args.device)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    config = {
        "benchmark": benchmark, "path": path, "dataset": args.dataset, "metric": args.metric,
        "report_metrics": [m.strip() for m in args.report_metric.split(",") if m.strip()],
        "algorithms": algos, "budget": budget, "seeds": parse_seeds(args.seeds),
        "stop_at_optimum": bool(args.stop_at_optimum), "zc_warmup": zc, "device": args.device,
    }
    if params:  # absent when empty
        config["params"] = params
    from search.cli_train import training_config

    config.update(training_config(args))  # nothing for a table evaluator
    for algo in algos:
        build_algorithm(config, algo)
    return config


def _benchmark_name(name: str) -> str:
    from gnnpred.spaces.base import resolve_name

    try:
        canon = resolve_name(name)
    except ValueError as exc:
        raise UsageError(f"unknown --benchmark {name!r}: {exc}") from None
    if canon not in BENCHMARKS:
        raise UsageError(f"--benchmark {name!r} is a search space without a benchmark table; "
                         f"choose one of {', '.join(BENCHMARKS)}.")
    return canon


def _int_option(flag: str, text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise UsageError(f"{flag} must be {what}. Got {text!r}.")
    return value


def parse_params(text: str | None, algorithms: list[str]) -> dict[str, dict[str, Any]]:
    """``--params``: a JSON object mapping algorithm names to their hyper-parameters.

    Args:
        text: The option's value (``None`` when not given).
        algorithms: The algorithms of ``--algorithm``; only they may be named.

    Returns:
        ``{algorithm: {name: value}}`` without empty entries (values are checked by
        :func:`build_algorithm`).

    Raises:
        UsageError: If the text is not such an object (strict JSON: no NaN or Infinity), or
            names an algorithm that does not run.
    """
    if text is None:
        return {}
    example = '\'{"assessor": {"n_explore": 0}}\''
    try:
        obj = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except ValueError as exc:
        raise UsageError(f"--params must be a JSON object such as {example}. "
                         f"Got {text!r} ({getattr(exc, 'msg', exc)}).") from None
    if not isinstance(obj, dict) or not all(isinstance(v, dict) for v in obj.values()):
        raise UsageError(f"--params must map algorithm names to JSON objects, e.g. {example}. "
                         f"Got {text!r}.")
    other = [k for k in obj if k not in algorithms]
    if other:
        raise UsageError(f"--params names {', '.join(other)}, which --algorithm does not run "
                         f"({', '.join(algorithms)}).")
    return {k: v for k, v in obj.items() if v}


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # e.g. 1e999, which float() reads as inf
        raise ValueError(f"{text} is out of the range of a float")
    return value


def algorithm_params(config: dict[str, Any], algorithm: str) -> dict[str, Any]:
    """The hyper-parameters ``algorithm`` runs with: ``--zc-warmup`` (for the algorithms that
    have a ``zc_warmup`` hyper-parameter), overridden by the algorithm's entry of ``--params``."""
    from search.algorithms import hyper_parameters

    params = {}
    if config["zc_warmup"] and "zc_warmup" in hyper_parameters(algorithm):
        params["zc_warmup"] = config["zc_warmup"]
    params.update(config.get("params", {}).get(algorithm, {}))
    return params


def build_algorithm(config: dict[str, Any], algorithm: str) -> Any:
    """The algorithm with its hyper-parameters (``__init__`` validates every value).

    Raises:
        UsageError: One line naming the algorithm and the unknown name or bad value.
    """
    from search.algorithms import ALGORITHMS, hyper_parameters

    kw = algorithm_params(config, algorithm)
    try:
        return ALGORITHMS[algorithm](**kw)
    except TypeError as exc:
        known = hyper_parameters(algorithm)
        unknown = [k for k in kw if k not in known]
        if unknown:
            raise UsageError(f"--params: {algorithm} has no hyper-parameter "
                             f"{', '.join(map(repr, unknown))}; it takes "
                             f"{', '.join(known) or 'none'}.") from None
        raise UsageError(f"--params: {algorithm}: {_one_line(exc)}") from None
    except ValueError as exc:
        raise UsageError(f"--params: {algorithm}: {_one_line(exc)}") from None


def check_values(config: dict[str, Any], domain: Any) -> None:
    """Set every algorithm up once on the benchmark, so that a value that is only wrong for
    this table (e.g. larger than it) stops the command before the output folder is written
    (a zero-cost warm-up is not computed here).

    Raises:
        UsageError: Naming the algorithm and the parameter whose value is bad.
    """
    if config["budget"] > domain.n_keys:
        raise UsageError(f"--budget {config['budget']} exceeds the {domain.n_keys} distinct "
                         f"cells of {domain.benchmark.name}; lower it.")
    from search.algorithms import ALGORITHMS

    for algo in config["algorithms"]:
        kw = algorithm_params(config, algo)
        if kw.get("zc_warmup", 0) > domain.n_keys:
            raise UsageError(f"{algo}: zc_warmup {kw['zc_warmup']} exceeds the {domain.n_keys} "
                             f"distinct cells of {domain.benchmark.name}; lower it.")
        if kw.get("zc_warmup"):
            kw["zc_warmup"] = 0  # checked in make_config; scoring cells here would be slow
        try:
            ALGORITHMS[algo](**kw).setup(domain, config["seeds"][0], config["budget"],
                                         device="cpu")
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--params: {algo}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def load_benchmark(config: dict[str, Any]) -> tuple[Any, Any]:
    """``datasets.load`` with the config's benchmark, path, dataset and metric, and its domain.

    Raises:
        UsageError: If the benchmark cannot be loaded (the loader's message is kept).
    """
    import datasets
    from search.domain import Domain

    kw: dict[str, Any] = {}
    if config["dataset"] is not None:
        kw["dataset"] = config["dataset"]
    try:
        bench = datasets.load(config["benchmark"], path=config["path"], metric=config["metric"],
                              **kw)
        for m in config["report_metrics"]:
            if m not in bench.metrics:
                raise ValueError(f"unknown --report-metric {m!r}; {bench.name} has "
                                 f"{', '.join(bench.metrics)}")
        domain = Domain(bench)
    except (OSError, ValueError, TypeError, KeyError, MemoryError) as exc:
        raise UsageError(f"cannot load benchmark {config['benchmark']!r}: "
                         f"{_one_line(exc)}") from None
    return bench, domain


def describe_benchmark(bench: Any, config: dict[str, Any],
                       optimum: float | None) -> tuple[str, str]:
    """What the benchmark table is, long (summary, table title) and short (plot title).

    The embedded NAS-Bench-201 table is AnalogNAS-Bench's own (digital) training of the NB201
    cells, whose numbers differ from the official NB201 ones, so it is named as such.
    """
    opt = "" if optimum is None else f", optimum {optimum:.2f}"
    if config["path"] is None and bench.name == "nasbench201":
        return (f"the embedded NAS-Bench-201 table: AnalogNAS-Bench's digital retrain of the "
                f"NB201 cells on CIFAR-10{opt} (not the official NB201 numbers, optimum 94.37)",
                "NB201 cells, AnalogNAS-Bench digital retrain (CIFAR-10)")
    data = f" {bench.dataset}" if bench.dataset else ""
    where = f" from {config['path']}" if config["path"] else " (embedded table)"
    return f"{bench.name}{data}{where}{opt}", f"{bench.name}{data}"


def positive_int(flag: str, text: str) -> int:
    """The value of a flag that takes a positive int.

    Raises:
        UsageError: If ``text`` is not an int >= 1 (the message repeats it).
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"{flag} must be a positive int. Got {text!r}.")
    return value


def json_object(flag: str, text: str | None) -> dict[str, Any]:
    """The value of a flag that takes a JSON object (``None``: an empty dict).

    NaN and Infinity are refused: they are not JSON and no option takes them.

    Raises:
        UsageError: If ``text`` is not a JSON object (the message repeats it).
    """
    if text is None:
        return {}
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise UsageError(f"{flag} must be a JSON object. Got {text!r} "
                         f"({getattr(exc, 'msg', exc)}).") from None
    if not isinstance(obj, dict):
        raise UsageError(f"{flag} must be a JSON object such as '{{\"batch_size\": 64}}'. "
                         f"Got {text!r}.")
    return obj


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")
