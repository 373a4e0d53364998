"""Command line: ``python -m search.run`` runs searches on a benchmark table and reports them.

With no arguments it runs assessor-guided search on the embedded NAS-Bench-201 table with a
budget of 100 queries. Outputs go to ``--out`` (default ``runs/<timestamp>``)::

    config.json                        what produced the folder (checked by --resume)
    <algorithm>/seed<k>/history.jsonl  one flushed line per query
    summary.json                       {"config", "runs", "aggregate"}
    best_vs_queries.png                best value vs queries, median and spread over seeds

Bad input prints one line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from gnnpred._common import resolve_device
from search.domain import Domain

PROG = "python -m search.run"
BENCHMARKS = ("nasbench201", "nasbench101", "nasbench-graph")
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input: reported as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m search.run``."""
    from search.algorithms import ALGORITHMS

    p = _Parser(prog=PROG, description="Neural architecture search on a benchmark table.")
    p.add_argument("--benchmark", default="nasbench201", help=f"one of {', '.join(BENCHMARKS)} (default nasbench201)")
    p.add_argument("--path", default=None, help="benchmark file (default: the embedded NB201 table)")
    p.add_argument("--dataset", default=None, help="benchmark dataset, e.g. cora for nasbench-graph")
    p.add_argument("--metric", default=None, help="metric to maximise (default: the benchmark's)")
    p.add_argument("--report-metric", default="", help="comma-separated metrics to record too, e.g. perf")
    p.add_argument("--algorithm", default="assessor",
                   help=f"one or more of {', '.join(ALGORITHMS)}, comma-separated (default assessor)")
    p.add_argument("--budget", default="100", help="benchmark queries per run (default 100)")
    p.add_argument("--seeds", default="0", help="seeds: 0-9 or 0,3,5 (default 0)")
    p.add_argument("--out", default=None, help="output folder (default runs/<timestamp>)")
    p.add_argument("--resume", action="store_true", help="continue the runs in --out")
    p.add_argument("--zc-warmup", default="0",
                   help="seed evolution/local/assessor with the best of N synflow-scored cells (default 0: off)")
    p.add_argument("--params", default=None,
                   help="algorithm hyper-parameters as a JSON object keyed by algorithm, e.g. "
                        "'{\"assessor\": {\"n_explore\": 0}, \"evolution\": {\"population_size\": 50}}' "
                        "(they override --zc-warmup)")
    p.add_argument("--stop-at-optimum", action="store_true", help="end a run once it reaches the optimum")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    return p


def parse_seeds(text: str) -> list[int]:
    """``"0-9"`` -> ``[0..9]``, ``"0,3,5"`` -> ``[0, 3, 5]`` (mixes allowed, order kept).

    Raises:
        UsageError: If the text is not such a list of non-negative ints.
    """
    seeds: list[int] = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise UsageError(f"--seeds must look like 0-9 or 0,3,5. Got {text!r}.") from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds must be distinct non-negative ints. Got {text!r}.")
    return seeds


def make_config(args: argparse.Namespace) -> dict[str, Any]:
    """Validate the arguments and turn them into the JSON config stored in the out folder.

    Raises:
        UsageError: On an unknown algorithm or benchmark, a bad budget or seeds, a missing path.
    """
    from search.algorithms import ALGORITHMS

    if args.benchmark not in BENCHMARKS:
        raise UsageError(f"unknown --benchmark {args.benchmark!r}; choose one of {', '.join(BENCHMARKS)}.")
    algos = [a.strip() for a in args.algorithm.split(",") if a.strip()]
    bad = [a for a in algos if a not in ALGORITHMS]
    if not algos or bad:
        raise UsageError(f"unknown --algorithm {','.join(bad) or args.algorithm!r}; "
                         f"choose from {', '.join(ALGORITHMS)}.")
    try:
        budget = int(args.budget)
    except ValueError:
        raise UsageError(f"--budget must be a positive int. Got {args.budget!r}.") from None
    if budget < 1:
        raise UsageError(f"--budget must be at least 1 benchmark query. Got {budget}.")
    try:
        zc = int(args.zc_warmup)
    except ValueError:
        zc = -1
    if zc < 0:
        raise UsageError(f"--zc-warmup must be a non-negative int. Got {args.zc_warmup!r}.")
    params = parse_params(args.params, algos)
    path = None
    if args.path is not None:
        p = Path(args.path).expanduser()
        if not p.exists():
            raise UsageError(f"--path {args.path} does not exist.")
        if not os.access(p, os.R_OK):
            raise UsageError(f"--path {args.path} is not readable.")
        path = str(p.resolve())
    config = {
        "benchmark": args.benchmark, "path": path, "dataset": args.dataset, "metric": args.metric,
        "report_metrics": [m.strip() for m in args.report_metric.split(",") if m.strip()],
        "algorithms": algos, "budget": budget, "seeds": parse_seeds(args.seeds),
        "stop_at_optimum": bool(args.stop_at_optimum), "zc_warmup": zc, "device": args.device,
    }
    if params:  # absent when empty, so folders written before --params existed still resume
        config["params"] = params
    return config


