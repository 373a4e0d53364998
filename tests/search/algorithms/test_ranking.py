"""Candidate generation of assessor-guided search: batched table mutations."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from scipy.stats import chi2_contingency

import datasets
from search.algorithms.ranking import table_mutations
from search.domain import Domain


@pytest.fixture(scope="module")
def nb101_domain(nb101_sample20k):
    return Domain(datasets.load("nasbench101", path=str(nb101_sample20k),
                                metric="valid_accuracy_108"))


def _check(domain, parent, seen, tries, n=3000):
    rng = np.random.default_rng(0)
    batched = table_mutations(domain, parent, n, rng, seen, tries=tries, device="cpu")
    loop = [domain.mutate(parent, rng, seen, tries=tries) for _ in range(n)]
    loop = [c for c in loop if c is not None]
    for cell in batched:
        assert domain.lookup(cell) is cell and domain.key(cell) not in seen
    ca = collections.Counter(map(domain.key, loop))
    cb = collections.Counter(map(domain.key, batched))
    keys = sorted(set(ca) | set(cb), key=repr)
    # how many draws found a cell, and which cells, follow the one-cell distribution
    found = [[len(loop), n - len(loop)], [len(batched), n - len(batched)]]
    assert chi2_contingency(found)[1] > 1e-3
    assert chi2_contingency([[ca[k] for k in keys], [cb[k] for k in keys]])[1] > 1e-3
    return batched


def test_nb201_mutations_skip_seen_cells_as_the_loop_does(embedded_domain):
    parent = embedded_domain.archs[1234]
    nbrs = embedded_domain.space.neighbours(parent)
    seen = {embedded_domain.key(c) for c in nbrs[::2]} | {embedded_domain.key(parent)}
    out = _check(embedded_domain, parent, seen, tries=1)
    assert 0 < len(out) < 3000


def test_nb101_mutations_stay_in_the_table(nb101_domain):
    parent = nb101_domain.archs[int(np.argmax([len(a.ops) for a in nb101_domain.archs[:500]]))]
    out = _check(nb101_domain, parent, {nb101_domain.key(parent)}, tries=3, n=500)
    assert 0 < len(out) < 500
