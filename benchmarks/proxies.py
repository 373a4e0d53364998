"""Zero-cost proxies on NAS-Bench-201 (CIFAR-10): Spearman with test accuracy, and cost per cell.

Scores every cell of ../shared/data/nb201_cifar10.csv (or a stated random subset) with the
data-free proxies, caching the scores in an ``.npz`` that ``ProxyFeatures.load`` and
benchmarks/predictor.py can reuse. Resumable: rerun the same command to continue an interrupted
run. The cost of each proxy (data-free and data-dependent, the latter on a 64-image batch of
scikit-learn's bundled digits resized to 32x32x3, since CIFAR-10 cannot be downloaded here) is
timed on a few cells, single-threaded.

Published Spearman on all 15,625 cells (Abdelfattah et al., ICLR 2021): synflow 0.737,
jacob_cov 0.731, snip 0.596, grad_norm 0.594, grasp 0.514, fisher 0.360, params ~0.71.

Usage (from the repository root):
    .venv/bin/python benchmarks/proxies.py                    # all cells, 2 worker processes
    .venv/bin/python benchmarks/proxies.py --subset 2000      # a seeded random subset
    .venv/bin/python benchmarks/proxies.py --cache PATH.npz --n-jobs 1
    .venv/bin/python benchmarks/proxies.py --neighbours 200  # proxies as local-move guides

``--neighbours N`` asks what the assessor search's exploration pick needs: for N random cells
on the accuracy plateau below the optimum (93.5-94.2), how often each proxy's favourite
neighbour (one op changed) is more accurate than the cell, against a random neighbour.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr
from tqdm.auto import tqdm

from gnnpred.proxies import DATA_FREE, available_proxies, compute, digits_batch, score
from gnnpred.proxies.compute import build_network, cell_seed
from gnnpred.proxies.features import load_scores, save_scores
from gnnpred.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = {"synflow": 0.737, "jacob_cov": 0.731, "snip": 0.596, "grad_norm": 0.594,
             "grasp": 0.514, "fisher": 0.360, "params": 0.71}


def default_cache(seed: int) -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("gnnpred")) / f"nb201_cifar10_proxies_seed{seed}.npz"


def read_table(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["arch"] for r in rows], np.array([float(r["test_accuracy"]) for r in rows])


def score_all(space, archs: list, keys: list[str], names: tuple[str, ...], cache: Path, seed: int,
              n_jobs: int, chunk: int) -> dict[str, np.ndarray]:
    """Scores of ``archs`` (cached in ``cache``, computed chunk by chunk for the missing ones)."""
    done: dict[str, np.ndarray] = {}
    if cache.exists():
        stored = load_scores(cache)
        if (
            stored["space"] != space.name
            or stored["random_state"] != seed
            or list(stored["names"]) != list(names)
        ):
            raise SystemExit(
                f"{cache} holds other scores ({stored['names']}, seed {stored['random_state']}); "
                "pass another --cache."
            )
        done = dict(zip(stored["keys"], stored["scores"], strict=True))
    todo = [i for i, k in enumerate(keys) if k not in done]
    print(f"{len(keys) - len(todo)} cells cached in {cache}, {len(todo)} to score "
          f"({n_jobs} process(es), 1 thread each)")
    start, cpu0 = time.perf_counter(), _cpu_seconds()
    with tqdm(total=len(todo), desc="NB201 data-free proxies") as bar:
        for lo in range(0, len(todo), chunk):
            part = todo[lo:lo + chunk]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # zero synflow: reported below
                res = score(space, [archs[i] for i in part], names, random_state=seed, device="cpu",
                            n_jobs=n_jobs, num_threads=1, verbose=False)
            for j, i in enumerate(part):
                done[keys[i]] = np.array([res[n][j] for n in names])
            save_scores(cache, space.name, names, list(done), np.array(list(done.values())), seed)
            bar.update(len(part))
    if todo:
        took, cpu = time.perf_counter() - start, _cpu_seconds() - cpu0
        print(f"scored {len(todo)} cells in {took / 60:.1f} min wall "
              f"({took / len(todo) * 1e3:.1f} ms per cell for {', '.join(names)} together)")
        print(
            f"CPU time {cpu / len(todo) * 1e3:.1f} ms per cell (all processes): "
            f"{cpu / len(todo) * 15625 / 2 / 60:.1f} min for all 15,625 cells on 2 otherwise idle "
            "cores; "
            f"load average now {os.getloadavg()[0]:.1f}"
        )
    table = np.array([done[k] for k in keys])
    return {n: table[:, j] for j, n in enumerate(names)}


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the worker processes)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def cost_per_cell(space, archs: list, seed: int, n: int) -> dict[str, float]:
    """CPU seconds per cell of each proxy alone (network construction timed apart), 1 thread.

    CPU time rather than wall time, so that other jobs on the machine do not inflate it."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    x, y = digits_batch(64, seed)
    cost = {name: 0.0 for name in available_proxies()}
    cost["(build network)"] = 0.0
    try:
        for arch in archs[:n]:
            for name in cost:
                t = time.process_time()
                net = build_network(space, arch, cell_seed(space, arch, seed), {"num_classes": 10})
                built = time.process_time()
                if name == "(build network)":
                    cost[name] += built - t
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    compute(net, x, y, (name,), inplace=True)
                cost[name] += time.process_time() - built
    finally:
        torch.set_num_threads(old)
    return {k: v / n for k, v in cost.items()}


