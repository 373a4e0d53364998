"""Local search: walk the neighbours of the current cell, climb to the best, else restart."""

from __future__ import annotations

import math

import numpy as np

from search.algorithms import LocalSearch
from tests.search.conftest import drive, with_failures


def test_queries_the_neighbourhood_then_climbs_or_restarts(embedded_bench, embedded_domain):
    key = embedded_domain.key
    archs, values = drive(LocalSearch(), embedded_bench, 200, seed=0, domain=embedded_domain)
    centre, centre_value, walked = archs[0], values[0], []
    for arch, value in zip(archs[1:], values[1:], strict=True):
        nbs = {key(n) for n in embedded_domain.neighbours(centre)}
        if key(arch) in nbs:
            walked.append((arch, value))
            continue
        # the neighbourhood is exhausted: climb to its best cell if it beats the centre
        best = max(walked, key=lambda w: w[1]) if walked else None
        if best is not None and best[1] > centre_value:
            centre, centre_value = best
            assert key(arch) in {key(n) for n in embedded_domain.neighbours(centre)}
        else:
            centre, centre_value = arch, value  # a restart
        walked = []
    assert max(values) > np.percentile(embedded_bench.values(), 99)


def test_reaches_the_optimum(embedded_bench, embedded_domain):
    algo = LocalSearch().setup(embedded_domain, seed=0, budget=3000)
    optimum = float(np.max(embedded_bench.values()))
    while len(algo.archs) < 3000 and (not algo.archs or algo.best()[1] < optimum):
        arch = algo.propose()
        algo.observe(arch, embedded_bench.query(arch))
    assert algo.best()[1] == optimum and len(algo.archs) < 3000


def test_a_failed_neighbour_does_not_stop_the_climb(embedded_bench, embedded_domain):
    # the start's first queried neighbour fails; the climb must still go to the best other one
    archs, values = drive(LocalSearch(), embedded_bench, 2, seed=3, domain=embedded_domain)
    start, first = archs
    rows = [embedded_domain.index(first)]
    low = np.array(embedded_bench.values(), dtype=float)
    low[embedded_domain.index(start)] = 0.0  # every successful neighbour beats the start
    bench = with_failures(_with_values(embedded_bench, low), rows)
    algo = LocalSearch()
    centres = []
    drive(algo, bench, 40, seed=3, domain=embedded_domain,
          on_observe=lambda a, arch, value: centres.append(a.current))
    assert all(c is None or math.isfinite(c[1]) for c in centres)
    moved = [c for c in centres if c is not None and c[0] != start]
    assert moved, "local search restarted instead of climbing to the best finite neighbour"
    assert moved[0][0] in embedded_domain.neighbours(start)


def test_a_failed_start_is_replaced(embedded_bench, embedded_domain):
    archs, _ = drive(LocalSearch(), embedded_bench, 1, seed=5, domain=embedded_domain)
    bench = with_failures(embedded_bench, [embedded_domain.index(archs[0])])
    algo = LocalSearch()
    got, values = drive(algo, bench, 2, seed=5, domain=embedded_domain)
    assert math.isnan(values[0]) and algo.current[0] == got[1]


def _with_values(bench, values):
    from datasets.base import Benchmark

    return Benchmark(bench.name, bench.space, bench.archs(), {bench.metric: values},
                     dataset=bench.dataset)
