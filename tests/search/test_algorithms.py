"""Every algorithm: respects the budget, never queries one cell twice, is deterministic per seed."""

from __future__ import annotations

import warnings

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
    ("assessor", {"beta": float("nan")}, "beta"),
    ("assessor", {"n_explore": -1}, "n_explore"),
    ("local", {"zc_warmup": 1.5}, "zc_warmup"),
    ("assessor", {"prior": "synflow"}, "prior"),
    ("assessor", {"prior_weight": -0.5}, "prior_weight"),
    ("assessor", {"explore": "naswot"}, "explore"),
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


def test_beta_ranks_candidates_by_mean_plus_beta_std(nb201_bench, nb201_domain, monkeypatch):
    from gnnpred import Assessor

    ranked = []
    real = Assessor.predict

    def recording(self, archs, **kw):
        out = real(self, archs, **kw)
        if kw.get("return_std"):
            ranked.append(out)
        return out

    monkeypatch.setattr(Assessor, "predict", recording)
    base = algorithm_params("assessor")
    params = {**base, "beta": 2.0, "assessor_params": {**base["assessor_params"], "n_heads": 2}}
    budget = params["n_init"] + 2 * params["per_round"]
    ucb = run_search(get_algorithm("assessor", **params), nb201_bench, budget, seed=0, domain=nb201_domain,
                     device="cpu")
    assert ranked and all(np.any(std > 0) for _, std in ranked)  # two heads disagree somewhere
    ranked.clear()
    plain = run_search(get_algorithm("assessor", **{**params, "beta": 0.0}), nb201_bench, budget, seed=0,
                       domain=nb201_domain, device="cpu")
    assert not ranked  # beta 0 asks for the mean only
    # same initial design; the optimism bonus changes which cells the rounds pick
    assert ucb.archs[: params["n_init"]] == plain.archs[: params["n_init"]]
    assert ucb.archs != plain.archs


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_unknown_parameter_names_are_rejected(name):
    with pytest.raises(ValueError, match="no hyper-parameter 'n_explor'") as info:
        get_algorithm(name, n_explor=1)
    for known in ALGORITHMS[name].param_names:
        assert known in str(info.value)
    get_algorithm(name, **algorithm_params(name))  # the tests' own parameters are all known


def test_rarity_counts_the_rarest_feature_a_neighbour_adds(nb201_bench, nb201_domain):
    space = nb201_bench.space
    algo = get_algorithm("assessor", **algorithm_params("assessor")).setup(nb201_domain, 0, 10, device="cpu")
    parent = space.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    evaluated = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|",
                 "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|skip_connect~2|",
                 "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|skip_connect~2|"]
    algo.archs = [space.from_string(t) for t in evaluated]
    cells = [space.from_string(t) for t in (
        "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|",  # seen twice
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",  # once
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|",  # never
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|",  # adds nothing
    )]
    rarity = algo._rarity(parent, cells)
    assert rarity[:3].tolist() == [2, 1, 0]
    assert rarity[3] > 10**9


def test_n_explore_spends_local_picks_on_rare_features(nb201_bench, nb201_domain):
    params = {**algorithm_params("assessor"), "n_explore": 1, "per_round": 2, "local_fraction": 1.0,
              "explore": "rarity"}
    budget = params["n_init"] + 4 * params["per_round"]
    algo = get_algorithm("assessor", **params)
    result = run_search(algo, nb201_bench, budget, seed=3, domain=nb201_domain, device="cpu")
    assert len(result.archs) == budget and len({nb201_domain.key(a) for a in result.archs}) == budget
    space = nb201_bench.space
    for r in range(4):  # each round: the best predicted neighbour, then the rarest-feature one
        start = params["n_init"] + r * params["per_round"]
        before = result.archs[:start]
        best = before[int(np.argmax(result.values[:start]))]
        algo.archs = list(before)
        neighbours = nb201_domain.dedupe_list(nb201_domain.neighbours(best), {nb201_domain.key(a) for a in before})
        explored = result.archs[start + 1]
        rarity = dict(zip([space.to_string(c) for c in neighbours], algo._rarity(best, neighbours), strict=True))
        others = [v for k, v in rarity.items() if k != space.to_string(result.archs[start])]
        assert rarity[space.to_string(explored)] == min(others)
    plain = run_search(get_algorithm("assessor", **{**params, "n_explore": 0}), nb201_bench, budget, seed=3,
                       domain=nb201_domain, device="cpu")
    assert plain.archs != result.archs


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
        if names == ["params"]:  # the warm-up's proxy (the assessor's exploration pick uses synflow)
            seen.update(zip(archs, out[names[0]], strict=True))
        return out

    monkeypatch.setattr(proxies, "score", recording)
    algo = get_algorithm(name, zc_warmup=8, zc_proxy="params", **params)
    res = run_search(algo, nb201_bench, n_first + 1, seed=0, domain=nb201_domain, device="cpu")
    assert n_first < len(seen) <= 8  # 8 draws, equivalent cells scored once
    top = sorted(seen.values(), reverse=True)[:n_first]
    assert [seen[a] for a in res.archs[:n_first]] == top