def data_dependent(space, archs: list, y: np.ndarray, n: int, seed: int, n_jobs: int) -> None:
    """Spearman of the data-dependent proxies on ``n`` random cells, with a digits minibatch."""
    names = tuple(p for p in available_proxies() if p not in DATA_FREE)
    pick = np.random.default_rng(seed + 1).choice(len(archs), min(n, len(archs)), replace=False)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = score(space, [archs[i] for i in pick], names, data="digits", batch_size=64,
                    random_state=seed, device="cpu", n_jobs=n_jobs, num_threads=1)
    print(
        f"\ndata-dependent proxies on {len(pick)} random cells, one batch of 64 scikit-learn "
        "digits "
        f"(8x8 upsampled to 32x32x3; not CIFAR-10, which cannot be downloaded here), "
        f"{time.perf_counter() - start:.0f} s:"
    )
    for name in names:
        v = res[name]
        ok = np.isfinite(v)
        print(
            f"  {name:<10} spearman {spearmanr(v[ok], y[pick][ok])[0]:6.3f}  "
            f"(published with CIFAR-10: {PUBLISHED.get(name, '-')}; {int((~ok).sum())} non-finite)"
        )


def neighbour_picks(
    space,
    strings: list[str],
    y: np.ndarray,
    proxies: dict[str, np.ndarray],
    n: int,
    band: tuple[float, float],
    seed: int,
) -> None:
    """How often each proxy's favourite neighbour of a plateau cell improves on it."""
    row = {t: i for i, t in enumerate(strings)}
    hashes = [space.hash(space.from_string(t)) for t in strings]
    inside = np.flatnonzero((y >= band[0]) & (y < band[1]))
    pick = np.random.default_rng(seed).choice(inside, min(n, len(inside)), replace=False)
    top1 = {name: [] for name in [*proxies, "random"]}
    first = {name: [] for name in proxies}
    for i in pick:
        rows = {}  # one row per distinct neighbour (equivalent cells share their hash)
        for nb in space.neighbours(space.from_string(strings[i])):
            j = row[space.to_string(nb)]
            if hashes[j] != hashes[i]:
                rows.setdefault(hashes[j], j)
        js = np.array(list(rows.values()))
        better = y[js] > y[i]
        top1["random"].append(better.mean())
        for name, v in proxies.items():
            order = np.argsort(-np.nan_to_num(v[js], nan=-np.inf), kind="stable")
            top1[name].append(float(better[order[0]]))
            if better.any():
                first[name].append(int(np.argmax(better[order])) + 1)
    print(f"\nneighbours of {len(pick)} random cells with accuracy in [{band[0]}, {band[1]}) "
          f"(one op changed, about 24 each): the favourite neighbour improves on the cell")
    for name, hits in top1.items():
        extra = (f"; first improving neighbour at rank {np.mean(first[name]):.2f} on average"
                 if name in first else " (a random neighbour)")
        print(f"  {name:<8} {np.mean(hits):6.1%}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--table", type=Path, default=ROOT.parent / "shared" / "data" / "nb201_cifar10.csv"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="score cache .npz (default: user cache dir)"
    )
    parser.add_argument(
        "--subset", type=int, default=0, help="score a seeded random subset of this size (0: all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="network initialisation seed")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--chunk", type=int, default=2000, help="cells per worker pool and cache write"
    )
    parser.add_argument("--cost-cells", type=int, default=5, help="cells timed per proxy (0: skip)")
    parser.add_argument(
        "--neighbours",
        type=int,
        default=0,
        metavar="N",
        help="how often each proxy's favourite neighbour of N plateau cells improves on it",
    )
    parser.add_argument(
        "--data-dependent",
        type=int,
        default=0,
        metavar="N",
        help="also rank N random cells with the data-dependent proxies on 64 digits images",
    )
    args = parser.parse_args()
    bad = [f"--{name.replace('_', '-')} must be >= {least} (got {getattr(args, name)})"
           for name, least in (("subset", 0), ("n_jobs", 1), ("chunk", 1), ("cost_cells", 0),
                               ("neighbours", 0), ("data_dependent", 0))
           if getattr(args, name) < least]
    if not args.table.is_file():
        bad.append(f"--table {args.table} is not a file")
    if bad:
        parser.error("; ".join(bad))

    space = get_space("nasbench201")
    strings, acc = read_table(args.table)
    if args.subset > len(strings):
        parser.error(f"--subset {args.subset} exceeds the {len(strings)} cells of {args.table}")
    idx = np.arange(len(strings))
    if args.subset:
        idx = np.sort(
            np.random.default_rng(args.seed).choice(len(strings), args.subset, replace=False)
        )
        print(f"random subset of {len(idx)} of {len(strings)} cells (seed {args.seed})")
    archs = [space.from_string(strings[i]) for i in idx]
    keys = [str(space.hash(a)) for a in archs]
    y = acc[idx]
    t0 = time.perf_counter()
    counts = space.param_counts(archs)  # of each canonical cell (dead edges removed), closed form
    took = time.perf_counter() - t0
    ahead = int((counts > counts[int(np.argmax(y))]).sum())
    print(
        f"params of the canonical cells (closed form, {took:.2f} s for {len(archs)} cells; "
        "the search "
        f"prior): spearman {spearmanr(counts, y)[0]:.3f}, kendall {kendalltau(counts, y)[0]:.3f}; "
        f"{ahead} cells have more parameters than the most accurate one"
    )
    cache = args.cache or default_cache(args.seed)
    scores = score_all(space, archs, keys, DATA_FREE, cache, args.seed, args.n_jobs, args.chunk)

    print(f"\nNAS-Bench-201 CIFAR-10, {len(idx)} cells: rank correlation with test accuracy")
    print(f"{'proxy':<10} {'spearman':>9} {'kendall':>8} {'published':>10}  notes")
    for n in DATA_FREE:
        v = scores[n]
        ok = np.isfinite(v)
        rho, tau = spearmanr(v[ok], y[ok])[0], kendalltau(v[ok], y[ok])[0]
        pub = PUBLISHED.get(n)
        note = f"{int((~ok).sum())} non-finite" if (~ok).any() else ""
        if n == "synflow":
            note += f"{int((v == 0).sum())} cells with synflow 0 (cut off by 'none' edges)"
        print(f"{n:<10} {rho:>9.3f} {tau:>8.3f} {pub if pub else '':>10}  {note}")
    if args.neighbours:
        if args.subset:
            raise SystemExit("--neighbours needs every cell scored: drop --subset.")
        neighbour_picks(
            space,
            strings,
            y,
            {**scores, "params": counts},
            args.neighbours,
            (93.5, 94.2),
            args.seed,
        )
    if args.data_dependent:
        data_dependent(space, archs, y, args.data_dependent, args.seed, args.n_jobs)
    if args.cost_cells:
        print(
            f"\nCPU cost per cell, 1 thread, mean of {args.cost_cells} cells "
            "(data-dependent proxies: "
            "64 digits images at 32x32x3; flops is free when computed with synflow):"
        )
        for n, c in cost_per_cell(space, archs, args.seed, args.cost_cells).items():
            print(f"  {n:<16} {c * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
