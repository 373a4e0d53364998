"""Every algorithm: respects the budget, never queries one cell twice, is deterministic per seed."""

from __future__ import annotations

import numpy as np
import pytest

from search.algorithms import ALGORITHMS, get_algorithm
from search.engine import run_search
from tests.search.conftest import algorithm_params

BUDGETS = {"random": 60, "evolution": 60, "local": 60, "assessor": 20}


class CountingBench:
    """Wraps a real benchmark and counts the queries made through it."""

    def __init__(self, bench):
        self._bench = bench
        self.space, self.metric, self.name = bench.space, bench.metric, bench.name
        self.calls: list = []

    def archs(self):
        return self._bench.archs()

    def values(self, metric=None):
        return self._bench.values(metric)

    def query(self, arch, metric=None):
        self.calls.append(arch)
        return self._bench.query(arch, metric)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_budget_and_no_repeats(name, nb201_bench, nb201_domain):
    bench = CountingBench(nb201_bench)
    budget = BUDGETS[name]
    res = run_search(get_algorithm(name, **algorithm_params(name)), bench, budget, seed=3,
                     domain=nb201_domain, device="cpu")
    assert res.n_queries == budget == len(bench.calls)
    keys = [nb201_domain.key(a) for a in bench.calls]
    assert len(set(keys)) == budget, "a cell (or an equivalent one) was queried twice"
    np.testing.assert_array_equal(res.values, [nb201_bench.query(a) for a in res.archs])
    assert res.best_value == max(res.values)
    assert 1 <= res.queries_to_best <= budget


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_deterministic_per_seed(name, nb201_bench, nb201_domain):
    budget = BUDGETS[name] // 2 if name == "assessor" else BUDGETS[name]
    strings = nb201_domain.space.to_string
    params = algorithm_params(name)
    if name == "assessor":  # rank every unseen cell (the other tests rank mutations + samples)
        params["exhaustive_max"] = 20000

    def run(seed):
        res = run_search(get_algorithm(name, **params), nb201_bench, budget, seed,
                         domain=nb201_domain, device="cpu")
        return [strings(a) for a in res.archs]

    first = run(5)
    assert run(5) == first
    if name != "assessor":  # (the assessor's extra run is what costs time)
        assert run(6) != first


def test_hash_dedupe_allows_equivalent_cells(nb201_bench):
    from search.domain import Domain

    canon = Domain(nb201_bench, dedupe="canonical")
    plain = Domain(nb201_bench, dedupe="hash")
    assert plain.n_keys == len(nb201_bench) > canon.n_keys


def test_stop_at_optimum(nb201_bench, nb201_domain):
    res = run_search("local", nb201_bench, 3000, seed=0, domain=nb201_domain, stop_at_optimum=True)
    assert res.queries_to_optimum == res.n_queries
    assert res.best_value == pytest.approx(float(np.max(nb201_bench.values())))


def test_evolution_beats_random_on_average(nb201_bench, nb201_domain):
    best = {name: np.mean([run_search(name, nb201_bench, 100, s, domain=nb201_domain).best_value
                           for s in range(8)]) for name in ("random", "evolution")}
    assert best["evolution"] > best["random"]


@pytest.mark.parametrize("name, params, word", [
    ("evolution", {"population_size": 0}, "population_size"),
    ("evolution", {"population_size": 5, "sample_size": 6}, "sample_size"),
    ("assessor", {"per_round": -1}, "per_round"),
    ("assessor", {"top_weight": -1}, "top_weight"),
    ("local", {"zc_warmup": 1.5}, "zc_warmup"),
])
def test_bad_parameters(name, params, word, nb201_bench, nb201_domain):
    with pytest.raises(ValueError, match=word):
        run_search(get_algorithm(name, **params), nb201_bench, 5, domain=nb201_domain)


def test_top_weight_stresses_the_best_cells_in_each_refit(nb201_bench, nb201_domain, monkeypatch):
    from gnnpred import Assessor

    calls = []
    real = Assessor.fit

    def recording(self, archs, y, unlabeled=None, sample_weight=None):
        calls.append((np.asarray(y, dtype=float), sample_weight))
        return real(self, archs, y, unlabeled=unlabeled, sample_weight=sample_weight)

    monkeypatch.setattr(Assessor, "fit", recording)
    params = {**algorithm_params("assessor"), "top_weight": 4.0}
    run_search(get_algorithm("assessor", **params), nb201_bench, params["n_init"] + 2 * params["per_round"] + 1,
               seed=0, domain=nb201_domain, device="cpu")
    assert len(calls) == 3
    for y, w in calls:
        order = np.argsort(y, kind="stable")
        assert np.all(np.diff(w[order]) > 0)  # strictly heavier the better the cell
        assert w[order[0]] == pytest.approx(1.0) and w[order[-1]] == pytest.approx(5.0)


def test_unknown_algorithm_and_budget(nb201_bench, nb201_domain):
    with pytest.raises(ValueError, match="Unknown search algorithm 'genetic'"):
        get_algorithm("genetic")
    with pytest.raises(ValueError, match="budget"):
        run_search("random", nb201_bench, 0, domain=nb201_domain)


@pytest.mark.parametrize("name, n_first, params", [
    ("evolution", 3, {"population_size": 3, "sample_size": 2}),
    ("local", 1, {}),
    ("assessor", 3, {**algorithm_params("assessor"), "n_init": 3}),
])
def test_zero_cost_warmup_seeds_the_start(name, n_first, params, nb201_bench, nb201_domain, monkeypatch):
    from gnnpred import proxies

    seen = {}
    real = proxies.score

    def recording(space, archs, names, **kw):
        out = real(space, archs, names, **kw)
        seen.update(zip(archs, out[names[0]], strict=True))
        return out

    monkeypatch.setattr(proxies, "score", recording)
    algo = get_algorithm(name, zc_warmup=8, zc_proxy="params", **params)
    res = run_search(algo, nb201_bench, n_first + 1, seed=0, domain=nb201_domain, device="cpu")
    assert n_first < len(seen) <= 8  # 8 draws, equivalent cells scored once
    top = sorted(seen.values(), reverse=True)[:n_first]
    assert [seen[a] for a in res.archs[:n_first]] == top
