"""Regularized evolution: a population of successful cells, children one edit from a member."""

from __future__ import annotations

import math

import numpy as np

from search.algorithms import RandomSearch, RegularizedEvolution
from tests.search.conftest import drive, with_failures


def _neighbour_keys(domain, arch) -> set:
    return {domain.key(n) for n in domain.neighbours(arch)}


def test_children_are_mutations_of_the_population(embedded_bench, embedded_domain):
    algo = RegularizedEvolution(population_size=10, sample_size=3)
    members = []

    def check(algo, arch, value):
        if len(members) == 10:  # full: each query is a child of a member (no fallback needed)
            assert embedded_domain.key(arch) in set().union(
                *(_neighbour_keys(embedded_domain, m) for m in members))
        members.append(arch)
        del members[:-10]
        assert [a for a, _ in algo.population] == members  # the oldest member dies

    drive(algo, embedded_bench, 60, seed=0, domain=embedded_domain, on_observe=check)


def test_failed_cells_never_join_the_population(embedded_bench, embedded_domain):
    # half the table fails: the population fills with successful cells only
    rows = np.random.default_rng(1).choice(len(embedded_bench), len(embedded_bench) // 2,
                                           replace=False)
    bench = with_failures(embedded_bench, rows)
    algo = RegularizedEvolution(population_size=8, sample_size=4)
    alive: list = []

    def check(algo, arch, value):
        if len(alive) == 8:
            parents = set().union(*(_neighbour_keys(embedded_domain, m) for m in alive))
            assert embedded_domain.key(arch) in parents
        if not math.isnan(value):
            alive.append(arch)
            del alive[:-8]
        assert all(math.isfinite(v) for _, v in algo.population)
        assert [a for a, _ in algo.population] == alive

    _, values = drive(algo, bench, 80, seed=2, domain=embedded_domain, on_observe=check)
    assert sum(map(math.isnan, values)) > 10


def test_beats_random_on_average(embedded_bench, embedded_domain):
    def mean_best(make):
        return np.mean([max(drive(make(), embedded_bench, 100, seed=s,
                                  domain=embedded_domain)[1]) for s in range(8)])

    assert mean_best(RegularizedEvolution) > mean_best(RandomSearch)


def test_zero_cost_warmup_seeds_the_population(embedded_bench, embedded_domain, monkeypatch):
    from gnnpred import proxies

    scored = {}
    real = proxies.score

    def recording(space, archs, names, **kw):
        out = real(space, archs, names, **kw)
        scored.update(zip(archs, out[names[0]], strict=True))
        return out

    monkeypatch.setattr(proxies, "score", recording)
    algo = RegularizedEvolution(population_size=3, sample_size=2, zc_warmup=8, zc_proxy="params")
    archs, _ = drive(algo, embedded_bench, 4, seed=0, domain=embedded_domain)
    assert 3 < len(scored) <= 8  # 8 draws, equivalent cells scored once
    assert [scored[a] for a in archs[:3]] == sorted(scored.values(), reverse=True)[:3]