def test_explore_scores_each_neighbour_once_with_the_searchs_seed(nb201_bench, nb201_domain, monkeypatch):
    from gnnpred import proxies

    calls = []
    real = proxies.score

    def recording(space, archs, names, **kw):
        calls.append((list(archs), list(names), kw["random_state"]))
        return real(space, archs, names, **kw)

    monkeypatch.setattr(proxies, "score", recording)
    params = {**algorithm_params("assessor"), "per_round": 3, "local_fraction": 1.0, "n_explore": 1}
    budget = params["n_init"] + 4 * params["per_round"]
    result = run_search(get_algorithm("assessor", **params), nb201_bench, budget, seed=4, domain=nb201_domain,
                        device="cpu")
    assert len({nb201_domain.key(a) for a in result.archs}) == budget
    assert calls and all(names == ["synflow"] and seed == 4 for _, names, seed in calls)
    scored = [nb201_domain.key(a) for archs, _, _ in calls for a in archs]
    assert len(scored) == len(set(scored))  # cached: no cell is scored twice
    n_calls = len(calls)
    off = run_search(get_algorithm("assessor", **{**params, "explore": "rarity"}), nb201_bench, budget, seed=4,
                     domain=nb201_domain, device="cpu")
    assert len(calls) == n_calls  # "rarity" scores nothing
    assert off.archs != result.archs


def _assessor_at(nb201_domain, archs, values, **extra):
    """An assessor-guided search set up as if ``archs`` had been queried, in that order."""
    algo = get_algorithm("assessor", **{**algorithm_params("assessor"), **extra}).setup(nb201_domain, 5, 50,
                                                                                       device="cpu")
    for a, v in zip(archs, values, strict=True):
        algo.archs.append(a)
        algo.values.append(float(v))
        algo.seen.add(nb201_domain.key(a))
    return algo


def _some_cells(nb201_bench, nb201_domain, n=8, seed=11):
    rng = np.random.default_rng(seed)
    cells = nb201_domain.dedupe_list([nb201_domain.sample(rng) for _ in range(3 * n)], set())[:n]
    return cells, [nb201_bench.query(c) for c in cells]


def test_a_round_depends_on_which_cells_were_evaluated_not_their_order(nb201_bench, nb201_domain):
    cells, values = _some_cells(nb201_bench, nb201_domain)
    first = _assessor_at(nb201_domain, cells, values)._next_round()
    perm = np.random.default_rng(0).permutation(len(cells))
    again = _assessor_at(nb201_domain, [cells[i] for i in perm], [values[i] for i in perm])._next_round()
    assert [nb201_domain.key(c) for c in again] == [nb201_domain.key(c) for c in first]
    assert len(first) == algorithm_params("assessor")["per_round"]


@pytest.mark.parametrize("explore", ["rarity", "synflow"])
def test_round_queries_best_neighbour_then_best_overall_then_explored_neighbour(explore, nb201_bench,
                                                                                  nb201_domain):
    from gnnpred import proxies

    cells, values = _some_cells(nb201_bench, nb201_domain, seed=12)
    algo = _assessor_at(nb201_domain, cells, values, per_round=3, n_explore=1, local_fraction=0.8,
                        exhaustive_max=20000, explore=explore)
    exploit, overall, explore_pick = algo._next_round()  # algo.assessor is now this round's fit
    key = nb201_domain.key
    parent = algo._parents()[0]
    local = algo._local([parent])
    pred = dict(zip(map(key, local), algo._score(local), strict=True))
    assert key(exploit) == max(pred, key=pred.get)
    rest = [c for c in local if key(c) != key(exploit)]
    if explore == "rarity":
        rarity = dict(zip(map(key, rest), algo._rarity(parent, rest), strict=True))
        assert key(explore_pick) in rarity and rarity[key(explore_pick)] == min(rarity.values())
    else:  # the highest synflow of the remaining neighbours' networks, scored with the search's seed
        with warnings.catch_warnings():  # cells cut off by 'none' edges warn that they score 0
            warnings.simplefilter("ignore", RuntimeWarning)
            syn = proxies.score(nb201_domain.space, rest, names=["synflow"], device="cpu", random_state=5,
                                verbose=False)["synflow"]
        assert key(explore_pick) == key(rest[int(np.argmax(syn))])
    unseen = [c for c in nb201_domain.unseen(algo.seen) if key(c) not in {key(exploit), key(explore_pick)}]
    assert key(overall) == key(unseen[int(np.argmax(algo._score(unseen)))])


