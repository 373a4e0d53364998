"""Assessor-guided search through its public methods, on the embedded NB201 table."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from search.algorithms import SPACE_HINTS, AssessorGuidedSearch, SpaceHints
from tests.search.conftest import FAST_ASSESSOR, drive, with_failures


def _algo(**extra) -> AssessorGuidedSearch:
    return AssessorGuidedSearch(**{**FAST_ASSESSOR, **extra})


@pytest.fixture()
def fits(monkeypatch):
    """Every ``Assessor.fit`` call of the test: (archs, y, sample_weight)."""
    from gnnpred import Assessor

    calls = []
    real = Assessor.fit

    def recording(self, archs, y, **kw):
        calls.append((list(archs), np.asarray(y, dtype=float), kw.get("sample_weight")))
        return real(self, archs, y, **kw)

    monkeypatch.setattr(Assessor, "fit", recording)
    return calls


def _observe(algo, bench, cells):
    for cell in cells:
        algo.observe(cell, bench.query(cell))


def _some_cells(domain, n=8, seed=11):
    rng = np.random.default_rng(seed)
    return domain.dedupe_list([domain.sample(rng) for _ in range(3 * n)], set())[:n]


def _propose_round(algo, bench, n):
    out = []
    for _ in range(n):
        out.append(algo.propose())
        algo.observe(out[-1], bench.query(out[-1]))
    return out


def test_refits_see_the_labelled_cells_in_table_order(embedded_bench, embedded_domain, fits):
    algo = _algo(top_weight=4.0, explore="rarity")  # (exploration does not change a refit)
    budget = FAST_ASSESSOR["n_init"] + 2 * FAST_ASSESSOR["per_round"] + 1
    archs, values = drive(algo, embedded_bench, budget, seed=1, domain=embedded_domain)
    queried = dict(zip(map(embedded_domain.key, archs), values, strict=True))
    assert [len(a) for a, _, _ in fits] == [8, 12, 16]
    for cells, y, w in fits:
        rows = [embedded_domain.index(a) for a in cells]
        assert rows == sorted(rows)
        assert y.tolist() == [queried[embedded_domain.key(a)] for a in cells]
        # top_weight: strictly heavier the better the cell, from 1 to 1 + top_weight
        order = np.argsort(y, kind="stable")
        assert np.all(np.diff(w[order]) > 0)
        assert w[order[0]] == pytest.approx(1.0) and w[order[-1]] == pytest.approx(5.0)


def test_failed_evaluations_are_never_labels(embedded_bench, embedded_domain, fits):
    # the initial design fails in part, and so does a fifth of the table
    first, _ = drive(_algo(), embedded_bench, FAST_ASSESSOR["n_init"], seed=0,
                     domain=embedded_domain)
    rows = np.random.default_rng(2).choice(len(embedded_bench), len(embedded_bench) // 5,
                                           replace=False)
    bench = with_failures(embedded_bench, [*rows, *(embedded_domain.index(a) for a in first[::2])])
    algo = _algo(explore="rarity")  # (the labels do not depend on how neighbours are explored)
    budget = FAST_ASSESSOR["n_init"] + 4 * FAST_ASSESSOR["per_round"]
    archs, values = drive(algo, bench, budget, seed=0, domain=embedded_domain)
    assert len(fits) == 4 and sum(map(math.isnan, values)) >= FAST_ASSESSOR["n_init"] // 2
    for cells, y, _ in fits:
        assert np.all(np.isfinite(y)) and all(math.isfinite(bench.query(a)) for a in cells)
    assert algo.best()[1] == np.nanmax(values)


def test_a_round_depends_on_which_cells_were_evaluated_not_their_order(embedded_bench,
                                                                       embedded_domain):
    cells = _some_cells(embedded_domain)
    picks = []
    for order in (range(len(cells)), np.random.default_rng(0).permutation(len(cells))):
        algo = _algo().setup(embedded_domain, 5, 20, device="cpu")
        _observe(algo, embedded_bench, [cells[int(i)] for i in order])
        picks.append([embedded_domain.key(a) for a in
                      _propose_round(algo, embedded_bench, FAST_ASSESSOR["per_round"])])
    assert picks[0] == picks[1]


def _rarity(space, parent, cells, labelled):
    """How often ``labelled`` holds the rarest feature each cell adds to ``parent``."""
    enc = space.encode([parent, *cells]) > 0
    counts = (space.encode(labelled) > 0).sum(0)
    return [min((counts[j] for j in np.flatnonzero(e & ~enc[0])), default=math.inf)
            for e in enc[1:]]


@pytest.mark.parametrize("explore", ["rarity", "synflow"])
def test_round_queries_best_neighbour_then_best_overall_then_explored_neighbour(
        explore, embedded_bench, embedded_domain):
    from gnnpred import proxies

    key, space = embedded_domain.key, embedded_domain.space
    cells = _some_cells(embedded_domain, seed=12)
    algo = _algo(per_round=3, n_explore=1, local_fraction=0.8, exhaustive_max=20000,
                 prior="none", explore=explore).setup(embedded_domain, 5, 20, device="cpu")
    _observe(algo, embedded_bench, cells)
    seen, parent = set(algo.seen), algo.best()[0]
    exploit, overall, explore_pick = _propose_round(algo, embedded_bench, 3)
    local = embedded_domain.dedupe_list(embedded_domain.neighbours(parent), seen)
    pred = algo.assessor_.predict(local)  # this round's fit
    assert key(exploit) == key(local[int(np.argmax(pred))])
    rest = [local[int(i)] for i in np.argsort(-pred, kind="stable")[1:]]  # ties: best predicted
    if explore == "rarity":
        rarity = _rarity(space, parent, rest, cells)
        assert key(explore_pick) == key(rest[int(np.argmin(rarity))])
    else:  # the highest synflow of the remaining neighbours, scored with the search's seed
        with warnings.catch_warnings():  # cells cut off by 'none' edges score 0
            warnings.simplefilter("ignore", RuntimeWarning)
            syn = proxies.score(space, rest, names=["synflow"], device="cpu", random_state=5,
                                verbose=False)["synflow"]
        assert key(explore_pick) == key(rest[int(np.argmax(syn))])
    unseen = [c for c in embedded_domain.unseen(seen)
              if key(c) not in {key(exploit), key(explore_pick)}]
    assert key(overall) == key(unseen[int(np.argmax(algo.assessor_.predict(unseen)))])


def test_n_explore_zero_orders_local_picks_by_prediction(embedded_bench, embedded_domain):
    cells = _some_cells(embedded_domain, seed=12)
    algo = _algo(per_round=2, n_explore=0, local_fraction=1.0, prior="none", explore="rarity")
    algo.setup(embedded_domain, 5, 20, device="cpu")
    _observe(algo, embedded_bench, cells)
    seen, parent = set(algo.seen), algo.best()[0]
    picks = _propose_round(algo, embedded_bench, 2)
    local = embedded_domain.dedupe_list(embedded_domain.neighbours(parent), seen)
    order = np.argsort(-algo.assessor_.predict(local), kind="stable")
    assert list(map(embedded_domain.key, picks)) == [embedded_domain.key(local[int(i)])
                                                      for i in order[:2]]


def test_a_dominant_prior_queries_the_largest_network_first(embedded_bench, embedded_domain):
    params = {"exhaustive_max": 20000, "local_fraction": 0.0, "per_round": 1,
              "prior_weight": 1e6}
    n = FAST_ASSESSOR["n_init"] + 1
    archs, _ = drive(_algo(**params), embedded_bench, n, seed=0, domain=embedded_domain)
    counts = embedded_domain.space.param_counts(embedded_domain.unseen(
        {embedded_domain.key(a) for a in archs[:-1]}))
    assert embedded_domain.space.param_counts([archs[-1]])[0] == counts.max()
    off, _ = drive(_algo(**params, prior="none"), embedded_bench, n, seed=0,
                   domain=embedded_domain)
    assert off[:-1] == archs[:-1] and off[-1] != archs[-1]


def test_auto_choices_follow_the_space_hints(embedded_domain, monkeypatch):
    algo = _algo().setup(embedded_domain, 0, 20, device="cpu")
    assert (algo.prior_, algo.explore_) == ("params", "synflow")  # NB201's hints
    assert _algo(explore="rarity", prior="none").setup(embedded_domain, 0, 20).explore_ == "rarity"
    assert _algo(prior_weight=0.0).setup(embedded_domain, 0, 20).prior_ == "none"
    monkeypatch.setitem(SPACE_HINTS, "nasbench201", SpaceHints())
    algo = _algo().setup(embedded_domain, 0, 20, device="cpu")
    assert (algo.prior_, algo.explore_) == ("none", "rarity")
    assert _algo(prior="params", explore="synflow").setup(embedded_domain, 0, 20).prior_ == "params"


def test_space_hints_name_real_proxies_and_closed_form_counts():
    from gnnpred.proxies import DATA_FREE
    from gnnpred.spaces import get_space
    from gnnpred.spaces.base import SearchSpace

    for name, hints in SPACE_HINTS.items():
        space = get_space(name)
        assert space.name == name
        assert hints.guide_proxy in (None, *DATA_FREE)
        if hints.fast_param_counts:  # the space overrides the network-building default
            assert type(space).param_counts is not SearchSpace.param_counts


def test_beta_ranks_by_mean_plus_beta_std(embedded_bench, embedded_domain, monkeypatch):
    from gnnpred import Assessor

    asked = []
    real = Assessor.predict

    def recording(self, archs, **kw):
        out = real(self, archs, **kw)
        if kw.get("return_std"):
            asked.append(out)
        return out

    monkeypatch.setattr(Assessor, "predict", recording)
    # (explore="rarity": the ranking is what beta changes, not how neighbours are explored)
    two = {**FAST_ASSESSOR["assessor_params"], "n_heads": 2}
    n = FAST_ASSESSOR["n_init"] + 2 * FAST_ASSESSOR["per_round"]
    ucb, _ = drive(_algo(beta=2.0, assessor_params=two, explore="rarity"), embedded_bench, n,
                   seed=0, domain=embedded_domain)
    assert asked and all(np.any(std > 0) for _, std in asked)  # two heads disagree somewhere
    asked.clear()
    plain, _ = drive(_algo(assessor_params=two, explore="rarity"), embedded_bench, n, seed=0,
                     domain=embedded_domain)
    assert not asked  # beta 0 asks for the mean only
    assert ucb[: FAST_ASSESSOR["n_init"]] == plain[: FAST_ASSESSOR["n_init"]]
    assert ucb != plain


def test_zero_cost_warmup_is_the_initial_design(embedded_bench, embedded_domain, monkeypatch):
    from gnnpred import proxies

    scored = {}
    real = proxies.score

    def recording(space, archs, names, **kw):
        out = real(space, archs, names, **kw)
        if names == ["params"]:  # the warm-up's proxy (exploration picks use synflow)
            scored.update(zip(archs, out[names[0]], strict=True))
        return out

    monkeypatch.setattr(proxies, "score", recording)
    archs, _ = drive(_algo(n_init=3, zc_warmup=8, zc_proxy="params"), embedded_bench, 3,
                     seed=0, domain=embedded_domain)
    assert 3 < len(scored) <= 8
    assert [scored[a] for a in archs] == sorted(scored.values(), reverse=True)[:3]


def test_synflow_scores_each_neighbour_once_with_the_searchs_seed(embedded_bench,
                                                                  embedded_domain, monkeypatch):
    from gnnpred import proxies

    calls = []
    real = proxies.score

    def recording(space, archs, names, **kw):
        calls.append((list(archs), list(names), kw["random_state"]))
        return real(space, archs, names, **kw)

    monkeypatch.setattr(proxies, "score", recording)
    params = {"per_round": 3, "local_fraction": 1.0, "n_explore": 1}
    n = FAST_ASSESSOR["n_init"] + 3 * params["per_round"]
    archs, _ = drive(_algo(**params), embedded_bench, n, seed=4, domain=embedded_domain)
    assert calls and all(names == ["synflow"] and seed == 4 for _, names, seed in calls)
    scored = [embedded_domain.key(a) for cells, _, _ in calls for a in cells]
    assert len(scored) == len(set(scored))  # cached: no cell is scored twice
    n_calls = len(calls)
    rarity, _ = drive(_algo(**params, explore="rarity"), embedded_bench, n, seed=4,
                      domain=embedded_domain)
    assert len(calls) == n_calls and rarity != archs  # "rarity" scores nothing


@pytest.mark.parametrize("params, error, message", [
    ({"k": -1}, ValueError, "'assessor_params' parameter of AssessorGuidedSearch is invalid"),
    ({"not_an_argument": 1}, TypeError, "unexpected keyword argument 'not_an_argument'"),
    ({"warm_start": False}, ValueError, "may not set 'warm_start'"),
])
def test_bad_assessor_params_are_rejected_when_built(params, error, message):
    with pytest.raises(error, match=message):
        AssessorGuidedSearch(assessor_params=params)
