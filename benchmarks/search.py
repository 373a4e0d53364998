"""Search efficiency: random, evolution, local, assessor-guided search and SemiNAS (``seminas``,
not run unless ``--algorithms`` names it) side by side, on every benchmark gnnpred ships or reads.

Benchmarks: ``nb201`` (NB201 CIFAR-10, ``../shared/data/nb201_cifar10.csv``), ``nb201-embedded``
(the embedded table ``make run`` searches), ``nb101`` (the 20,001-cell NB101 sample
``../shared/data/nb101_sample20k.csv``, searched by ``valid_accuracy_108``) and the
NAS-Bench-Graph tables ``cora``, ``citeseer``, ``pubmed`` and ``arxiv`` (searched by
``valid_perf``; the test ``perf`` of the best-by-validation cell is reported). For each it
prints, over seeds: the median queries to the table's optimum (runs that never reach it within
their budget count as infinite), the median best after each checkpoint (50/100/200 queries,
NB101 50/150/300), and the headline: the queries the assessor search needs to reach evolution's
median best at the last checkpoint, as a ratio to evolution's own queries, with a 95% paired
bootstrap interval over seeds. Runs stop at the optimum; afterwards their best is the optimum.

Usage (from the repository root)::

    python benchmarks/search.py                      # 20 seeds, every benchmark (hours)
    python benchmarks/search.py --quick              # 5 seeds, embedded NB201 and cora
    python benchmarks/search.py --benchmarks nb201 --algorithms evolution,assessor --jobs 2
    python benchmarks/search.py --timing             # one NB201 assessor seed, budget 150
    python benchmarks/search.py --benchmarks cora,nb101 --json runs.json --resume   # resumable
    python benchmarks/search.py --benchmarks nb201 --algorithms assessor --seeds 60 \
        --first-seed 100 --assessor-params '{"n_explore": 2}'   # tune on seeds not reported

With ``--json FILE`` every finished run is written to FILE at once; ``--resume`` then skips the
runs already there, so a killed benchmark loses only the runs in flight.

Medians over 20 seeds are noisy (the same search with another random stream moved the NB201
assessor median by 5 queries), hence the bootstrap interval. Tune on other seeds
(``--first-seed 100``) than the ones you report.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import _search_stats as stats  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
HEAVY = ("assessor", "seminas")  # model-based: their own budget (--assessor-budget), in parallel
_NBG = "NAS-Bench-Graph {} (search valid_perf, report perf)"
BENCHMARKS = {
    "nb201": {
        "title": "NAS-Bench-201 CIFAR-10 (shared CSV)",
        "name": "nasbench201",
        "kw": {"path": str(SHARED / "nb201_cifar10.csv")},
        "needs": SHARED / "nb201_cifar10.csv",
        "metric": None,
        "report": None,
        "checkpoints": (50, 100, 200),
    },
    "nb201-embedded": {
        "title": "NAS-Bench-201 CIFAR-10 (embedded AnalogNAS-Bench table, the make-run default)",
        "name": "nasbench201",
        "kw": {},
        "metric": None,
        "report": None,
        "checkpoints": (50, 100, 200),
    },
    "nb101": {
        "title": "NAS-Bench-101 20k sample (search valid_accuracy_108)",
        "name": "nasbench101",
        "kw": {"path": str(SHARED / "nb101_sample20k.csv")},
        "needs": SHARED / "nb101_sample20k.csv",
        "metric": "valid_accuracy_108",
        "report": None,
        "checkpoints": (50, 150, 300),
    },
    **{
        ds: {
            "title": _NBG.format(ds),
            "name": "nasbench-graph",
            "kw": {"dataset": ds},
            "metric": "valid_perf",
            "report": "perf",
            "checkpoints": (50, 100, 200),
            "assessor_budget": 200,  # the last checkpoint: no algorithm finds the optimum reliably
        }
        for ds in ("cora", "citeseer", "pubmed", "arxiv")
    },
}
ALIASES = {"graph": "cora"}  # the name of the cora benchmark before issue 20
_CACHE: dict = {}


def _bench(key: str):
    if key not in _CACHE:
        import datasets
        from search.domain import Domain

        spec = BENCHMARKS[key]
        bench = datasets.load(spec["name"], metric=spec["metric"], **spec["kw"])
        _CACHE[key] = (bench, Domain(bench))
    return _CACHE[key]


def _improvements(values: np.ndarray) -> list[list[float]]:
    """``[query, best so far]`` at every query where the best rose (1-based queries)."""
    out: list[list[float]] = []
    best = -math.inf
    for i, v in enumerate(values):
        if math.isfinite(v) and v > best:
            best = float(v)
            out.append([i + 1, best])
    return out


def one_run(task: tuple) -> dict:
    """Run one (benchmark, algorithm, seed, budget, threads, params) search; returns plain numbers
    (picklable). ``params`` is the algorithm's hyper-parameters as a JSON string."""
    key, algo, seed, budget, threads, params = task
    import torch

    torch.set_num_threads(threads)
    from search.algorithms import get_algorithm
    from search.engine import run_search

    bench, domain = _bench(key)
    report = BENCHMARKS[key]["report"]
    t0 = time.perf_counter()
    res = run_search(
        get_algorithm(algo, **json.loads(params)),
        bench,
        budget,
        seed,
        domain=domain,
        stop_at_optimum=True,
        report_metrics=(report,) if report else (),
        device="cpu",
    )
    values = np.asarray(res.values, dtype=float)
    imp = _improvements(values)
    return {
        "key": key,
        "algorithm": algo,
        "seed": seed,
        "budget": budget,
        "params": params,
        "n_queries": res.n_queries,
        "queries_to_optimum": res.queries_to_optimum,
        "optimum": res.optimum,
        "improvements": imp,
        # the report metric of the best-by-search-metric cell, at the same queries
        "report_improvements": (
            [[q, float(res.extra[report][int(q) - 1])] for q, _ in imp] if report else None
        ),
        "time": time.perf_counter() - t0,
    }


