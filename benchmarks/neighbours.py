"""Does the search's assessor pick good neighbours of top cells? One figure per benchmark.

Assessor-guided search spends most of its queries on neighbours of its best cell, ordered by
the assessor. This script measures that step in isolation, on the benchmarks of
``benchmarks/search.py``: for each seed, an assessor with the search's settings
(``DEFAULT_ASSESSOR_PARAMS``, 20,000-cell pool) is fitted on ``--labels`` random cells plus
``--good`` cells from the table's top 5% (a search's labels lean towards good cells); then, for
``--targets`` cells of the top 1% (never labelled), it compares the unlabelled neighbours:

- ``pred``: how often the best-predicted neighbour beats the target cell;
- ``random``: how often a random neighbour does (the mean share of better neighbours);
- ``any``: how often some neighbour does (the ceiling of a local step);
- ``kendall``: Kendall tau between predictions and values over each target's neighbours.

Usage::

    python benchmarks/neighbours.py --benchmarks cora,pubmed,citeseer,arxiv --seeds 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the search package, not benchmarks/search.py

from benchmarks import search as bench_search  # noqa: E402


def one_seed(key: str, seed: int, n_labels: int, n_good: int, n_targets: int) -> dict:
    """The four figures of one benchmark and seed (see the module docstring)."""
    from gnnpred import Assessor
    from search.algorithms.assessor_guided import DEFAULT_ASSESSOR_PARAMS

    bench, domain = bench_search._bench(key)
    space = domain.space
    archs = list(domain.archs)
    vals = np.asarray(bench.query_many(archs), dtype=float)
    order = np.argsort(-vals, kind="stable")
    top = order[: max(1, len(vals) // 100)]
    n_rest = len(vals) - len(top) - n_good
    if n_targets > len(top) or n_good > len(vals) // 20 - len(top) or n_labels > n_rest:
        raise ValueError(f"{key} takes at most {len(top)} --targets (its top 1%), "
                         f"{len(vals) // 20 - len(top)} --good (the rest of its top 5%) and "
                         f"{max(n_rest, 0)} --labels (the other cells)")
    rng = np.random.default_rng(seed)
    good = rng.choice(np.setdiff1d(order[: len(vals) // 20], top), n_good, replace=False)
    rest = np.setdiff1d(np.arange(len(archs)), np.concatenate([top, good]))
    lab = np.concatenate([rng.choice(rest, n_labels, replace=False), good])
    pool_rows = rng.choice(len(archs), min(20000, len(archs)), replace=False)
    assessor = Assessor(space=space, random_state=seed, warm_start=True, verbose=False,
                        device="cpu", **DEFAULT_ASSESSOR_PARAMS)
    assessor.fit([archs[i] for i in lab], vals[lab], unlabeled=[archs[i] for i in pool_rows])
    labelled = {domain.key(archs[i]) for i in lab}
    pred_hits, rand_share, any_hits, taus = [], [], [], []
    for t in rng.choice(top, n_targets, replace=False):
        # unlabelled neighbours, one per benchmark entry (equivalent cells share a key), never
        # the target itself under another form
        skip = labelled | {domain.key(archs[t])}
        rows = {}
        for c in space.neighbours(archs[t]):
            if c in domain and (k := domain.key(c)) not in skip:
                rows.setdefault(k, domain.index(c))
        rows = list(rows.values())
        if len(rows) < 2:
            continue
        nv = vals[rows]
        p = np.asarray(assessor.predict([archs[r] for r in rows]), dtype=float)
        pred_hits.append(nv[int(np.argmax(p))] > vals[t])
        rand_share.append(np.mean(nv > vals[t]))
        any_hits.append(np.any(nv > vals[t]))
        tau = kendalltau(p, nv).statistic
        if np.isfinite(tau):
            taus.append(tau)
    nan = float("nan")
    return {"pred": np.mean(pred_hits) if pred_hits else nan,
            "random": np.mean(rand_share) if rand_share else nan,
            "any": np.mean(any_hits) if any_hits else nan,
            "kendall": np.mean(taus) if taus else nan, "targets": len(pred_hits)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", default="cora,pubmed,citeseer,arxiv",
                        help=f"comma list of {', '.join(bench_search.BENCHMARKS)}")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--labels", type=int, default=60, help="random labelled cells")
    parser.add_argument("--good", type=int, default=10, help="labelled cells from the top 5%%")
    parser.add_argument("--targets", type=int, default=20, help="top-1%% cells per seed")
    args = parser.parse_args()
    keys = [k.strip() for k in args.benchmarks.split(",") if k.strip()]
    unknown = [k for k in keys if k not in bench_search.BENCHMARKS]
    if (unknown or not keys or min(args.seeds, args.labels, args.targets) < 1
            or min(args.good, args.first_seed) < 0):
        parser.error(f"--benchmarks takes {', '.join(bench_search.BENCHMARKS)} (got "
                     f"{args.benchmarks!r}); --seeds, --labels, --targets must be >= 1, "
                     "--good and --first-seed >= 0")
    torch.set_num_threads(1)
    print(f"{'benchmark':10s} {'pred':>6s} {'random':>7s} {'any':>6s} {'kendall':>8s}  seeds")
    for key in keys:
        needs = bench_search.BENCHMARKS[key].get("needs")
        if needs is not None and not needs.exists():
            print(f"{key}: {needs} is absent; skipped")
            continue
        t0 = time.time()
        try:
            rows = [one_seed(key, s, args.labels, args.good, args.targets)
                    for s in range(args.first_seed, args.first_seed + args.seeds)]
        except ValueError as exc:
            parser.error(str(exc))
        mean = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
        n = sum(r["targets"] for r in rows)
        print(f"{key:10s} {mean['pred']:6.2f} {mean['random']:7.2f} {mean['any']:6.2f} "
              f"{mean['kendall']:8.3f}  {args.seeds} ({n} targets, {time.time() - t0:.0f} s)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
