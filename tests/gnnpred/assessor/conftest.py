"""Fixtures of the assessor tests: the embedded NB201 table (ships with the install) and one
small fitted assessor shared by the tests that only read it."""

from __future__ import annotations

import numpy as np
import pytest

import datasets
from gnnpred import Assessor

#: Light settings: a fit takes about a second on one core.
SMALL = dict(pretrain_steps=40, n_heads=1, gcn_epochs=20, regressor_steps=30, hidden_channels=32,
             embedding_dim=16, num_layers=2, k=5, device="cpu")


@pytest.fixture(scope="session")
def nb201():
    """``(space, cells, values)`` of the embedded NB201 table."""
    bench = datasets.load("nasbench201")
    return bench.space, bench.archs(), np.array(bench.values(), dtype=float)


@pytest.fixture(scope="session")
def split(nb201):
    """60 training rows and 400 test rows of the table."""
    perm = np.random.default_rng(0).permutation(len(nb201[1]))
    return perm[:60], perm[60:460]


@pytest.fixture(scope="session")
def fitted(nb201, split):
    """A small assessor fitted on the training rows with 300 unlabelled cells."""
    _, archs, y = nb201
    tr, _ = split
    return Assessor("nasbench201", **SMALL, random_state=0).fit(
        [archs[i] for i in tr], y[tr], unlabeled=300)


def extra_two(archs):  # module level: picklable
    """Two per-cell features: counts of 3x3 convolutions and of ``none`` edges."""
    return np.array([[a.ops.count("nor_conv_3x3"), a.ops.count("none")] for a in archs],
                    dtype=float)
