"""Training evaluations: their cost, their parallel speed-up on Ray, and search on digits.

Prints, in one run (all on CPU, digits from scikit-learn, nothing downloaded):

1. seconds per training epoch of an NB201 network on digits (the difference between a 1-epoch and
   a 3-epoch training, so that set-up and evaluation are not counted);
2. the wall time of 8 training evaluations (``--parallel-epochs``, default 1) with 1 and with 2
   Ray workers, the speed-up ratio (goal >= 1.7x on 2 cores) and Ray's overhead per task (round
   trip of an empty task; goal < 50 ms);
3. over 5 seeds, the test accuracy on digits of the best cell (by validation accuracy) found by
   assessor-guided search and by random search with the same training budget (20 evaluations).
   Every evaluation trains with seed 0 (a cell has one value, as in a table), and the runs share
   one cache, so a cell both searches pick is trained once.

Part 3 trains up to 200 networks (5 seeds x 2 searches x 20, fewer where the searches meet in
the cache); at tens of seconds per epoch of a full-size NB201 network on a CPU core that takes
hours. ``--image-size 16`` (4x fewer pixels) or ``--channels 8`` shrink every training.

Usage (from the repository root)::

    python benchmarks/evaluate.py                   # epochs 5, 5 seeds, budget 20: hours
    python benchmarks/evaluate.py --skip-search     # parts 1 and 2 only (minutes)
    python benchmarks/evaluate.py --quick           # epochs 1, 2 seeds, budget 8
    python benchmarks/evaluate.py --quick --image-size 8 --channels 4   # a smoke test
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: A mid-sized NB201 cell (convolutions and skips), used for the per-epoch timing.
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def _noop() -> None:
    return None


#: Size of the digits images and width of the NB201 networks (``--image-size``, ``--channels``).
SIZE = {"image_size": 32, "channels": 16}


def _evaluator(space, epochs: int):
    from gnnpred.training import DigitsDataModule
    from search.evaluators import TrainingEvaluator

    data = functools.partial(DigitsDataModule, batch_size=128, image_size=SIZE["image_size"])
    return TrainingEvaluator(space, data, epochs=epochs, device="cpu",
                             network_kwargs={"channels": SIZE["channels"]})


def epoch_seconds(space) -> float:
    """Seconds of one training epoch of :data:`CELL` on digits (3 epochs minus 1 epoch, / 2).

    A first 1-epoch training is discarded: it pays one-off costs (imports, first allocations,
    loading digits) that would otherwise make the 1-epoch time longer than it is.
    """
    cell = space.from_string(CELL)
    _evaluator(space, 1).evaluate(cell, 0)
    short, long = (_evaluator(space, e).evaluate(cell, 0) for e in (1, 3))
    return (long.cost - short.cost) / 2


def parallel(domain, epochs: int, n: int = 8) -> tuple[float, float, float]:
    """Wall time of ``n`` random-search training evaluations with 1 and 2 Ray workers, and the
    mean round trip of an empty Ray task (seconds)."""
    from search.algorithms import get_algorithm
    from search.executors import RayExecutor
    from search.scheduler import run_async_search

    walls = []
    with RayExecutor(2) as cluster, tempfile.TemporaryDirectory() as tmp:
        for _ in range(3):  # start the worker processes and import torch in them
            cluster.submit(_noop)
        while cluster.n_running:
            cluster.wait()
        for workers in (1, 2):
            ex = RayExecutor(workers)  # the same cluster, ``workers`` tasks in flight
            start = time.perf_counter()
            run_async_search(get_algorithm("random"), domain, _evaluator(domain.space, epochs),
                             ex, n, 0, folder=Path(tmp) / f"w{workers}")
            walls.append(time.perf_counter() - start)
        trips = []
        for _ in range(50):
            start = time.perf_counter()
            cluster.submit(_noop)
            cluster.wait()
            trips.append(time.perf_counter() - start)
    return walls[0], walls[1], statistics.median(trips)


def search(domain, epochs: int, seeds: int, budget: int, workers: int) -> dict[str, list]:
    """Best-by-validation cell of random and assessor-guided search on digits, per seed:
    ``{algorithm: [(valid accuracy, test accuracy), ...]}``."""
    from search.algorithms import get_algorithm
    from search.evaluators import EvaluationCache
    from search.executors import RayExecutor
    from search.scheduler import run_async_search

    out: dict[str, list] = {"random": [], "assessor": []}
    with RayExecutor(workers) as ex, tempfile.TemporaryDirectory() as tmp:
        cache = EvaluationCache(Path(tmp) / "cache.jsonl")
        evaluator = _evaluator(domain.space, epochs)
        for seed in range(seeds):
            for name in out:
                res = run_async_search(get_algorithm(name), domain, evaluator, ex, budget, seed,
                                       folder=Path(tmp) / name / str(seed), cache=cache,
                                       report_metrics=("test_accuracy",), eval_seed=0,
                                       device="cpu")
                i = res.best_index
                test = float("nan") if i is None else float(res.extra["test_accuracy"][i])
                out[name].append((res.best_value, test))
                print(f"  seed {seed} {name:>8}: best valid {res.best_value:.2f}, "
                      f"its test {test:.2f}", flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=5, help="training epochs per evaluation")
    p.add_argument("--seeds", type=int, default=5, help="search seeds")
    p.add_argument("--budget", type=int, default=20, help="training evaluations per search")
    p.add_argument("--workers", type=int, default=2, help="Ray workers of the searches")
    p.add_argument("--parallel-epochs", type=int, default=1,
                   help="training epochs of the 8 evaluations of part 2")
    p.add_argument("--image-size", type=int, default=32, help="side of the digits images")
    p.add_argument("--channels", type=int, default=16, help="channels of the NB201 networks")
    p.add_argument("--quick", action="store_true", help="epochs 1, 2 seeds, budget 8")
    p.add_argument("--skip-search", action="store_true", help="only parts 1 and 2")
    args = p.parse_args()
    if args.quick:
        args.epochs, args.seeds, args.budget = 1, 2, 8
    low = {"--epochs": (args.epochs, 1), "--seeds": (args.seeds, 1), "--budget": (args.budget, 1),
           "--workers": (args.workers, 1), "--parallel-epochs": (args.parallel_epochs, 1),
           "--image-size": (args.image_size, 8), "--channels": (args.channels, 1)}
    bad = [f"{flag} must be >= {least} (got {value})" for flag, (value, least) in low.items()
           if value < least]
    if bad:  # a bad size would fail every training and print meaningless timings
        p.error("; ".join(bad))
    SIZE.update(image_size=args.image_size, channels=args.channels)
    import datasets
    from search.domain import Domain

    domain = Domain(datasets.load("nasbench201"))  # the 15,625 NB201 cells
    size = f"{args.image_size}x{args.image_size} digits, {args.channels} channels"
    print(f"1. NB201 network on {size} (CPU): {epoch_seconds(domain.space):.2f} s per epoch",
          flush=True)
    one, two, trip = parallel(domain, args.parallel_epochs)
    print(f"2. 8 training evaluations of {args.parallel_epochs} epoch(s): {one:.1f} s with 1 "
          f"worker, {two:.1f} s with 2 workers: speed-up {one / two:.2f}x (goal >= 1.7x); "
          f"Ray overhead {1000 * trip:.1f} ms per task (goal < 50 ms)", flush=True)
    if args.skip_search:
        return
    print(f"3. best cell's test accuracy on digits, {args.seeds} seeds, {args.budget} "
          f"evaluations of {args.epochs} epoch(s) each:", flush=True)
    out = search(domain, args.epochs, args.seeds, args.budget, args.workers)
    for name, rows in out.items():
        tests = np.array([t for _, t in rows], dtype=float)
        print(f"   {name:>8}: test accuracy {np.nanmean(tests):.2f} +- {np.nanstd(tests):.2f} "
              f"(mean +- sd over seeds; median {np.nanmedian(tests):.2f})")


if __name__ == "__main__":
    main()
