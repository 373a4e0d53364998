"""Search-space speed: NAS-Bench-101 enumeration and graph conversion throughput of every space.

Usage::

    python benchmarks/spaces.py              # warm enumeration (cache built first if absent)
    python benchmarks/spaces.py --rebuild    # also time a cold NB101 enumeration (about 1.5 min)

Targets: cold NB101 enumeration in minutes on 2 cores, warm load in a few seconds,
``to_batch`` of 100,000 NB101 cells in under 10 s on CPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gnnpred.spaces import _nb101_enum, get_space

SPACES = ("nasbench101", "nasbench201", "nasbench-graph")


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench_enumeration(rebuild: bool, n_jobs: int | None) -> None:
    space = get_space("nasbench101")
    print("NAS-Bench-101 enumeration")
    print(f"  cache file: {_nb101_enum.cache_file()}")
    if rebuild:
        table, secs = timed(lambda: space.table(rebuild=True, verbose=False) if n_jobs is None else
                            _nb101_enum.load_table(rebuild=True, n_jobs=n_jobs, verbose=False))
        print(f"  cold (enumerate + hash + save): {secs:8.1f} s   {len(table):,} cells")
    elif not _nb101_enum.cache_file().exists():
        table, secs = timed(lambda: space.table(verbose=False))
        print(f"  cold (no cache yet):            {secs:8.1f} s   {len(table):,} cells")
    _nb101_enum._LOADED.clear()  # force a read from disk
    table, secs = timed(space.table)
    print(f"  warm (load cache):              {secs:8.2f} s   {len(table):,} cells")
    cells, secs = timed(lambda: list(space.enumerate()))
    print(f"  enumerate() to NASBench101Cell list: {secs:8.2f} s   {len(cells):,} cells")
    print()


def bench_conversion(name: str, n_graph: int, n_batch: int, rng: np.random.Generator) -> None:
    space = get_space(name)
    pool, secs = timed(lambda: list(space.enumerate()))
    cells = [pool[i] for i in rng.integers(0, len(pool), size=n_batch)]
    print(
        f"{name}: {len(pool):,} cells enumerated in {secs:.2f} s; {n_batch:,} drawn for conversion"
    )
    _, secs = timed(lambda: [space.to_graph(c) for c in cells[:n_graph]])
    print(f"  to_graph  ({n_graph:>7,} cells): {secs:7.2f} s  {n_graph / secs:12,.0f} cells/s")
    batch, secs = timed(lambda: space.to_batch(cells))
    print(f"  to_batch  ({n_batch:>7,} cells): {secs:7.2f} s  {n_batch / secs:12,.0f} cells/s"
          f"   ({batch.num_nodes:,} nodes, {batch.edge_index.shape[1]:,} edges)")
    _, secs = timed(lambda: space.to_batch(cells))
    print(f"  to_batch  again (memo warm): {secs:7.2f} s  {n_batch / secs:12,.0f} cells/s")
    enc, secs = timed(lambda: space.encode(cells))
    print(
        f"  encode    ({n_batch:>7,} cells): {secs:7.2f} s  {n_batch / secs:12,.0f} cells/s   "
        f"shape {enc.shape}"
    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="time a cold NB101 enumeration (rewrites the cache)"
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="hashing processes for --rebuild (default: all CPUs)",
    )
    parser.add_argument("--n-graph", type=int, default=5_000, help="cells for the to_graph timing")
    parser.add_argument(
        "--n-batch", type=int, default=100_000, help="cells for the to_batch/encode timing"
    )
    parser.add_argument("--spaces", nargs="+", default=list(SPACES), choices=SPACES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if "nasbench101" in args.spaces:
        bench_enumeration(args.rebuild, args.n_jobs)
    for name in args.spaces:
        bench_conversion(name, args.n_graph, args.n_batch, rng)


if __name__ == "__main__":
    main()