def test_refits_see_the_evaluated_cells_in_table_order(nb201_bench, nb201_domain, monkeypatch):
    from gnnpred import Assessor

    calls = []
    real = Assessor.fit

    def recording(self, archs, y, unlabeled=None, sample_weight=None):
        calls.append((list(archs), np.asarray(y, dtype=float)))
        return real(self, archs, y, unlabeled=unlabeled, sample_weight=sample_weight)

    monkeypatch.setattr(Assessor, "fit", recording)
    params = algorithm_params("assessor")
    res = run_search(get_algorithm("assessor", **params), nb201_bench, params["n_init"] + 2 * params["per_round"] + 1,
                     seed=1, domain=nb201_domain, device="cpu")
    queried = {nb201_domain.key(a): v for a, v in zip(res.archs, res.values, strict=True)}
    assert [len(archs) for archs, _ in calls] == [8, 12, 16]
    for archs, y in calls:
        rows = [nb201_domain.index(a) for a in archs]
        assert rows == sorted(rows)
        assert y.tolist() == [queried[nb201_domain.key(a)] for a in archs]


def test_prior_blends_parameter_counts_into_the_ranking_and_fades(nb201_bench, nb201_domain):
    from scipy.stats import rankdata

    cells, values = _some_cells(nb201_bench, nb201_domain, seed=13)
    algo = _assessor_at(nb201_domain, cells, values, exhaustive_max=20000)
    assert algo.prior == "params"  # auto: NB201 counts parameters in closed form
    algo._next_round()  # fits the assessor
    unseen = nb201_domain.unseen(algo.seen)
    pred, score = algo._predict(unseen), algo._score(unseen)
    counts = nb201_bench.space.param_counts(unseen)

    def z(v):
        r = rankdata(v)
        return (r - r.mean()) / r.std()

    weight = algo.n_init / len(algo.values)  # prior_weight 1
    np.testing.assert_allclose(score, z(pred) + weight * z(counts))
    # the prior's pull shrinks as labels accumulate
    algo.values.extend([0.0] * len(algo.values))
    np.testing.assert_allclose(algo._score(unseen), z(pred) + weight / 2 * z(counts))


def test_a_dominant_prior_queries_the_largest_network_first(nb201_bench, nb201_domain):
    params = {**algorithm_params("assessor"), "exhaustive_max": 20000, "local_fraction": 0.0, "per_round": 1,
              "prior_weight": 1e6}
    res = run_search(get_algorithm("assessor", **params), nb201_bench, params["n_init"] + 1, seed=0,
                     domain=nb201_domain, device="cpu")
    counts = nb201_bench.space.param_counts(nb201_domain.archs)
    assert counts[nb201_domain.index(res.archs[-1])] == counts.max()
    off = run_search(get_algorithm("assessor", **{**params, "prior": "none"}), nb201_bench, params["n_init"] + 1,
                     seed=0, domain=nb201_domain, device="cpu")
    assert off.archs[: params["n_init"]] == res.archs[: params["n_init"]]
    assert counts[nb201_domain.index(off.archs[-1])] < counts.max()


def test_auto_prior_is_off_without_closed_form_counts(nb201_bench, nb201_domain, monkeypatch):
    from gnnpred.spaces.base import SearchSpace

    monkeypatch.setattr(type(nb201_bench.space), "param_counts", SearchSpace.param_counts)
    assert not nb201_bench.space.has_fast_param_counts()
    algo = get_algorithm("assessor", **algorithm_params("assessor")).setup(nb201_domain, 0, 20, device="cpu")
    assert algo.prior == "none"
    slow = get_algorithm("assessor", **algorithm_params("assessor"), prior="params").setup(nb201_domain, 0, 20,
                                                                                          device="cpu")
    assert slow.prior == "params" and not slow._prior_cache  # counted lazily, by building networks
    cells = nb201_domain.archs[:3]
    np.testing.assert_array_equal(slow._prior_values(cells), SearchSpace.param_counts(nb201_bench.space, cells))
    assert len(slow._prior_cache) == len({nb201_domain.key(c) for c in cells})


def test_auto_explore_follows_the_spaces_guide_proxy(nb201_bench, nb201_domain, monkeypatch):
    from gnnpred.proxies import DATA_FREE
    from gnnpred.spaces import available_spaces, get_space

    def setup(**extra):
        return get_algorithm("assessor", **algorithm_params("assessor"), **extra).setup(nb201_domain, 0, 20,
                                                                                         device="cpu")

    assert nb201_bench.space.guide_proxy == "synflow" and setup().explore == "synflow"
    assert setup(explore="params").explore == "params"
    monkeypatch.setattr(type(nb201_bench.space), "guide_proxy", None)
    assert setup().explore == "rarity"
    assert setup(explore="flops").explore == "flops"
    for name in available_spaces():  # a space names a proxy the search can compute without data
        assert get_space(name).guide_proxy in (None, *DATA_FREE)
