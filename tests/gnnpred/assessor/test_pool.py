"""The assessor's Pool, and warm-started refits that reuse and extend it."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from gnnpred import Assessor
from gnnpred.assessor import Pool, training
from gnnpred.assessor import pool as pool_module
from gnnpred.similarity import knn
from gnnpred.spaces import NASBench201Space
from tests.gnnpred.assessor.conftest import SMALL


def _rebuilt(pool: Pool, k: int):
    points = pool.points()
    return knn(points, points, k, exclude_self=True, device="cpu")


def test_pool_deduplicates_extends_and_round_trips(fitted, nb201, split):
    space, archs, _ = nb201
    _, te = split
    pool = Pool(space, [*fitted.pool_.cells[:50], *fitted.pool_.cells[:50]])
    assert len(pool) == 50 and pool.index[space.hash(pool.cells[7])] == 7
    pool.embed(fitted.autoencoder_, None, torch.device("cpu"))
    scale = [a.copy() for a in pool.scale]
    pool.knn_graph(4, torch.device("cpu"))
    new = [space.canonical(archs[i]) for i in te[:20]]
    added = pool.extend(space, [*new, *new, pool.cells[0]], fitted.autoencoder_, None,
                        torch.device("cpu"))
    assert added == len({space.hash(c) for c in new} - {space.hash(c) for c in pool.cells[:50]})
    assert len(pool) == 50 + added and pool.embedding.shape[0] == len(pool)
    for a, b in zip(scale, pool.scale, strict=True):
        np.testing.assert_array_equal(a, b)  # old rows keep their standardisation
    nbr = pool.knn_graph(4, torch.device("cpu"))
    ref_idx, ref_dist = _rebuilt(pool, 4)
    torch.testing.assert_close(pool.distances, ref_dist, rtol=1e-4, atol=1e-4)
    assert nbr.shape == ref_idx.shape and (nbr == ref_idx).float().mean() > 0.99
    again = Pool.from_state(space, pool.state_dict(space))
    assert again.cells == pool.cells and torch.equal(again.neighbours, pool.neighbours)
    torch.testing.assert_close(again.features()[0], pool.features()[0], rtol=0, atol=0)


def test_warm_start_reuses_the_autoencoder_and_extends_the_graph(nb201, split, monkeypatch):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**SMALL, warm_start=True).fit([archs[i] for i in tr[:40]], y[tr[:40]],
                                               unlabeled=200)
    ae, n_pool = a.autoencoder_, len(a.pool_)
    emb = a.pool_.embedding.clone()
    rebuilds = []
    real_knn = pool_module.knn
    monkeypatch.setattr(pool_module, "knn", lambda *args, **kw: rebuilds.append(1)
                        or real_knn(*args, **kw))
    cells = [archs[i] for i in [*tr[:40], *te[:20]]]
    a.fit(cells, y[[*tr[:40], *te[:20]]], unlabeled=200)
    assert a.autoencoder_ is ae and len(a.pool_) > n_pool
    torch.testing.assert_close(a.pool_.embedding[:n_pool], emb)
    assert not rebuilds  # extended, not rebuilt
    ref_idx, ref_dist = _rebuilt(a.pool_, SMALL["k"])
    torch.testing.assert_close(a.pool_.distances, ref_dist, rtol=1e-4, atol=1e-4)
    assert (a.pool_.neighbours == ref_idx).float().mean() > 0.99  # ties may swap
    cold = Assessor(**SMALL).fit(cells, y[[*tr[:40], *te[:20]]], unlabeled=200)
    assert cold.autoencoder_ is not ae


def test_an_unlabelled_list_edited_in_place_is_a_new_pool(nb201, split):
    _, archs, y = nb201
    tr, te = split
    unlabeled = [archs[i] for i in te[:150]]
    a = Assessor(**SMALL, warm_start=True)
    a.fit([archs[i] for i in tr[:30]], y[tr[:30]], unlabeled=unlabeled)
    ae = a.autoencoder_
    a.fit([archs[i] for i in tr[:30]], y[tr[:30]], unlabeled=unlabeled)  # the same list: warm
    assert a.autoencoder_ is ae
    unlabeled[0] = archs[te[200]]  # the same list object, another cell: not the same pool
    a.fit([archs[i] for i in tr[:30]], y[tr[:30]], unlabeled=unlabeled)
    assert a.autoencoder_ is not ae
    assert a.pool_.index.get(a.space_.hash(a.space_.canonical(archs[te[200]]))) is not None


class _SaltedSpace(NASBench201Space):
    """A space whose hashes depend on a setting its repr does not show."""

    def __init__(self, salt: int) -> None:
        self.salt, self.calls = salt, 0

    def hash(self, arch) -> str:
        self.calls += 1
        return f"{super().hash(arch)}/{self.salt}"


def test_the_unlabelled_digest_is_reused_only_for_the_same_cells_and_space(nb201):
    _, archs, _ = nb201
    est, cells = Assessor(), list(archs[:300])
    space = _SaltedSpace(0)
    key = pool_module.unlabeled_key(est, space, cells)
    assert space.calls == 300
    assert pool_module.unlabeled_key(est, space, list(cells)) == key  # a new list, same cells
    assert space.calls == 300  # reused, not hashed again
    assert pool_module.unlabeled_key(est, _SaltedSpace(0), cells) == key  # same settings
    other = _SaltedSpace(1)
    assert repr(other) == repr(space)
    assert pool_module.unlabeled_key(est, other, cells) != key and other.calls == 300
    assert pool_module.unlabeled_key(est, space, cells[::-1]) != key  # same cells, new order


def test_a_warm_fit_that_failed_half_way_is_repaired_by_the_next(nb201, split, monkeypatch):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**SMALL, warm_start=True).fit([archs[i] for i in tr[:40]], y[tr[:40]],
                                               unlabeled=200)
    cells = [archs[i] for i in [*tr[:40], *te[:10]]]
    labels = y[[*tr[:40], *te[:10]]]

    def boom(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(pool_module, "knn_extend", boom)
    with pytest.raises(MemoryError):
        a.fit(cells, labels, unlabeled=200)  # the pool grew, its graph did not
    with pytest.raises(NotFittedError):  # no stale heads survive a failed fit
        a.predict(cells[:3])
    monkeypatch.undo()
    a.fit(cells, labels, unlabeled=200)  # same cells: no new rows, the graph catches up
    assert a.pool_.neighbours.shape == (len(a.pool_), SMALL["k"])
    assert np.all(np.isfinite(a.predict([archs[i] for i in te[10:30]])))


@pytest.mark.parametrize("warm_heads", [True, False])
def test_warm_heads_choose_between_continuing_and_retraining(nb201, split, monkeypatch,
                                                             warm_heads):
    _, archs, y = nb201
    tr, _ = split
    steps: list[int] = []
    real = training.train_regressor

    def spy(*args, **kwargs):
        steps.append(kwargs["steps"])
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_regressor", spy)
    a = Assessor(**SMALL, warm_start=True, warm_heads=warm_heads)
    a.fit([archs[i] for i in tr[:30]], y[tr[:30]], unlabeled=200)
    ae, head = a.autoencoder_, a.heads_.regressor[0]
    a.fit([archs[i] for i in tr[:40]], y[tr[:40]], unlabeled=200)
    assert a.autoencoder_ is ae and a.heads_.regressor[0] is not head
    full = SMALL["regressor_steps"]
    assert steps == [full, max(1, full // 6) if warm_heads else full]
