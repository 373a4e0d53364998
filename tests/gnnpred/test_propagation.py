"""Label propagation / spreading on graphs whose answer is known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gnnpred.propagation import propagate_labels

# a chain 0 - 1 - 2 - 3 - 4 as a kNN table of one neighbour per row
CHAIN = np.array([[1], [0], [1], [2], [3]])


def test_propagation_interpolates_a_chain_linearly():
    # harmonic: every inner node is the mean of its two neighbours, so values are linear
    f = propagate_labels(CHAIN, [0, 4], [2.0, 10.0])
    np.testing.assert_allclose(f, [2.0, 4.0, 6.0, 8.0, 10.0], atol=1e-6)


def test_spreading_is_symmetric_and_stays_within_the_labels():
    f = propagate_labels(CHAIN, [0, 4], [0.0, 4.0], alpha=0.9)
    np.testing.assert_allclose(f[2], 2.0, atol=1e-6)  # the middle of a symmetric chain
    np.testing.assert_allclose(f + f[::-1], 4.0, atol=1e-6)
    assert np.all(np.diff(f) > 0) and f.min() > 0 and f.max() < 4  # labelled rows smoothed


def two_clusters() -> np.ndarray:
    """Rows 0-3 and 4-7: each row's neighbours are the other rows of its cluster."""
    rows = []
    for i in range(8):
        block = range(0, 4) if i < 4 else range(4, 8)
        rows.append([j for j in block if j != i])
    return np.array(rows)


@pytest.mark.parametrize("alpha", [None, 0.5, 0.9])
def test_each_cluster_takes_its_own_label(alpha):
    f = propagate_labels(two_clusters(), [1, 6], [3.0, -1.0], alpha=alpha)
    np.testing.assert_allclose(f[:4], 3.0, atol=1e-6)
    np.testing.assert_allclose(f[4:], -1.0, atol=1e-6)


def test_a_component_without_labels_gets_the_mean_label():
    f = propagate_labels(two_clusters(), [0, 1], [1.0, 2.0])
    np.testing.assert_allclose(f[:2], [1.0, 2.0])
    np.testing.assert_allclose(f[2:4], 1.5, atol=1e-6)  # equally tied to both labels
    np.testing.assert_allclose(f[4:], 1.5)  # no label reaches them


def test_distances_weight_the_edges():
    # 0 - 1 at distance 1, 1 - 2 at distance 2; sigma = median(1, 1, 2) = 1
    nbr, dist = np.array([[1], [0], [1]]), np.array([[1.0], [1.0], [2.0]])
    f = propagate_labels(nbr, [0, 2], [0.0, 1.0], distances=dist)
    w01, w12 = np.exp(-1 / 2), np.exp(-4 / 2)
    np.testing.assert_allclose(f[1], w12 / (w01 + w12), atol=1e-6)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"alpha": 1.0}, "alpha must be None"),
    ({"max_iter": 0}, "max_iter must be a positive int. Got 0"),
    ({"tol": -1.0}, "tol must be a positive float. Got -1.0"),
    ({"labelled": [0, 0], "y": [1.0, 2.0]}, "distinct row numbers"),
    ({"labelled": [0, 9], "y": [1.0, 2.0]}, "distinct row numbers in \\[0, 5\\)"),
    ({"labelled": [0, 4], "y": [1.0, np.nan]}, "finite labels"),
    ({"distances": np.ones((5, 2))}, "shaped like neighbours"),
    ({"neighbours": np.array([[1.5], [0.0]])}, "integer \\[n, k\\] table"),
])
def test_bad_input_is_refused(kwargs, match):
    args = {"neighbours": CHAIN, "labelled": [0, 4], "y": [0.0, 1.0], **kwargs}
    with pytest.raises(ValueError, match=match):
        propagate_labels(args.pop("neighbours"), args.pop("labelled"), args.pop("y"), **args)


def test_unconverged_solve_warns():
    nbr = np.array([[i + 1] for i in range(199)] + [[198]])  # a long chain: slow to converge
    with pytest.warns(RuntimeWarning, match="max_iter=2 conjugate-gradient"):
        propagate_labels(nbr, [0, 199], [0.0, 1.0], max_iter=2)
