"""Search efficiency: random, evolution, local and assessor-guided search side by side.

For NB201 CIFAR-10 (``../shared/data/nb201_cifar10.csv``) and NAS-Bench-Graph cora (search on
``valid_perf``, report the test ``perf`` of the best-by-validation cell) it prints, over seeds:
the queries needed to reach the table's optimum (median; runs that never reach it within their
budget count as infinite) and the best value after 50/100/200 queries (median). Runs stop at
the optimum; afterwards their best value is the optimum.

Usage (from the repository root)::

    python benchmarks/search.py                      # 20 seeds, both benchmarks
    python benchmarks/search.py --quick              # 5 seeds, NB201 only
    python benchmarks/search.py --benchmarks nb201 --algorithms evolution,assessor --jobs 2
    python benchmarks/search.py --timing             # one NB201 assessor seed, budget 150
    python benchmarks/search.py --benchmarks graph --json cora.json --resume   # long: resumable
    python benchmarks/search.py --benchmarks nb201 --algorithms assessor --seeds 60 \
        --first-seed 100 --assessor-params '{"n_explore": 2}'   # tune on seeds not reported

With ``--json FILE`` every finished run is written to FILE at once; ``--resume`` then skips the
runs already there, so a killed benchmark loses only the runs in flight.

Medians over 20 seeds are noisy (the same search with another random stream moved the NB201
assessor median by 5 queries), so the assessor / evolution ratio is printed with a 95% bootstrap
interval over seeds. Tune on other seeds (``--first-seed 100``) than the ones you report.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "data"
CHECKPOINTS = (50, 100, 200)
BENCHMARKS = {
    "nb201": {
        "title": "NAS-Bench-201 CIFAR-10 (shared CSV)",
        "name": "nasbench201",
        "kw": {"path": str(SHARED / "nb201_cifar10.csv")},
        "metric": None,
        "report": None,
    },
    "graph": {
        "title": "NAS-Bench-Graph cora (search valid_perf, report perf)",
        "name": "nasbench-graph",
        "kw": {"dataset": "cora"},
        "metric": "valid_perf",
        "report": "perf",
        "assessor_budget": 200,
    },  # no algorithm finds this table's optimum reliably
}
_CACHE: dict = {}


def _bench(key: str):
    if key not in _CACHE:
        import datasets
        from search.domain import Domain

        spec = BENCHMARKS[key]
        bench = datasets.load(spec["name"], metric=spec["metric"], **spec["kw"])
        _CACHE[key] = (bench, Domain(bench))
    return _CACHE[key]


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
    curve = res.best_curve()
    best_idx = [int(np.argmax(res.values[: min(n, res.n_queries)])) for n in CHECKPOINTS]
    return {
        "key": key,
        "algorithm": algo,
        "seed": seed,
        "budget": budget,
        "params": params,
        "n_queries": res.n_queries,
        "queries_to_optimum": res.queries_to_optimum,
        "optimum": res.optimum,
        "best_after": [float(curve[min(n, res.n_queries) - 1]) for n in CHECKPOINTS],
        "report_after": ([float(res.extra[report][i]) for i in best_idx] if report else None),
        "time": time.perf_counter() - t0,
    }


def _median(xs) -> float:
    return float(np.median(np.asarray(xs, dtype=float)))


def print_table(key: str, rows: list[dict], budgets: dict[str, int]) -> None:
    spec = BENCHMARKS[key]
    opt = rows[0]["optimum"]
    print(f"\n{spec['title']}: optimum {opt:.4f}, {len({r['seed'] for r in rows})} seeds")
    head = [
        "algorithm",
        "budget",
        "median q->opt",
        "reached",
        *[f"best @{n}" for n in CHECKPOINTS],
        *([f"{spec['report']} of best @{n}" for n in CHECKPOINTS] if spec["report"] else []),
        "s/run",
    ]
    lines = [head]
    for algo in dict.fromkeys(r["algorithm"] for r in rows):
        rs = [r for r in rows if r["algorithm"] == algo]
        qto = [r["queries_to_optimum"] or math.inf for r in rs]
        med = _median(qto)
        cols = [[r["best_after"] for r in rs]] + (
            [[r["report_after"] for r in rs]] if spec["report"] else []
        )
        lines.append(
            [
                algo,
                str(budgets[algo]),
                f"{med:.1f}" if math.isfinite(med) else f">{budgets[algo]}",
                f"{sum(math.isfinite(q) for q in qto)}/{len(rs)}",
                *[
                    f"{_median([v[i] for v in vals]):.4f}"
                    for vals in cols
                    for i in range(len(CHECKPOINTS))
                ],
                f"{np.mean([r['time'] for r in rs]):.1f}",
            ]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    for i, row in enumerate(lines):
        print(
            "  ".join(
                c.rjust(w) if j else c.ljust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))
    meds = {
        a: _median([r["queries_to_optimum"] or math.inf for r in rows if r["algorithm"] == a])
        for a in dict.fromkeys(r["algorithm"] for r in rows)
    }
    if "assessor" in meds and "evolution" in meds:
        a, e = meds["assessor"], meds["evolution"]
        ratio = a / e if math.isfinite(a) and math.isfinite(e) else float("nan")
        lo, hi = ratio_interval(rows)
        print(
            f"assessor / evolution median queries to optimum: {ratio:.2f} "
            f"(95% bootstrap interval over seeds {lo:.2f}-{hi:.2f}; "
            f"target for NB201: assessor <= 150 and ratio <= 0.25)"
        )


def ratio_interval(
    rows: list[dict], n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of median(assessor) / median(evolution) queries to optimum.

    Seeds are resampled with replacement, the same seeds for both algorithms (paired: a seed
    that is hard for one is often hard for the other). Runs that never reach the optimum count
    as infinite, so the bounds may be ``inf`` or ``nan``.
    """
    q = {
        a: {r["seed"]: (r["queries_to_optimum"] or math.inf) for r in rows if r["algorithm"] == a}
        for a in ("assessor", "evolution")
    }
    seeds = sorted(set(q["assessor"]) & set(q["evolution"]))
    if not seeds:
        return float("nan"), float("nan")
    a = np.array([q["assessor"][s] for s in seeds], dtype=float)
    e = np.array([q["evolution"][s] for s in seeds], dtype=float)
    idx = np.random.default_rng(0).integers(len(seeds), size=(n_boot, len(seeds)))
    with np.errstate(invalid="ignore"):
        ratios = np.median(a[idx], axis=1) / np.median(e[idx], axis=1)
    tail = (1 - level) / 2
    # inverted_cdf picks observed ratios instead of interpolating, so infinite ones stay inf
    return tuple(float(x) for x in np.nanquantile(ratios, [tail, 1 - tail], method="inverted_cdf"))


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
    for key in dict.fromkeys(r["key"] for r in rows):
        rs = [r for r in rows if r["key"] == key]
        budgets: dict[str, int] = {}
        for r in rs:  # files without "budget": the longest run stands in for it
            budgets[r["algorithm"]] = max(
                budgets.get(r["algorithm"], 0), r.get("budget", r["n_queries"])
            )
        print_table(key, rs, budgets)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--benchmarks", default="nb201,graph", help="comma list of nb201, graph")
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
    p.add_argument("--quick", action="store_true", help="5 seeds, NB201 only")
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
    params_json = json.dumps(params, sort_keys=True)
    if args.resume and not args.json:
        print("--resume needs --json FILE (the file that keeps the finished runs)", file=sys.stderr)
        return 2
    store: list[dict] = []  # every finished run, of all benchmarks (what --json holds)
    if args.resume and Path(args.json).exists():
        store = json.loads(Path(args.json).read_text())
        print(f"resuming: {len(store)} runs already in {args.json}", file=sys.stderr)
    keys = ["nb201"] if args.quick else [k.strip() for k in args.benchmarks.split(",") if k.strip()]
    seeds = range(args.first_seed, args.first_seed + (5 if args.quick else args.seeds))
    algos = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    if "nb201" in keys and not (SHARED / "nb201_cifar10.csv").exists():
        print(f"{SHARED / 'nb201_cifar10.csv'} is absent; skipping NB201", file=sys.stderr)
        keys.remove("nb201")
    for key in keys:
        t0 = time.time()
        budgets = {
            a: (
                min(
                    args.assessor_budget,
                    BENCHMARKS[key].get("assessor_budget", args.assessor_budget),
                )
                if a == "assessor"
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
    heavy = [t for t in todo if t[1] == "assessor"]

    def keep(r: dict, i: int | None = None) -> None:
        store.append(r)
        if i is not None:
            print(
                f"  {key} assessor run {i}/{len(heavy)}: seed {r['seed']}, q->opt "
                f"{r['queries_to_optimum']} ({r['time']:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        if json_path:
            _write_json(json_path, store)

    for t in todo:
        if t[1] != "assessor":
            keep(one_run(t))
    if heavy and jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            futures = [pool.submit(one_run, t) for t in heavy]
            for i, fut in enumerate(as_completed(futures), 1):
                keep(fut.result(), i)
    else:
        for i, t in enumerate(heavy, 1):
            keep(one_run((*t[:4], 2, t[5])), i)
    by_task = {_task_key(r): r for r in store}
    return [by_task[_key_of(t)] for t in tasks]


def _write_json(path: str, rows: list[dict]) -> None:
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(rows, indent=1) + "\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
