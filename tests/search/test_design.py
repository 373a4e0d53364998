"""The coverage initial design of assessor-guided search."""

from __future__ import annotations

import numpy as np
import pytest

from search.algorithms import get_algorithm
from search.algorithms.design import coverage_design
from search.engine import run_search
from tests.search.conftest import algorithm_params


def _covered(domain, cells) -> int:
    space = domain.space
    return int((space.encode([space.canonical(c) for c in cells]) > 0).any(0).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coverage_beats_random_cells_of_the_same_draw(nb201_domain, seed):
    picks = coverage_design(nb201_domain, 6, np.random.default_rng(seed))
    assert len({nb201_domain.key(c) for c in picks}) == 6
    assert all(c in nb201_domain for c in picks)
    # the greedy pick from 2,000 cells vs the first 6 of the same random draw
    rng = np.random.default_rng(seed)
    first = [nb201_domain.archs[int(i)] for i in rng.choice(len(nb201_domain), 2000, replace=False)[:6]]
    assert _covered(nb201_domain, picks) >= 28 > _covered(nb201_domain, first)


def test_coverage_each_pick_adds_the_most_new_features(nb201_domain):
    space = nb201_domain.space
    picks = coverage_design(nb201_domain, 4, np.random.default_rng(5), n_pool=300)
    rng = np.random.default_rng(5)
    pool = nb201_domain.dedupe_list(
        [nb201_domain.archs[int(i)] for i in rng.choice(len(nb201_domain), 300, replace=False)], set())
    feats = space.encode([space.canonical(c) for c in pool]) > 0
    covered = np.zeros(feats.shape[1], bool)
    for cell in picks:
        gains = (feats & ~covered).sum(1)
        mine = (space.encode([space.canonical(cell)])[0] > 0) & ~covered
        assert mine.sum() == gains.max()
        covered |= mine


def test_coverage_respects_seen_and_validates(nb201_domain):
    first = coverage_design(nb201_domain, 3, np.random.default_rng(0))
    seen = {nb201_domain.key(c) for c in first}
    again = coverage_design(nb201_domain, 3, np.random.default_rng(0), seen=seen)
    assert not seen & {nb201_domain.key(c) for c in again}
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="'n' parameter of coverage_design must be an int >= 1"):
            coverage_design(nb201_domain, bad, np.random.default_rng(0))


def test_assessor_search_starts_from_the_coverage_design(nb201_bench, nb201_domain):
    params = {**algorithm_params("assessor"), "n_init": 5, "init_design": "coverage"}
    res = run_search(get_algorithm("assessor", **params), nb201_bench, 5, seed=4, domain=nb201_domain,
                     device="cpu")
    algo = get_algorithm("assessor", **params).setup(nb201_domain, seed=4, budget=5, device="cpu")
    assert [nb201_domain.key(a) for a in res.archs] == [nb201_domain.key(a) for a in algo._init]
    random = run_search(get_algorithm("assessor", **{**params, "init_design": "random"}), nb201_bench, 5,
                        seed=4, domain=nb201_domain, device="cpu")
    assert _covered(nb201_domain, res.archs) > _covered(nb201_domain, random.archs)


@pytest.mark.parametrize("params, match", [
    ({"init_design": "latin"}, "'init_design' parameter"),
    ({"init_design": "coverage", "zc_warmup": 10}, "zc_warmup=10 chooses"),
])
def test_bad_init_design(params, match, nb201_bench, nb201_domain):
    with pytest.raises(ValueError, match=match):
        run_search(get_algorithm("assessor", **{**algorithm_params("assessor"), **params}), nb201_bench, 3,
                   domain=nb201_domain, device="cpu")
