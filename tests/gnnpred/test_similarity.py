import numpy as np
import pytest
import torch

from gnnpred import similarity
from gnnpred.similarity import knn, knn_extend, knn_graph, neighbour_index_to_edge_index


def _brute(q, p, k, exclude_self=False):
    d = np.linalg.norm(q[:, None, :] - p[None, :, :], axis=-1)
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k], np.sort(d, axis=1)[:, :k]


@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
def test_knn_matches_brute_force_in_any_chunking(chunk_size):
    rng = np.random.default_rng(0)
    q, p = rng.normal(size=(30, 5)), rng.normal(size=(50, 5))
    idx, dist = knn(q, p, 4, chunk_size=chunk_size, device="cpu")
    ref_idx, ref_dist = _brute(q, p, 4)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    np.testing.assert_allclose(dist.numpy(), ref_dist, rtol=1e-4, atol=1e-4)


def test_exclude_self_and_graph():
    rng = np.random.default_rng(1)
    e = rng.normal(size=(40, 3))
    idx, _ = knn(e, e, 3, exclude_self=True, chunk_size=16, device="cpu")
    assert not (idx.numpy() == np.arange(40)[:, None]).any()
    np.testing.assert_array_equal(idx.numpy(), _brute(e, e, 3, exclude_self=True)[0])
    ei = knn_graph(e, 3, chunk_size=16, device="cpu")
    assert ei.shape == (2, 120)
    # edge (neighbour -> node): node 0's three neighbours point to it
    np.testing.assert_array_equal(ei[0, :3].numpy(), idx[0].numpy())
    assert (ei[1, :3] == 0).all()


def test_query_start_excludes_each_query_row_from_its_own_neighbours():
    e = np.random.default_rng(2).normal(size=(40, 3))
    idx, dist = knn(e[30:], e, 4, query_start=30, chunk_size=3, device="cpu")
    full_idx, full_dist = knn(e, e, 4, exclude_self=True, device="cpu")
    np.testing.assert_array_equal(idx.numpy(), full_idx[30:].numpy())
    np.testing.assert_allclose(dist.numpy(), full_dist[30:].numpy(), rtol=1e-5)
    for bad in (-1, 31, 2.0, True):
        with pytest.raises(ValueError, match="query_start"):
            knn(e[30:], e, 4, query_start=bad, device="cpu")


@pytest.mark.parametrize(("n_old", "metric"),
                         [(50, "euclidean"), (57, "euclidean"), (45, "cosine"), (0, "euclidean")])
def test_knn_extend_equals_a_full_recompute(n_old, metric):
    e = np.random.default_rng(3).normal(size=(60, 4))
    if n_old:
        idx, dist = knn(e[:n_old], e[:n_old], 5, metric=metric, exclude_self=True, device="cpu")
    else:
        idx, dist = torch.empty(0, 5, dtype=torch.long), torch.empty(0, 5)
    new_idx, new_dist = knn_extend(idx, dist, e, metric=metric, chunk_size=7, device="cpu")
    ref_idx, ref_dist = knn(e, e, 5, metric=metric, exclude_self=True, device="cpu")
    np.testing.assert_array_equal(new_idx.numpy(), ref_idx.numpy())
    np.testing.assert_allclose(new_dist.numpy(), ref_dist.numpy(), rtol=1e-5, atol=1e-6)
    # some old rows really changed neighbours (else the merge would be untested)
    if 0 < n_old < 58:
        assert (new_idx[:n_old] != idx).any()


def test_knn_extend_bad_shapes():
    e = np.zeros((10, 2))
    idx, dist = knn(e[:6], e[:6], 2, exclude_self=True, device="cpu")
    with pytest.raises(ValueError, match=r"\[n, k\]"):
        knn_extend(idx, dist[:, :1], e, device="cpu")
    with pytest.raises(ValueError, match="fewer than"):
        knn_extend(idx, dist, e[:4], device="cpu")
    same_idx, same_dist = knn_extend(idx, dist, e[:6], device="cpu")
    assert torch.equal(same_idx, idx) and torch.equal(same_dist, dist)


def test_cosine_metric_ignores_scale():
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    idx, dist = knn(torch.tensor([[10.0, 0.1]]), p, 1, metric="cosine", device="cpu")
    assert idx.item() == 0 and dist.item() < 0.01


def test_neighbour_index_to_edge_index():
    ei = neighbour_index_to_edge_index(torch.tensor([[1, 2], [0, 2], [0, 1]]))
    assert ei.tolist() == [[1, 2, 0, 2, 0, 1], [0, 0, 1, 1, 2, 2]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 0}, "k must be"),
        ({"k": 11}, "k must be"),
        ({"k": 2, "metric": "manhattan"}, "metric"),
        ({"k": 2, "chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_arguments(kwargs, match):
    e = np.zeros((10, 2))
    with pytest.raises(ValueError, match=match):
        knn(e, e, device="cpu", **kwargs)


def test_non_finite_and_shape_errors():
    e = np.zeros((5, 2))
    bad = e.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        knn(bad, e, 2, device="cpu")
    with pytest.raises(ValueError, match="2-D"):
        knn(np.zeros(5), e, 2, device="cpu")
    with pytest.raises(ValueError, match="dimensions differ"):
        knn(np.zeros((5, 3)), e, 2, device="cpu")


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("offset", [None, 0, 40])
def test_cpu_and_accelerator_paths_find_the_same_neighbours(metric, offset):
    # the CPU path (scikit-learn) and the CUDA path (chunked torch), the latter run on the CPU
    p = torch.randn(300, 8, generator=torch.Generator().manual_seed(4))
    q = p if offset == 0 else p[40:140] if offset == 40 else p[:100] + 0.01
    cpu_idx, cpu_dist = knn(q, p, 6, metric=metric, query_start=offset, device="cpu")
    acc_idx, acc_dist = similarity._knn_torch(q, p, 6, metric, offset, 64, torch.device("cpu"))
    np.testing.assert_array_equal(cpu_idx.numpy(), acc_idx.numpy())
    # float32 cancellation in the torch path: near-zero distances differ by ~1e-4
    np.testing.assert_allclose(cpu_dist.numpy(), acc_dist.numpy(), rtol=1e-4, atol=2e-4)
    assert cpu_idx.dtype == torch.long and cpu_dist.dtype == torch.float32
