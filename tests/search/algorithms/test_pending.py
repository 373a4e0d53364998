"""Asynchronous proposals: ``propose(n, pending=...)`` never hands out a cell that is observed or
in flight, a batch equals single proposals, and an out-of-order search spends each cell once."""

from __future__ import annotations

import numpy as np
import pytest

from search.algorithms import ALGORITHMS, get_algorithm
from tests.search.conftest import algorithm_params


def _setup(name, domain, seed=0, budget=40):
    return get_algorithm(name, **algorithm_params(name)).setup(domain, seed, budget, device="cpu")


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_a_batch_avoids_pending_and_observed_cells(name, embedded_bench, embedded_domain):
    key = embedded_domain.key
    algo = _setup(name, embedded_domain)
    first = algo.propose(3)
    assert len({key(a) for a in first}) == 3
    algo.observe(first[0], embedded_bench.query(first[0]))
    batch = algo.propose(4, pending=first[1:])
    taken = {key(a) for a in first}
    assert len(batch) == 4 and len({key(a) for a in batch}) == 4
    assert not taken & {key(a) for a in batch}
    assert algo.n_pending == 0 and algo.seen == {key(first[0])}  # pending is not remembered


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_a_batch_equals_single_proposals(name, embedded_bench, embedded_domain):
    key = embedded_domain.key
    batch_algo, single_algo = _setup(name, embedded_domain, 4), _setup(name, embedded_domain, 4)
    observed = batch_algo.propose(2)
    for algo in (batch_algo, single_algo):
        if algo is single_algo:
            assert [key(algo.propose(pending=observed[:i])) for i in range(2)] \
                == [key(a) for a in observed]
        for arch in observed:
            algo.observe(arch, embedded_bench.query(arch))
    pending = batch_algo.propose(2)
    assert [key(single_algo.propose(pending=pending[:i])) for i in range(2)] \
        == [key(a) for a in pending]
    batch = batch_algo.propose(3, pending=pending)
    singles = []
    for _ in range(3):
        singles.append(single_algo.propose(pending=pending + singles))
    assert [key(a) for a in batch] == [key(a) for a in singles]


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_out_of_order_search_spends_each_cell_once(name, embedded_bench, embedded_domain):
    # four evaluations in flight, answered in a random order, as Ray workers would
    key = embedded_domain.key
    budget = 20 if name in ("assessor", "seminas") else 60
    algo = _setup(name, embedded_domain, 1, budget)
    rng = np.random.default_rng(0)
    flight: list = []
    done: list = []
    while len(done) < budget:
        room = min(4 - len(flight), budget - len(done) - len(flight))
        if room:
            flight += algo.propose(room, pending=flight)
        arch = flight.pop(int(rng.integers(len(flight))))
        algo.observe(arch, embedded_bench.query(arch))
        done.append(arch)
    assert len({key(a) for a in done}) == budget
    arch, value = algo.best()
    assert value == max(embedded_bench.query(a) for a in done)


def test_bad_batch_sizes_are_rejected(embedded_domain):
    algo = _setup("random", embedded_domain)
    for n in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=f"n must be a positive int .* Got {n!r} instead"):
            algo.propose(n)


def test_no_cell_left_while_the_rest_is_pending(embedded_domain):
    algo = _setup("random", embedded_domain)
    rest = embedded_domain.unseen(set())
    algo.observe(rest[0], 1.0)
    with pytest.raises(RuntimeError, match="queried or is being evaluated"):
        algo.propose(pending=rest[1:])