def parse_params(text: str | None, algorithms: list[str]) -> dict[str, dict[str, Any]]:
    """``--params``: a JSON object mapping algorithm names to their hyper-parameters.

    Args:
        text: The option's value (``None`` when not given).
        algorithms: The algorithms of ``--algorithm``; only they may be named.

    Returns:
        ``{algorithm: {name: value}}`` without empty entries.

    Raises:
        UsageError: If the text is not such an object, names an algorithm that does not run, or
            a hyper-parameter that algorithm does not have.
    """
    from search.algorithms import get_algorithm

    if text is None:
        return {}
    example = '\'{"assessor": {"n_explore": 0}}\''
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--params must be a JSON object such as {example}. Got {text!r} ({exc.msg}).") from None
    if not isinstance(obj, dict) or not all(isinstance(v, dict) for v in obj.values()):
        raise UsageError(f"--params must map algorithm names to JSON objects, e.g. {example}. Got {text!r}.")
    other = [k for k in obj if k not in algorithms]
    if other:
        raise UsageError(f"--params names {', '.join(other)}, which --algorithm does not run "
                         f"({', '.join(algorithms)}).")
    for name, kw in obj.items():
        try:
            get_algorithm(name, **kw)
        except ValueError as exc:
            raise UsageError(f"--params: {exc}") from None
    return {k: v for k, v in obj.items() if v}


def algorithm_params(config: dict[str, Any], algorithm: str) -> dict[str, Any]:
    """The hyper-parameters ``algorithm`` runs with: ``--zc-warmup`` (not for random search),
    overridden by the algorithm's entry of ``--params``."""
    params = {"zc_warmup": config["zc_warmup"]} if config["zc_warmup"] and algorithm != "random" else {}
    params.update(config.get("params", {}).get(algorithm, {}))
    return params


def check_values(config: dict[str, Any], domain: Domain) -> None:
    """Set every algorithm up once with its parameters, so that a bad value stops the command
    before the output folder is written (a zero-cost warm-up is not computed here).

    Raises:
        UsageError: Naming the algorithm and the parameter whose value is bad.
    """
    from search.algorithms import get_algorithm

    for algo in config["algorithms"]:
        kw = algorithm_params(config, algo)
        n_zc = kw.get("zc_warmup", 0)
        if isinstance(n_zc, int) and not isinstance(n_zc, bool) and n_zc > 0:
            kw["zc_warmup"] = 0  # valid: scoring cells only to check the other values would be slow
        try:
            get_algorithm(algo, **kw).setup(domain, config["seeds"][0], config["budget"], device="cpu")
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--params: {exc}") from None


def load_benchmark(config: dict[str, Any]) -> Any:
    """``datasets.load`` with the config's benchmark, path, dataset and metric.

    Raises:
        UsageError: If the benchmark cannot be loaded (the loader's message is kept).
    """
    import datasets

    kw: dict[str, Any] = {}
    if config["dataset"] is not None:
        kw["dataset"] = config["dataset"]
    try:
        bench = datasets.load(config["benchmark"], path=config["path"], metric=config["metric"], **kw)
        for m in config["report_metrics"]:
            if m not in bench.metrics:
                raise ValueError(f"unknown --report-metric {m!r}; {bench.name} has {', '.join(bench.metrics)}")
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"cannot load benchmark {config['benchmark']!r}: {exc}") from None
    return bench


