"""Predictor quality by label count: the semi-supervised Assessor against its supervised-only
ablation, label propagation on its own kNN graph, and the strongest simple predictors (XGBoost /
random forests on one-hot, zero-cost proxies and GRAF graph features), on the same splits.

For every space, labelled-set size and seed, ``size`` cells of the table are drawn as labels
(``numpy.random.default_rng(1000 + seed).permutation``: nested across sizes), every method fits
on them and predicts every other cell of the table, and Kendall tau, Spearman rho and top-5%
precision are recorded. Prints one table per space (mean +- sample std over seeds, mean fit +
predict seconds without the per-table GRAF and proxy features, computed once beforehand; '*' on
the best Kendall of each size) and writes, under ``--out``:

- ``runs.jsonl``: one JSON line per (space, method, size, seed), appended (one ``write`` of a
  whole line) as soon as it finishes, so a killed sweep loses at most the running fit;
  ``--resume`` skips the ones already there;
- ``summary.csv`` / ``summary.json``: the tables (one row per space, size and method).

Spaces: see ``benchmarks/_predictor_data.py`` (NB101's unlabelled pool: ``--nb101-pool`` cells
of the 423,624-cell enumeration, the 20k table's included). Methods: see
``benchmarks/_predictor_methods.py``. The ``*-zc`` methods score every cell of the table with the
data-free proxies once (NB201 about 25 min, NAS-Bench-Graph 20-30 min per dataset, NB101 about
1.5 h on one core) and cache the scores in the user cache dir.

Examples (from the repository root)::

    nice -n 10 .venv/bin/python benchmarks/predictor.py --quick
    nice -n 10 .venv/bin/python benchmarks/predictor.py --spaces nb201 nbg-cora \\
        --sizes 10 20 50 100 --seeds 3 --out runs/predictor --resume
    .venv/bin/python benchmarks/predictor.py --report --out runs/predictor   # tables only
    .venv/bin/python benchmarks/predictor.py --speed

The full sweep (6 spaces, sizes 10-500, 5 seeds) takes hours on 2 cores: run it by hand.
Tune on ``--first-seed 100`` and report seeds 0-4.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._predictor_data import (  # noqa: E402
    NB101_POOL,
    SHARED,
    SPACES,
    load_table,
    zc_cached,
)
from benchmarks._predictor_methods import (  # noqa: E402
    FIT_PREDICT,
    METHODS,
    ZC_METHODS,
    Split,
)
from gnnpred.metrics import ranking_report  # noqa: E402

SIZES = (10, 20, 50, 100, 200, 500)
DEFAULT_SPACES = ("nb201", "nb101", "nbg-cora", "nbg-citeseer", "nbg-pubmed", "nbg-arxiv")
METRICS = ("kendall", "spearman", "top5")


def read_runs(path: Path, repair: bool = False) -> list[dict]:
    """The results of ``runs.jsonl``. A line that is not a whole JSON object (a write torn by a
    crash) is skipped with a warning and, with ``repair``, dropped from the file (rewritten
    atomically) so that the next append starts on a line of its own."""
    if not path.exists():
        return []
    text = path.read_text()
    runs, bad = [], 0
    for n, line in enumerate(text.splitlines(), 1):
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            bad += 1
            print(f"[warn] {path}:{n} is not a complete JSON line; ignored", flush=True)
    if repair and (bad or (text and not text.endswith("\n"))):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in runs))
        os.replace(tmp, path)
    return runs


def append_run(path: Path, run: dict) -> None:
    """Append one result as one line with a single ``write`` (whole or not at all)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(run) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def run_sweep(args, runs_path: Path, done: set) -> None:
    """Run every missing (space, method, size, seed), appending each result as it finishes."""
    for key in args.spaces:
        try:
            table = load_table(key, args.nb101_pool)
        except (FileNotFoundError, ValueError, ImportError) as exc:
            print(f"[skip] {key}: {exc}", flush=True)
            continue
        config = config_of(args, key)
        methods = list(args.methods)
        if args.zc_cached_only and any(m in ZC_METHODS for m in methods) and not zc_cached(table):
            print(f"[skip] {key}: the zero-cost methods (no complete proxy cache at "
                  f"{table.zc_cache})", flush=True)
            methods = [m for m in methods if m not in ZC_METHODS]
        print(f"== {table.description}: {len(table.archs)} cells, pool {len(table.pool)}",
              flush=True)
        # per-table features, computed once and not counted in any method's seconds
        if any("graf" in m for m in methods):
            table.graf()
        if any(m in ZC_METHODS for m in methods):
            table.zero_cost(args.zc_jobs)
        for size in args.sizes:
            if size >= len(table.archs) - 10:
                print(f"[skip] size {size}: the table has only {len(table.archs)} cells")
                continue
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                todo = [m for m in methods if (key, m, size, seed) not in done]
                if not todo:
                    continue
                perm = np.random.default_rng(1000 + seed).permutation(len(table.archs))
                split = Split(table, perm[:size], perm[size:], seed, args.quick, args.zc_jobs)
                for method in todo:
                    t0 = time.perf_counter()
                    pred = FIT_PREDICT[method](split)
                    dt = time.perf_counter() - t0
                    r = ranking_report(table.values[split.test], pred, top=0.05)
                    run = {"space": key, "method": method, "size": size, "seed": seed,
                           "kendall": r["kendall"], "spearman": r["spearman"],
                           "top5": r["top_precision"], "seconds": round(dt, 2),
                           "n_test": len(split.test), "config": config}
                    append_run(runs_path, run)
                    done.add((key, method, size, seed))
                    print(f"  {key} n={size:<4d} seed={seed} {method:<14s} "
                          f"kendall={run['kendall']:.3f} spearman={run['spearman']:.3f} "
                          f"top5%={run['top5']:.3f} ({dt:.1f}s)", flush=True)