def print_table(key: str, rows: list[dict], budgets: dict[str, int]) -> None:
    """Print the table of benchmark ``key`` (see :func:`benchmarks._search_stats.print_table`)."""
    spec = BENCHMARKS[key]
    heavy = [h for h in HEAVY if any(r["algorithm"] == h for r in rows)]
    stats.print_table(spec["title"], rows, budgets, spec["checkpoints"], spec["report"], heavy)


def timing(seed: int = 0, budget: int = 150) -> None:
    """Print the wall time of one NB201 assessor-guided search spending its whole budget."""
    import torch

    from search.algorithms import get_algorithm
    from search.engine import run_search

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    bench, domain = _bench("nb201")
    t0 = time.perf_counter()
    res = run_search(get_algorithm("assessor"), bench, budget, seed, domain=domain, device="cpu")
    dt = time.perf_counter() - t0
    print(
        f"NB201 assessor, seed {seed}, budget {budget} (no early stop): {dt:.0f} s wall, "
        f"{res.n_queries} queries, best {max(res.values):.4f} (target < 180 s on 2 CPU cores)"
    )


def reprint(path: str) -> None:
    """Print the tables again from a ``--json`` file."""
    rows = json.loads(Path(path).read_text())
    if rows and "improvements" not in rows[0]:
        raise SystemExit(f"{path} was written before issue 20 (no 'improvements'); rerun it")
    for key in dict.fromkeys(r["key"] for r in rows):
        rs = [r for r in rows if r["key"] == key]
        budgets: dict[str, int] = {}
        for r in rs:
            budgets[r["algorithm"]] = max(budgets.get(r["algorithm"], 0), r["budget"])
        print_table(ALIASES.get(key, key), rs, budgets)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--benchmarks",
        default=",".join(BENCHMARKS),
        help=f"comma list of {', '.join(BENCHMARKS)} (default: all)",
    )
    p.add_argument("--algorithms", default="random,evolution,local,assessor")
    p.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    p.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="first seed (default 0); tune on others, e.g. 100, than those you report",
    )
    p.add_argument(
        "--assessor-params",
        default="{}",
        help="JSON object of AssessorGuidedSearch hyper-parameters, e.g. '{\"n_explore\": 2}'",
    )
    p.add_argument(
        "--budget", type=int, default=3000, help="query cap of the baselines (default 3000)"
    )
    p.add_argument(
        "--assessor-budget", type=int, default=300, help="query cap of assessor runs (default 300)"
    )
    p.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="parallel assessor runs"
    )
    p.add_argument(
        "--quick", action="store_true", help="5 seeds, the embedded NB201 table and cora only"
    )
    p.add_argument("--json", default=None, help="also write all per-run numbers to this file")
    p.add_argument(
        "--resume",
        action="store_true",
        help="with --json: keep the runs already in that file and run only the missing ones",
    )
    p.add_argument(
        "--reprint", default=None, help="only print the tables of an earlier --json file"
    )
    p.add_argument(
        "--timing",
        action="store_true",
        help="only time one NB201 assessor seed with budget 150 and no early stop",
    )
    args = p.parse_args(argv)
    if args.reprint:
        reprint(args.reprint)
        return 0
    if args.timing:
        if not (SHARED / "nb201_cifar10.csv").exists():
            print(f"{SHARED / 'nb201_cifar10.csv'} is absent", file=sys.stderr)
            return 2
        timing()
        return 0
    try:
        params = json.loads(args.assessor_params)
    except json.JSONDecodeError as exc:
        print(
            f"--assessor-params must be a JSON object; got {args.assessor_params!r} ({exc})",
            file=sys.stderr,
        )
        return 2
    if not isinstance(params, dict):
        print(
            f"--assessor-params must be a JSON object; got {args.assessor_params!r}",
            file=sys.stderr,
        )
        return 2
    from search.algorithms import AssessorGuidedSearch, hyper_parameters

    try:
        AssessorGuidedSearch(**params)
    except TypeError as exc:  # an unknown hyper-parameter name
        known = ", ".join(hyper_parameters("assessor"))
        print(f"--assessor-params: {exc}. AssessorGuidedSearch takes: {known}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a bad value
        print(f"--assessor-params: {exc}", file=sys.stderr)
        return 2
    if args.seeds < 1 or args.first_seed < 0:
        print(
            f"--seeds must be >= 1 and --first-seed >= 0; got {args.seeds} and {args.first_seed}",
            file=sys.stderr,
        )
        return 2
    if args.budget < 1 or args.assessor_budget < 1:
        print(f"--budget and --assessor-budget must be >= 1; got {args.budget} and "
              f"{args.assessor_budget}", file=sys.stderr)
        return 2
    from search.algorithms import ALGORITHMS

    algo_names = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    bad = [a for a in algo_names if a not in ALGORITHMS]
    if not algo_names or bad:
        print(f"--algorithms: unknown {', '.join(bad) or repr(args.algorithms)}; choose from "
              f"{', '.join(ALGORITHMS)}", file=sys.stderr)
        return 2
    params_json = json.dumps(params, sort_keys=True)
    if args.resume and not args.json:
        print("--resume needs --json FILE (the file that keeps the finished runs)", file=sys.stderr)
        return 2
    if args.json and not args.resume and Path(args.json).exists() and \
            Path(args.json).stat().st_size > 0:
        print(f"{args.json} holds earlier runs: pass --resume to keep them and run only the "
              "missing ones, or choose another --json file", file=sys.stderr)
        return 2
    store: list[dict] = []  # every finished run, of all benchmarks (what --json holds)
    if args.resume and Path(args.json).exists():
        store = json.loads(Path(args.json).read_text())
        print(f"resuming: {len(store)} runs already in {args.json}", file=sys.stderr)
    if args.quick:
        keys = ["nb201-embedded", "cora"]
    else:
        keys = [ALIASES.get(k.strip(), k.strip()) for k in args.benchmarks.split(",") if k.strip()]
    unknown = [k for k in keys if k not in BENCHMARKS]
    if unknown:
        print(f"--benchmarks: unknown {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    seeds = range(args.first_seed, args.first_seed + (5 if args.quick else args.seeds))
    algos = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    for key in list(keys):
        needs = BENCHMARKS[key].get("needs")
        if needs is not None and not needs.exists():
            print(f"{needs} is absent; skipping {key}", file=sys.stderr)
            keys.remove(key)
    for key in keys:
        t0 = time.time()
        budgets = {
            a: (
                min(
                    args.assessor_budget,
                    BENCHMARKS[key].get("assessor_budget", args.assessor_budget),
                )
                if a in HEAVY
                else args.budget
            )
            for a in algos
        }
        tasks = [
            (key, a, s, budgets[a], 1, params_json if a == "assessor" else "{}")
            for a in algos
            for s in seeds
        ]
        rows = _run_tasks(key, tasks, store, args.jobs, args.json)
        print_table(key, rows, budgets)
        print(f"({time.time() - t0:.0f} s)")
    return 0


def _task_key(r: dict) -> tuple:
    return (r["key"], r["algorithm"], r["seed"], r.get("budget"), r.get("params", "{}"))


def _key_of(t: tuple) -> tuple:
    """The store key of a task ``(key, algo, seed, budget, threads, params)``."""
    return (*t[:4], t[5])


def _run_tasks(
    key: str, tasks: list[tuple], store: list[dict], jobs: int, json_path: str | None
) -> list[dict]:
    """Rows of ``tasks``: taken from ``store`` when there, else run (and added to ``store``, which
    is rewritten to ``json_path`` after every run so that ``--resume`` loses at most the runs in
    flight)."""
    have = {_task_key(r) for r in store}
    todo = [t for t in tasks if _key_of(t) not in have]
    heavy = [t for t in todo if t[1] in HEAVY]

    def keep(r: dict, i: int | None = None) -> None:
        store.append(r)
        if i is not None:
            print(
                f"  {key} {r['algorithm']} run {i}/{len(heavy)}: seed {r['seed']}, q->opt "
                f"{r['queries_to_optimum']} ({r['time']:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        if json_path:
            _write_json(json_path, store)

    for t in todo:
        if t[1] not in HEAVY:
            keep(one_run(t))
    if heavy and jobs > 1:
        # fork where there is one: a worker's parent is then this process (not a forkserver),
        # which _exit_with_parent relies on
        ctx = get_context("fork" if "fork" in get_all_start_methods() else None)
        with ProcessPoolExecutor(
            jobs, mp_context=ctx, initializer=_exit_with_parent, initargs=(os.getpid(),)
        ) as pool:
            futures = [pool.submit(one_run, t) for t in heavy]
            for i, fut in enumerate(as_completed(futures), 1):
                keep(fut.result(), i)
    else:
        for i, t in enumerate(heavy, 1):
            keep(one_run((*t[:4], 2, t[5])), i)
    by_task = {_task_key(r): r for r in store}
    return [by_task[_key_of(t)] for t in tasks]


def _exit_with_parent(parent: int) -> None:
    """Pool worker initializer: on Linux, the kernel kills the worker when the benchmark
    process ``parent`` dies (``kill``, a crash), instead of leaving a run of several minutes
    orphaned; elsewhere it does nothing (Ctrl-C reaches the workers through the terminal)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signal.SIGKILL)) != 0:  # PR_SET_PDEATHSIG
            return
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _write_json(path: str, rows: list[dict]) -> None:
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(rows, indent=1) + "\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