def prepare_out(out: str | None, config: dict[str, Any], resume: bool, *, write: bool = True) -> Path:
    """Check (and unless ``write`` is false, create) the output folder and its ``config.json``.

    Raises:
        UsageError: If the folder holds another run without ``resume``, or a different config
            (or nothing) with ``resume``.
    """
    from search.history import CONFIG_NAME, ConfigMismatch, check_config, write_config

    folder = Path(out) if out else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    try:
        if resume:
            if not folder.is_dir():
                raise UsageError(f"--resume: {folder} does not exist; there is nothing to resume.")
            check_config(folder, config, ignore=("device",))
        else:
            if (folder / CONFIG_NAME).exists() or (folder.is_dir() and any(folder.iterdir())):
                raise UsageError(f"{folder} already holds files; pass --resume to continue it or "
                                 "choose another --out.")
            if write:
                write_config(folder, config)
    except (ConfigMismatch, ValueError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write to {folder}: {exc}") from None
    return folder


def execute(config: dict[str, Any], bench: Any, domain: Any, folder: Path, *, resume: bool,
            quiet: bool) -> dict[str, Any]:
    """Run every (algorithm, seed) of ``config``, writing histories, summary and plot.

    Returns:
        The summary (also written to ``summary.json``).

    Raises:
        UsageError: If a stored history cannot be resumed (corrupt, or from other code).
    """
    from tqdm.auto import tqdm

    from search.algorithms import ReplayMismatch, get_algorithm
    from search.engine import run_search
    from search.history import read_history
    from search.report import format_table, plot, summary

    budget, seeds = config["budget"], config["seeds"]
    runs = [(a, s) for a in config["algorithms"] for s in seeds]
    done = sum(len(read_history(_hist(folder, a, s), repair=False)) for a, s in runs) if resume else 0
    results = []
    with tqdm(total=budget * len(runs), initial=done, desc="search", unit="query", disable=quiet,
              file=sys.stderr, dynamic_ncols=True) as bar:
        for algo, seed in runs:
            bar.set_postfix_str(f"{algo} seed {seed}")
            hist = _hist(folder, algo, seed)
            try:
                algorithm = get_algorithm(algo, **algorithm_params(config, algo))
                res = run_search(algorithm, bench, budget, seed, metric=config["metric"],
                                 report_metrics=config["report_metrics"], domain=domain,
                                 history=hist, resume=resume,
                                 stop_at_optimum=config["stop_at_optimum"], device=config["device"],
                                 progress=bar.update)
            except (ValueError, ReplayMismatch) as exc:
                raise UsageError(f"{algo} seed {seed}: {exc}") from None
            results.append(res)
    summ = summary(results, bench.space, config)
    optimum = results[0].optimum if results else None
    summ["optimum"] = optimum
    tmp = folder / "summary.json.tmp"
    tmp.write_text(json.dumps(summ, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / "summary.json")
    metric = config["metric"] or bench.metric
    plot(results, folder / "best_vs_queries.png", metric=metric, optimum=optimum,
         title=f"{bench.name}: best {metric} vs queries")
    print(format_table(summ, optimum=optimum))
    print(f"\nOutputs in {folder}/ (summary.json, best_vs_queries.png, histories)")
    return summ


def _hist(folder: Path, algorithm: str, seed: int) -> Path:
    return folder / algorithm / f"seed{seed}" / "history.jsonl"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0, or 2 on bad input)."""
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        config = make_config(args)
        try:
            resolve_device(config["device"])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        folder = prepare_out(args.out, config, args.resume, write=False)  # fail fast, before loading
        bench = load_benchmark(config)
        domain = Domain(bench)
        if config["budget"] > domain.n_keys:
            raise UsageError(f"--budget {config['budget']} exceeds the {domain.n_keys} distinct cells "
                             f"of {bench.name}; lower it.")
        check_values(config, domain)
        folder = prepare_out(str(folder), config, args.resume)
        print(f"{PROG}: writing to {folder}", file=sys.stderr)
        execute(config, bench, domain, folder, resume=args.resume, quiet=args.quiet)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; continue with --resume and the same --out", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