def config_of(args, key: str) -> dict:
    """What, beyond the key, changes a result: runs of another config are not reused. The
    Assessor's default hyper-parameters are fingerprinted (changing one makes a new sweep); a
    change inside the code is not seen: use a new ``--out`` then."""
    import hashlib

    from gnnpred import Assessor

    defaults = repr(sorted(Assessor().get_params().items()))
    config = {"quick": bool(args.quick),
              "assessor_defaults": hashlib.sha1(defaults.encode()).hexdigest()[:10]}
    if key == "nb101":
        config["nb101_pool"] = args.nb101_pool
    return config


def summarise(runs: list[dict]) -> list[dict]:
    """One row per (space, size, method): mean and sample std of each metric over seeds."""
    groups = defaultdict(list)
    for r in runs:
        groups[(r["space"], r["size"], r["method"])].append(r)
    rows = []
    for (space, size, method), rs in groups.items():
        row = {"space": space, "size": size, "method": method, "seeds": len(rs)}
        for m in (*METRICS, "seconds"):
            v = np.array([r[m] for r in rs], dtype=float)
            row[f"{m}_mean"] = float(v.mean())
            row[f"{m}_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        rows.append(row)
    order = {m: i for i, m in enumerate(METHODS)}
    rows.sort(key=lambda r: (r["space"], r["size"], order.get(r["method"], 99)))
    return rows


def print_tables(rows: list[dict]) -> None:
    """One table per space: mean +- std over seeds; '*' marks the best Kendall of each size."""
    best = defaultdict(float)
    for r in rows:
        best[(r["space"], r["size"])] = max(best[(r["space"], r["size"])], r["kendall_mean"])
    for space in dict.fromkeys(r["space"] for r in rows):
        print(f"\n{space} ({SPACES[space][0]})")
        head = (f"{'n':>4s}  {'method':<14s} {'kendall':>15s} {'spearman':>15s} "
                f"{'top5%':>15s} {'seconds':>8s} seeds")
        print(head)
        print("-" * len(head))
        for r in (r for r in rows if r["space"] == space):
            mark = "*" if r["kendall_mean"] == best[(space, r["size"])] else " "
            cells = " ".join(f"{r[m + '_mean']:7.3f}+-{r[m + '_std']:.3f}" for m in METRICS)
            print(f"{r['size']:>4d}  {r['method']:<14s}{mark}{cells} "
                  f"{r['seconds_mean']:8.1f} {r['seeds']:>5d}")


def write_summary(rows: list[dict], out: Path) -> None:
    """``summary.json`` and ``summary.csv`` (written whole, then renamed into place)."""
    for name, write in (("summary.json", lambda f: json.dump(rows, f, indent=1)),
                        ("summary.csv", lambda f: _csv(rows, f))):
        tmp = out / f".{name}.tmp"
        with open(tmp, "w", newline="") as f:
            write(f)
        os.replace(tmp, out / name)


def _csv(rows: list[dict], f) -> None:
    if rows:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def speed(seed: int = 0) -> None:
    """The fit / predict time targets: NB201 with 100 labels and the whole space as pool, and
    predicting 100,000 NB101 cells with an assessor fitted on the 1k JSON sample."""
    import datasets as ds
    from gnnpred import Assessor

    bench = ds.load("nasbench201", path=SHARED / "nb201_cifar10.csv")
    archs, values = bench.archs(), bench.values()
    idx = np.random.default_rng(seed).permutation(len(archs))[:100]
    t0 = time.perf_counter()
    a = Assessor("nasbench201", random_state=seed).fit([archs[i] for i in idx], values[idx])
    print(f"NB201 fit, 100 labelled + {len(a.pool_)} pool cells: "
          f"{time.perf_counter() - t0:.1f}s (target < 60s)", flush=True)
    b101 = ds.load("nasbench101", path=SHARED / "nb101_graphs1k.json")
    a101 = Assessor(b101.space, random_state=seed).fit(b101.archs()[:100], b101.values()[:100])
    cells = b101.space.sample_many(100_000, np.random.default_rng(seed))
    t0 = time.perf_counter()
    a101.predict(cells)
    print(f"NB101 predict 100,000 sampled cells: {time.perf_counter() - t0:.1f}s "
          "(target < 20s)", flush=True)


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # None: not given (--quick then picks its own; any spelling of an explicit value wins)
    p.add_argument("--spaces", nargs="+", default=None, choices=sorted(SPACES))
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--sizes", nargs="+", type=int, default=None)
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="first seed (tune on >= 100, report 0-4)")
    p.add_argument("--nb101-pool", type=int, default=NB101_POOL,
                   help="NB101 unlabelled pool size, the 20k table included (default %(default)s)")
    p.add_argument("--zc-jobs", type=int, default=1,
                   help="worker processes when proxy scores must be computed")
    p.add_argument("--zc-cached-only", action="store_true",
                   help="skip the *-zc methods on tables whose proxy scores are not all cached "
                        "yet, instead of computing them first (hours on NB101)")
    p.add_argument("--out", type=Path, default=Path("runs/predictor"),
                   help="folder of runs.jsonl and the summaries (default %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="keep --out's results and run only the missing ones")
    p.add_argument("--quick", action="store_true",
                   help="a smoke test: nb201, sizes 10 50, 2 seeds, a lighter assessor, "
                        "--zc-cached-only (explicit --spaces/--sizes/--seeds win)")
    p.add_argument("--report", action="store_true",
                   help="only print (and rewrite the summaries of) the results in --out")
    p.add_argument("--speed", action="store_true", help="only print the fit/predict timings")
    args = p.parse_args(argv)
    defaults = ((["nb201"], [10, 50], 2) if args.quick
                else (list(DEFAULT_SPACES), list(SIZES), 5))
    for name, value in zip(("spaces", "sizes", "seeds"), defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.zc_cached_only = args.zc_cached_only or args.quick
    if args.seeds < 1 or args.first_seed < 0 or min(args.sizes) < 2 or args.zc_jobs < 1:
        p.error("--seeds and --zc-jobs must be >= 1, --first-seed >= 0 and every size >= 2")
    if any(m.startswith("xgb") for m in args.methods) and not importlib.util.find_spec("xgboost"):
        p.error("the xgb-* methods need XGBoost, in the 'bench' extra: "
                "pip install -e '.[bench]' (or pass --methods without them)")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if args.speed:
        speed()
        return 0
    runs_path = args.out / "runs.jsonl"
    if args.report:
        rows = summarise(read_runs(runs_path))
        print_tables(rows)
        if rows:
            write_summary(rows, args.out)
        return 0
    if runs_path.exists() and runs_path.stat().st_size and not args.resume:
        print(f"{runs_path} holds results: pass --resume to continue that sweep, or another "
              "--out.", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    runs = read_runs(runs_path, repair=True)
    for r in runs:
        if r.get("config") != config_of(args, r["space"]):
            print(f"{runs_path} holds a run of another configuration ({r.get('config')}, "
                  f"this one: {config_of(args, r['space'])}); use another --out.",
                  file=sys.stderr)
            return 2
    done = {(r["space"], r["method"], r["size"], r["seed"]) for r in runs}
    if done:
        print(f"resuming: {len(done)} results in {runs_path}", flush=True)
    t0 = time.perf_counter()
    run_sweep(args, runs_path, done)
    rows = summarise(read_runs(runs_path))
    print_tables(rows)
    write_summary(rows, args.out)
    print(f"\ntotal {time.perf_counter() - t0:.0f}s; results in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
