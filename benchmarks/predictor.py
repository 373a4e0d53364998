"""Predictor quality: the semi-supervised Assessor vs. the Assessor without unlabelled cells vs.
XGBoost on the space's one-hot encoding, each also with zero-cost proxy features, on real
benchmark tables.

For every space, labelled-set size and seed: draw ``n`` labelled cells, fit, predict every remaining
cell of the table, and record Kendall tau, Spearman rho and top-5% precision. Prints one table at
the end (mean +- std over seeds) and the mean fit time of each method.

The ``-zc`` methods add the data-free proxies (synflow, params, flops; log-scaled) of every cell
as features. They read the NB201 score cache that ``benchmarks/proxies.py`` writes (default: the
user cache dir) and are skipped, with a message, for other spaces or when the cache is missing.

Examples::

    .venv/bin/python benchmarks/predictor.py --quick
    .venv/bin/python benchmarks/predictor.py --spaces nb201 --sizes 20 50 100 200 500 --seeds 5
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from gnnpred import Assessor  # noqa: E402
from gnnpred.metrics import ranking_report  # noqa: E402

SPACES = {
    "nb201": ("NB201 CIFAR-10 (shared CSV)",
              lambda ds: ds.load("nasbench201", path=SHARED / "nb201_cifar10.csv")),
    "nb201-embedded": ("NB201 CIFAR-10 (AnalogNAS-Bench table)",
                       lambda ds: ds.load("nasbench201")),
    "nb101-1k": ("NB101 1k sample (JSON)",
                 lambda ds: ds.load("nasbench101", path=SHARED / "nb101_graphs1k.json")),
    "nb101-20k": ("NB101 20k sample (CSV)",
                  lambda ds: ds.load("nasbench101", path=SHARED / "nb101_sample20k.csv")),
    "nbg-cora": ("NAS-Bench-Graph cora valid_perf",
                 lambda ds: ds.load("nasbench-graph", dataset="cora", metric="valid_perf")),
}
METHODS = ("assessor", "assessor-nounlab", "assessor-zc", "xgb-onehot", "xgb-zc")
ZC_SPACES = ("nb201",)  # spaces with a proxy score cache written by benchmarks/proxies.py


def zero_cost_features(space, archs: list):
    """The cached data-free proxy features of ``archs`` (``None``, with a message, if
    unavailable)."""
    from benchmarks.proxies import default_cache
    from gnnpred.proxies import DATA_FREE
    from gnnpred.proxies.features import ProxyFeatures, load_scores

    path = default_cache(0)
    if not path.exists():
        print(f"[skip] zero-cost methods: no proxy cache at {path}; run benchmarks/proxies.py "
              "first", flush=True)
        return None
    cached = set(load_scores(path)["keys"])
    missing = len({str(space.hash(a)) for a in archs} - cached)
    if missing:
        print(f"[skip] zero-cost methods: {path} lacks {missing} cells of the table; rerun "
              "benchmarks/proxies.py to complete it", flush=True)
        return None
    return ProxyFeatures.load(path, space, names=DATA_FREE)


def fit_predict(method: str, space, train, y_train, test, seed: int, quick: bool,
                zc=None) -> np.ndarray:
    """Fit one method on the labelled cells and predict the test cells.

    ``zc`` is the zero-cost feature callable used by the ``-zc`` methods.
    """
    if method.startswith("xgb"):
        from xgboost import XGBRegressor

        def enc(archs):
            x = space.encode(archs)
            return np.concatenate([x, zc(archs)], 1) if method == "xgb-zc" else x

        model = XGBRegressor(n_estimators=400, max_depth=6, learning_rate=0.05, subsample=0.8,
                             colsample_bytree=0.8, random_state=seed, n_jobs=1, verbosity=0)
        model.fit(enc(train), y_train)
        return model.predict(enc(test))
    kw = {"pretrain_steps": 300, "n_heads": 2} if quick else {}
    if method == "assessor-zc":
        kw["extra_features"] = zc
    unlabeled = 0 if method == "assessor-nounlab" else None
    a = Assessor(space, random_state=seed, **kw).fit(train, y_train, unlabeled=unlabeled)
    return a.predict(test)


def run(spaces, sizes, seeds, methods, quick) -> dict:
    import datasets as ds

    results = defaultdict(list)  # (space, n, method) -> [(kendall, spearman, top5, seconds)]
    for key in spaces:
        label, loader = SPACES[key]
        try:
            bench = loader(ds)
        except (FileNotFoundError, ValueError, ImportError) as exc:
            print(f"[skip] {label}: {exc}", flush=True)
            continue
        archs, values = bench.archs(), bench.values()
        print(f"== {label}: {len(archs)} cells, metric {bench.metric}", flush=True)
        todo, zc = list(methods), None
        if any(m.endswith("-zc") for m in todo):
            zc = zero_cost_features(bench.space, archs) if key in ZC_SPACES else None
            if zc is None:
                if key not in ZC_SPACES:
                    print(f"[skip] zero-cost methods: no proxy cache for {key}", flush=True)
                todo = [m for m in todo if not m.endswith("-zc")]
        for n in sizes:
            if n >= len(archs) - 10:
                print(f"[skip] n={n}: the table has only {len(archs)} cells", flush=True)
                continue
            for seed in range(seeds):
                perm = np.random.default_rng(1000 + seed).permutation(len(archs))
                tr, te = perm[:n], perm[n:]
                train, test = [archs[i] for i in tr], [archs[i] for i in te]
                for method in todo:
                    t0 = time.perf_counter()
                    pred = fit_predict(method, bench.space, train, values[tr], test, seed,
                                       quick, zc)
                    dt = time.perf_counter() - t0
                    r = ranking_report(values[te], pred, top=0.05)
                    row = (r["kendall"], r["spearman"], r["top_precision"], dt)
                    results[(key, n, method)].append(row)
                    print(f"  {key} n={n:<4d} seed={seed} {method:<17s} "
                          f"kendall={r['kendall']:.3f} spearman={r['spearman']:.3f} "
                          f"top5%={r['top_precision']:.3f} ({dt:.1f}s)", flush=True)
    return results


def print_table(results: dict) -> None:
    """One row per (space, n, method): mean +- std over seeds."""
    print()
    head = (f"{'space':<15s} {'n':>4s} {'method':<17s} {'kendall':>13s} {'spearman':>13s} "
            f"{'top5%':>13s} {'time(s)':>8s} seeds")
    print(head)
    print("-" * len(head))
    order = sorted(results.items(), key=lambda kv: (kv[0][0], kv[0][1], METHODS.index(kv[0][2])))
    for (key, n, method), rows in order:
        a = np.asarray(rows)
        cells = " ".join(f"{m:6.3f}+-{s:5.3f}"
                         for m, s in zip(a[:, :3].mean(0), a[:, :3].std(0), strict=True))
        print(f"{key:<15s} {n:>4d} {method:<17s} {cells} {a[:, 3].mean():8.1f} {len(a)}")


def speed(seed: int = 0) -> None:
    """Print the two timing targets: fit on NB201 (100 labelled + the whole space as unlabelled
    pool) and predict 100,000 NB101 cells with an assessor fitted on the 1k JSON sample."""
    import datasets as ds

    bench = ds.load("nasbench201", path=SHARED / "nb201_cifar10.csv")
    archs, values = bench.archs(), bench.values()
    idx = np.random.default_rng(seed).permutation(len(archs))[:100]
    t0 = time.perf_counter()
    a = Assessor("nasbench201", random_state=seed).fit([archs[i] for i in idx], values[idx])
    print(f"NB201 fit, 100 labelled + {len(a.pool_)} pool cells (whole space, canonical): "
          f"{time.perf_counter() - t0:.1f}s (target < 120s)", flush=True)
    t0 = time.perf_counter()
    a.set_params(warm_start=True).fit([archs[i] for i in idx[:90]], values[idx[:90]])
    print(f"NB201 warm-start refit: {time.perf_counter() - t0:.1f}s", flush=True)
    t0 = time.perf_counter()
    a.predict(archs)
    print(f"NB201 predict all 15,625 cells: {time.perf_counter() - t0:.2f}s", flush=True)
    b101 = ds.load("nasbench101", path=SHARED / "nb101_graphs1k.json")
    a101 = Assessor(b101.space, random_state=seed).fit(b101.archs()[:100], b101.values()[:100])
    cells = b101.space.sample_many(100_000, np.random.default_rng(seed))
    t0 = time.perf_counter()
    a101.predict(cells)
    print(f"NB101 predict 100,000 sampled cells: {time.perf_counter() - t0:.1f}s "
          "(target < 20s)", flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spaces", nargs="+", default=["nb201", "nb101-1k", "nbg-cora"],
                   choices=sorted(SPACES))
    p.add_argument("--sizes", nargs="+", type=int, default=[20, 50, 100, 200, 500])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--quick", action="store_true",
                   help="sizes 20 100, 2 seeds, NB201 only unless --spaces is given, "
                        "lighter assessor")
    p.add_argument("--speed", action="store_true", help="only print the fit/predict timing figures")
    args = p.parse_args(argv)
    if any(m.startswith("xgb") for m in args.methods) and not importlib.util.find_spec("xgboost"):
        p.error("the xgb-* methods need XGBoost, which is in the 'bench' extra: "
                "pip install -e '.[bench]' (or pass --methods without them)")
    if args.speed:
        speed()
        return
    if args.quick:
        if "--sizes" not in (argv or sys.argv):
            args.sizes = [20, 100]
        if "--seeds" not in (argv or sys.argv):
            args.seeds = 2
        if "--spaces" not in (argv or sys.argv):
            args.spaces = ["nb201"]
    t0 = time.perf_counter()
    results = run(args.spaces, args.sizes, args.seeds, args.methods, args.quick)
    print_table(results)
    print(f"\ntotal {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
