"""Search-space speed: NAS-Bench-101 enumeration, graph conversion, batched candidates.

Usage::

    python benchmarks/spaces.py              # warm enumeration (cache built first if absent)
    python benchmarks/spaces.py --rebuild    # also time a cold NB101 enumeration (about 1.5 min)
    python benchmarks/spaces.py --candidates # only mutations/s and the 100,000-candidate round

Targets: cold NB101 enumeration in minutes on 2 cores, warm load in a few seconds,
``to_batch`` of 100,000 NB101 cells in under 10 s on CPU; ``mutate_many`` at least 20x the
mutations per second of a ``mutate`` loop in every space; one NB101 search round (generate,
de-duplicate against evaluated and pending cells, predict with an ``Assessor`` fitted on 100 cells
of ``../shared/data/nb101_sample20k.csv``) over 100,000 candidates in under 10 s on 2 cores. The
round is timed twice: with the assessor settings the assessor-guided search uses
(``search.algorithms.assessor_guided.DEFAULT_ASSESSOR_PARAMS``, and its ``GCN_TOP``: the GCN
head scores only the best new cells by the regressor head; the round then also predicts with the
GCN head on every cell and prints how many of the best cells agree) and with a default ``Assessor``
(three heads of each kind: a user's own surrogate loop), both on ``--threads`` torch threads
(``num_threads``; the assessor's default, and so the search's, is 1: a search on 2 cores gets
the 2-thread figure with ``assessor_params={"num_threads": 2}``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from gnnpred.spaces import _nb101_enum, get_space
from gnnpred.spaces._batched import cat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the search package, not benchmarks/search.py
SHARED = ROOT.parent / "shared" / "data"

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


def bench_mutations(name: str, n_loop: int, n_batch: int, device: str, seed: int) -> None:
    """Mutations per CPU second: a loop of one-cell ``mutate`` against one ``mutate_many`` call
    (CPU time of this process, so that other work on the machine does not count)."""
    space = get_space(name)
    rng = np.random.default_rng(seed)
    parents = space.sample_many(1000, rng)
    space.mutate_many(parents[:10], rng, device=device).cells()  # warm: tables and caches
    _, _, loop = cpu_timed(lambda: [space.mutate(parents[i % 1000], rng) for i in range(n_loop)])
    batch = space.to_tensors([parents[i % 1000] for i in range(n_batch)], device=device)
    out, _, tensors = cpu_timed(lambda: space.mutate_many(batch, rng, device=device))
    _, _, cells = cpu_timed(out.cells)
    per_loop, per_batch = n_loop / loop, n_batch / tensors
    per_cells = n_batch / (tensors + cells)
    print(f"{name}: mutate loop {per_loop:10,.0f}/s   mutate_many {per_batch:10,.0f}/s "
          f"({per_cells:9,.0f}/s with cells)   x{per_batch / per_loop:6.1f} "
          f"(x{per_cells / per_loop:.1f} with cells)")


def cpu_timed(fn):
    """``(result, wall seconds, CPU seconds of this process)``: on a busy machine the CPU time
    is what the work costs, the wall time what the load made of it."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def bench_round(n_candidates: int, n_labels: int, device: str, seed: int,
                assessor: str = "search") -> None:
    """One NB101 search round: generate, de-duplicate and predict ``n_candidates`` cells.

    ``assessor`` is ``"search"`` (the assessor-guided search's settings) or ``"default"``
    (``Assessor()``'s own defaults); either runs on the current torch thread count.

    Candidates: the neighbours of every labelled cell, mutations of the 100 best (1,000 each)
    and uniform cells of the space (the paper's sampler repeats its small cells too often to
    fill 100,000 new ones), de-duplicated against the labelled and 20 pending cells.
    """
    import datasets
    from gnnpred import Assessor
    from search.algorithms.assessor_guided import DEFAULT_ASSESSOR_PARAMS, GCN_TOP

    path = SHARED / "nb101_sample20k.csv"
    if not path.exists():
        print(f"NB101 round skipped: {path} is missing")
        return
    bench = datasets.load("nasbench101", path=str(path), metric="valid_accuracy_108")
    space = bench.space
    rng = np.random.default_rng(seed)
    table = list(bench.archs())
    rows = rng.choice(len(table), size=n_labels + 20, replace=False)
    labelled = [table[int(i)] for i in rows[:n_labels]]
    pending = [table[int(i)] for i in rows[n_labels:]]
    y = bench.query_many(labelled)
    params = DEFAULT_ASSESSOR_PARAMS if assessor == "search" else {}
    threads = torch.get_num_threads()
    assessor_, fit, fit_cpu = cpu_timed(
        lambda: Assessor(space="nasbench101", random_state=seed, device=device,
                         num_threads=threads, **params).fit(labelled, y))
    print(f"NB101 round, {assessor} assessor settings: fitted on {n_labels} cells in {fit:.1f} s "
          f"({fit_cpu:.1f} s CPU)")
    parents = [labelled[int(i)] for i in np.argsort(-y)[:100]]
    exclude = set(space.hash_many(labelled + pending))

    def generate():
        nbrs, _ = space.neighbours_many(labelled, device=device)
        mutants = space.mutate_many([p for p in parents for _ in range(1000)], rng,
                                    device=device)
        fresh = space.to_tensors(space.sample_unique(n_candidates, rng), device=device)
        return cat([nbrs, mutants, fresh])

    batch, *t_gen = cpu_timed(generate)
    kept, *t_dedupe = cpu_timed(
        lambda: space.dedupe(batch, exclude=exclude, device=device)[0][:n_candidates])
    cells, *t_cells = cpu_timed(kept.cells)
    gcn_top = GCN_TOP if assessor == "search" else None
    pred, *t_pred = cpu_timed(lambda: assessor_.predict(cells, gcn_top=gcn_top))
    print(f"  {len(cells):,} new candidates ({len(batch):,} generated, "
          f"{len(set(space.hash_many(kept)) & exclude)} evaluated/pending kept)"
          + (f"; the GCN head scores the {gcn_top:,} best by the regressor head" if gcn_top
             else ""))
    parts = {"generate": t_gen, "dedupe": t_dedupe, "cells": t_cells, "predict": t_pred}
    total = np.sum(list(parts.values()), axis=0)
    print("  " + "   ".join(f"{k} {w:6.2f} s ({c:5.2f} CPU)" for k, (w, c) in
                            {**parts, "total": total}.items()))
    print(f"  best predicted {pred.max():.4f}")
    if gcn_top:
        full, *t_full = cpu_timed(lambda: assessor_.predict(cells))
        order, full_order = np.argsort(-pred, kind="stable"), np.argsort(-full, kind="stable")
        same = "   ".join(f"top-{k} {len(set(order[:k]) & set(full_order[:k])) / k:.0%}"
                          for k in (3, 10, 100, 1000))
        print(f"  against the GCN head on every cell (predict {t_full[0]:.2f} s, "
              f"{t_full[1]:.2f} s CPU): the same best cells {same}")


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
    parser.add_argument("--candidates", action="store_true",
                        help="only the batched-candidate figures (mutations/s, NB101 round)")
    parser.add_argument("--n-round", type=int, default=100_000,
                        help="candidates of the NB101 search round")
    parser.add_argument("--device", default="auto", help="device of the batched operations")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (1 is fastest on a busy machine)")
    args = parser.parse_args()
    if args.threads < 1 or args.n_round < 1:
        parser.error(f"--threads and --n-round must be >= 1 (got {args.threads}, "
                     f"{args.n_round})")
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    print(f"torch threads: {torch.get_num_threads()}")
    loops = {"nasbench101": 3_000, "nasbench201": 20_000, "nasbench-graph": 5_000}
    for name in args.spaces:
        bench_mutations(name, loops[name], 100_000, args.device, args.seed)
    for settings in ("search", "default"):
        bench_round(args.n_round, 100, args.device, args.seed, settings)
    print()
    if args.candidates:
        return
    if "nasbench101" in args.spaces:
        bench_enumeration(args.rebuild, args.n_jobs)
    for name in args.spaces:
        bench_conversion(name, args.n_graph, args.n_batch, rng)


if __name__ == "__main__":
    main()
