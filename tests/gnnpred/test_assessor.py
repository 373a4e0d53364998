import csv
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from gnnpred import Assessor, get_space
from gnnpred import _assessor_train as assessor_train
from gnnpred import assessor as assessor_module
from gnnpred.metrics import spearman
from gnnpred.similarity import knn

SMALL = dict(pretrain_steps=40, n_heads=1, gcn_epochs=20, regressor_steps=30, hidden_channels=32,
             embedding_dim=16, num_layers=2, k=5)


@pytest.fixture(scope="module")
def nb201(nb201_csv):
    space = get_space("nasbench201")
    with open(nb201_csv) as f:
        rows = list(csv.DictReader(f))
    archs = [space.from_string(r["arch"]) for r in rows]
    return space, archs, np.array([float(r["test_accuracy"]) for r in rows])


@pytest.fixture(scope="module")
def split(nb201):
    _, archs, y = nb201
    perm = np.random.default_rng(0).permutation(len(archs))
    return perm[:60], perm[60:460]


@pytest.fixture(scope="module")
def fitted(nb201, split):
    _, archs, y = nb201
    tr, _ = split
    return Assessor("nasbench201", **SMALL, random_state=0).fit([archs[i] for i in tr], y[tr], unlabeled=300)


def extra_two(archs):  # module level: picklable
    return np.array([[a.ops.count("nor_conv_3x3"), a.ops.count("none")] for a in archs], dtype=float)


def extra_nan(archs):
    out = extra_two(archs)
    out[0, 1] = np.nan
    return out


def test_not_fitted_errors(tmp_path, nb201):
    _, archs, _ = nb201
    a = Assessor()
    with pytest.raises(NotFittedError):
        a.predict(archs[:3])
    with pytest.raises(NotFittedError):
        a.save(tmp_path / "a.pt")


def test_params_round_trip_and_clone(fitted):
    params = fitted.get_params()
    assert params["k"] == 5 and params["random_state"] == 0
    c = clone(fitted)
    assert c.get_params() == params
    assert not hasattr(c, "autoencoder_")
    c.set_params(k=7, gcn_weight=0.25)
    assert c.get_params()["k"] == 7 and c.gcn_weight == 0.25
    assert fitted.k == 5


def test_fit_returns_self_and_predicts_pool_and_new_cells(fitted, nb201, split):
    space, archs, y = nb201
    _, te = split
    assert hasattr(fitted, "pool_") and len(fitted.pool_) > 300 * 0.5
    cells = [archs[i] for i in te]
    pred, parts = fitted.predict(cells, return_parts=True)
    assert pred.shape == (len(te),) and np.isfinite(pred).all()
    assert set(parts) == {"gcn", "regressor"}
    # the combination is made before the (monotone) map back to label units: it lies between the parts
    lo, hi = np.minimum(parts["gcn"], parts["regressor"]), np.maximum(parts["gcn"], parts["regressor"])
    assert np.all(pred >= lo - 1e-9) and np.all(pred <= hi + 1e-9)
    assert not np.allclose(parts["gcn"], parts["regressor"])
    in_pool = [a for a in cells if space.hash(space.canonical(a)) in fitted.pool_index_]
    new = [a for a in cells if space.hash(space.canonical(a)) not in fitted.pool_index_]
    assert in_pool and new  # both code paths are exercised
    # cells sharing a canonical form get one prediction
    one = space.from_string("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    dead = space.from_string("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|none~2|")
    assert space.canonical(one) == space.canonical(dead) != dead
    p1, p2 = fitted.predict([one, dead])
    assert p1 == p2


def test_save_load_bit_identical(fitted, nb201, split, tmp_path):
    _, archs, _ = nb201
    _, te = split
    cells = [archs[i] for i in te]
    path = tmp_path / "assessor.pt"
    fitted.save(path)
    loaded = Assessor.load(path)
    np.testing.assert_array_equal(loaded.predict(cells), fitted.predict(cells))
    assert loaded.get_params() == fitted.get_params()
    bad = tmp_path / "bad.pt"
    torch.save({"format": "other"}, bad)
    with pytest.raises(ValueError, match="not a saved gnnpred Assessor"):
        Assessor.load(bad)
    with pytest.raises(FileNotFoundError):
        Assessor.load(tmp_path / "missing.pt")
    # the estimator itself pickles too
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(cells[:20]), fitted.predict(cells[:20]))


def test_deterministic_with_fixed_random_state(fitted, nb201, split):
    _, archs, y = nb201
    tr, te = split
    other = clone(fitted).fit([archs[i] for i in tr], y[tr], unlabeled=300)
    cells = [archs[i] for i in te[:100]]
    np.testing.assert_array_equal(other.predict(cells), fitted.predict(cells))
    third = clone(fitted).set_params(random_state=1).fit([archs[i] for i in tr], y[tr], unlabeled=300)
    assert not np.array_equal(third.predict(cells), fitted.predict(cells))


def test_extra_features_used_and_validated(nb201, split, tmp_path):
    _, archs, y = nb201
    tr, te = split
    cells = [archs[i] for i in tr]
    a = Assessor(**SMALL, extra_features=extra_two).fit(cells, y[tr], unlabeled=200)
    assert a.pool_features_.shape[1] == SMALL["embedding_dim"] + 2
    pred = a.predict([archs[i] for i in te[:50]])
    a.save(tmp_path / "x.pt")
    np.testing.assert_array_equal(Assessor.load(tmp_path / "x.pt").predict([archs[i] for i in te[:50]]), pred)
    with pytest.raises(ValueError, match="extra_features returned .*non-finite"):
        Assessor(**SMALL, extra_features=extra_nan).fit(cells, y[tr], unlabeled=50)
    lam = Assessor(**SMALL, extra_features=lambda xs: extra_two(xs)).fit(cells, y[tr], unlabeled=50)
    with pytest.raises(TypeError, match="picklable"):
        lam.save(tmp_path / "lam.pt")


def test_warm_start_reuses_the_autoencoder(nb201, split, monkeypatch):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**SMALL, warm_start=True).fit([archs[i] for i in tr[:40]], y[tr[:40]], unlabeled=200)
    ae, n_pool = a.autoencoder_, len(a.pool_)
    emb, emb_mean = a.pool_embedding_.clone(), a.emb_mean_.copy()
    extra = [archs[i] for i in te[:20]]
    extended = []
    real_extend = assessor_module.knn_extend

    def spy(index, dist, points, **kwargs):
        extended.append((index.shape[0], points.shape[0]))
        return real_extend(index, dist, points, **kwargs)

    monkeypatch.setattr(assessor_module, "knn_extend", spy)
    a.fit([archs[i] for i in tr[:40]] + extra, np.concatenate([y[tr[:40]], y[te[:20]]]), unlabeled=200)
    assert a.autoencoder_ is ae
    torch.testing.assert_close(a.pool_embedding_[:n_pool], emb)
    assert len(a.pool_) > n_pool
    assert extended == [(n_pool, len(a.pool_))]  # extended, not rebuilt
    np.testing.assert_array_equal(a.emb_mean_, emb_mean)  # the first fit's standardisation
    # the similarity graph was extended to the new cells, as a rebuild would have made it
    d = a.pool_embedding_.shape[1]
    ref_idx, ref_dist = knn(a.pool_features_[:, :d], a.pool_features_[:, :d], a.neighbours_.shape[1],
                            exclude_self=True, device="cpu")
    assert a.neighbours_.shape == ref_idx.shape
    torch.testing.assert_close(a.neighbour_dist_, ref_dist, rtol=1e-4, atol=1e-4)
    assert (a.neighbours_ == ref_idx).float().mean() > 0.99  # equally distant neighbours may swap
    cold = clone(a).set_params(warm_start=False)
    cold.fit([archs[i] for i in tr[:40]], y[tr[:40]], unlabeled=200)
    assert cold.autoencoder_ is not ae


def test_a_warm_fit_that_failed_half_way_is_repaired_by_the_next(nb201, split, monkeypatch, tmp_path):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**SMALL, warm_start=True).fit([archs[i] for i in tr[:40]], y[tr[:40]], unlabeled=200)
    cells = [archs[i] for i in tr[:40]] + [archs[i] for i in te[:10]]
    labels = np.concatenate([y[tr[:40]], y[te[:10]]])

    def boom(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(assessor_module, "knn_extend", boom)
    with pytest.raises(MemoryError):
        a.fit(cells, labels, unlabeled=200)  # the pool grew, its graph did not
    monkeypatch.undo()
    a.fit(cells, labels, unlabeled=200)  # same cells: no new pool rows this time
    assert a.neighbours_.shape == (len(a.pool_), SMALL["k"])
    assert np.all(np.isfinite(a.predict([archs[i] for i in te[10:30]])))
    # the graph's distances survive save/load, so a loaded assessor extends it too
    a.save(tmp_path / "a.pt")
    loaded = Assessor.load(tmp_path / "a.pt")
    torch.testing.assert_close(loaded.neighbour_dist_, a.neighbour_dist_)


@pytest.mark.parametrize("warm_heads", [True, False])
def test_warm_heads_choose_between_continuing_and_retraining_the_heads(nb201, split, monkeypatch, warm_heads):
    _, archs, y = nb201
    tr, _ = split
    steps: list[int] = []
    orig = assessor_train.train_regressor

    def spy(*args, **kwargs):
        steps.append(kwargs["steps"])
        return orig(*args, **kwargs)

    monkeypatch.setattr(assessor_train, "train_regressor", spy)
    a = Assessor(**{**SMALL, "n_heads": 1}, warm_start=True, warm_heads=warm_heads)
    a.fit([archs[i] for i in tr[:30]], y[tr[:30]], unlabeled=200)
    ae, head = a.autoencoder_, a.reg_heads_[0]
    a.fit([archs[i] for i in tr[:40]], y[tr[:40]], unlabeled=200)
    assert a.autoencoder_ is ae
    assert a.reg_heads_[0] is not head
    full = SMALL.get("regressor_steps", 300)
    assert steps == [full, max(1, full // 6) if warm_heads else full]


def test_sample_weight_reaches_the_head_losses(nb201, split, monkeypatch):
    _, archs, y = nb201
    tr, te = split
    seen: list[np.ndarray] = []
    orig = assessor_train.train_regressor

    def spy(*args, **kwargs):
        seen.append(args[4].numpy().copy())  # (model, graphs, extra, y, w)
        return orig(*args, **kwargs)

    monkeypatch.setattr(assessor_train, "train_regressor", spy)
    train = [archs[i] for i in tr[:40]]
    w = np.linspace(0.5, 3.0, 40)
    weighted = Assessor(**SMALL).fit(train, y[tr[:40]], unlabeled=100, sample_weight=w)
    np.testing.assert_allclose(seen[-1], w, rtol=1e-6)
    plain = Assessor(**SMALL).fit(train, y[tr[:40]], unlabeled=100)
    np.testing.assert_allclose(seen[-1], np.ones(40))
    test = [archs[i] for i in te[:50]]
    assert not np.allclose(weighted.predict(test), plain.predict(test))


@pytest.mark.parametrize(
    ("weight", "exc", "match"),
    [
        (np.ones(3), ValueError, r"one weight per architecture: shape \(40,\)"),
        (-np.ones(40), ValueError, "finite and >= 0; index 0"),
        (np.zeros(40), ValueError, "sums to 0"),
        ("heavy", TypeError, "sample_weight must be a sequence of numbers"),
    ],
)
def test_bad_sample_weight_is_rejected(nb201, split, weight, exc, match):
    _, archs, y = nb201
    tr, _ = split
    with pytest.raises(exc, match=match):
        Assessor(**SMALL).fit([archs[i] for i in tr[:40]], y[tr[:40]], sample_weight=weight)


def test_space_instance_and_labelled_only(nb201, split):
    space, archs, y = nb201
    tr, _ = split
    a = Assessor(space, **SMALL).fit([archs[i] for i in tr], y[tr], unlabeled=0)
    assert len(a.pool_) <= len(tr)
    assert a.predict([archs[0]]).shape == (1,)


@pytest.mark.parametrize(
    ("params", "exc", "match"),
    [
        ({"k": -1}, ValueError, "The 'k' parameter of Assessor must be a positive int. Got -1 instead."),
        ({"gcn_weight": 1.5}, ValueError, "'gcn_weight' parameter"),
        ({"n_heads": 0}, ValueError, "'n_heads'"),
        ({"variational": "yes"}, TypeError, "'variational'"),
        ({"extra_features": 3}, TypeError, "extra_features"),
        ({"space": "nasbench999"}, ValueError, "Unknown search space"),
        ({"space": 3}, TypeError, "'space' parameter"),
        ({"num_threads": 0}, ValueError, "num_threads"),
    ],
)
def test_bad_params(nb201, params, exc, match):
    _, archs, y = nb201
    with pytest.raises(exc, match=match):
        Assessor(**{**SMALL, **params}).fit(archs[:5], y[:5], unlabeled=0)


def test_bad_inputs(nb201, fitted):
    _, archs, y = nb201
    a = Assessor(**SMALL)
    with pytest.raises(ValueError, match="different lengths: 5 architectures but 4 labels"):
        a.fit(archs[:5], y[:4])
    bad = y[:5].copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="non-finite .* index 3"):
        a.fit(archs[:5], bad)
    with pytest.raises(ValueError, match="at least 2"):
        a.fit([], [])
    with pytest.raises(TypeError, match="not a NB201Cell"):
        a.fit([*archs[:3], ("conv",)], y[:4])
    nb101 = get_space("nasbench101").sample(np.random.default_rng(0))
    with pytest.raises(TypeError, match="nasbench201"):
        fitted.predict([archs[0], nb101])
    with pytest.raises(ValueError, match="empty"):
        fitted.predict([])
    with pytest.raises(TypeError, match="unlabeled"):
        a.fit(archs[:5], y[:5], unlabeled=2.5)
    with pytest.raises(ValueError, match="unlabeled"):
        a.fit(archs[:5], y[:5], unlabeled=-3)


def test_learns_nb201_ranking_from_200_labels(nb201):
    _, archs, y = nb201
    perm = np.random.default_rng(1).permutation(len(archs))
    tr, te = perm[:200], perm[200:3200]
    a = Assessor(pretrain_steps=60, n_heads=1, gcn_epochs=30, regressor_steps=100, num_layers=3, random_state=0)
    a.fit([archs[i] for i in tr], y[tr], unlabeled=1000)
    rho = spearman(y[te], a.predict([archs[i] for i in te]))
    assert rho > 0.8  # about 0.9 with these light settings; XGBoost on one-hot gets about 0.7


@pytest.mark.parametrize("kind", ["rank", "standard"])
def test_target_transform_round_trip_and_monotone(kind):
    from gnnpred._assessor_train import fit_target, inverse_target

    y = np.array([10.0, 93.1, 85.0, 85.0, 91.2, 70.3])
    z, knots = fit_target(y, kind)
    back = inverse_target(z, kind, y.mean(), y.std(), knots)
    np.testing.assert_allclose(back, y)
    grid = np.linspace(-5, 5, 101)
    assert np.all(np.diff(inverse_target(grid, kind, y.mean(), y.std(), knots)) > 0)


def test_standard_target_transform_fits(nb201, split):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**SMALL, target_transform="standard").fit([archs[i] for i in tr], y[tr], unlabeled=100)
    assert np.isfinite(a.predict([archs[i] for i in te[:10]])).all()
    with pytest.raises(ValueError, match="'target_transform' parameter"):
        clone(a).set_params(target_transform="log").fit([archs[i] for i in tr], y[tr], unlabeled=0)


@pytest.mark.parametrize("init", ["scratch", "pretrained"])
def test_variational_with_either_head_init_round_trips(nb201, split, tmp_path, init):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**SMALL, variational=True, regressor_init=init).fit(
        [archs[i] for i in tr], y[tr], unlabeled=100)
    assert a.autoencoder_.variational
    has_logvar = any(k.startswith("encoder.logvar") for k in a.reg_heads_[0].state_dict())
    assert has_logvar is (init == "pretrained")
    a.save(tmp_path / "v.pt")
    cells = [archs[i] for i in te[:30]]
    np.testing.assert_array_equal(Assessor.load(tmp_path / "v.pt").predict(cells), a.predict(cells))
    with pytest.raises(ValueError, match="'regressor_init' parameter"):
        clone(a).set_params(regressor_init="random").fit(cells[:5], y[:5], unlabeled=0)


def test_return_std_is_the_spread_of_the_ensemble_members(fitted, nb201, split, tmp_path):
    space, archs, y = nb201
    tr, te = split
    cells = [archs[i] for i in te[:150]]
    pool = [a for a in cells if space.hash(space.canonical(a)) in fitted.pool_index_]
    new = [a for a in cells if space.hash(space.canonical(a)) not in fitted.pool_index_]
    assert pool and new
    # one head: the mean is unchanged and the members agree exactly
    mean, std = fitted.predict(cells, return_std=True)
    np.testing.assert_array_equal(mean, fitted.predict(cells))
    np.testing.assert_array_equal(std, np.zeros(len(cells)))
    # files written before per-head pool outputs hold 1-D means: they predict the same
    old = pickle.loads(pickle.dumps(fitted))
    old.gcn_pool_out_, old.reg_pool_out_ = fitted.gcn_pool_out_[0], fitted.reg_pool_out_[0]
    assert old.reg_pool_out_.ndim == 1
    np.testing.assert_array_equal(old.predict(cells), mean)
    three = Assessor("nasbench201", **{**SMALL, "n_heads": 3}, random_state=0)
    three.fit([archs[i] for i in tr], y[tr], unlabeled=300)
    mean, std, parts = three.predict(cells, return_std=True, return_parts=True)
    np.testing.assert_allclose(mean, three.predict(cells), rtol=0, atol=1e-9)
    assert set(parts) == {"gcn", "regressor"} and std.shape == (len(cells),)
    assert np.all(std >= 0) and np.all(np.isfinite(std))
    # pool cells (cached outputs) and new cells (forward pass) both get a spread
    in_pool = np.array([a in pool for a in cells])
    assert std[in_pool].mean() > 0 and std[~in_pool].mean() > 0
    # the spread equals the members' standard deviation computed by hand for a few cells
    members = []
    for i in range(3):
        single = Assessor.__new__(Assessor)
        single.__dict__.update(three.__dict__)
        single.gcn_heads_, single.reg_heads_ = [three.gcn_heads_[i]], [three.reg_heads_[i]]
        single.gcn_pool_out_, single.reg_pool_out_ = three.gcn_pool_out_[i : i + 1], three.reg_pool_out_[i : i + 1]
        single._gcn_states = None
        members.append(single.predict(new[:10]))
    np.testing.assert_allclose(three.predict(new[:10], return_std=True)[1], np.std(members, axis=0), atol=1e-6)
    path = tmp_path / "three.pt"
    three.save(path)
    np.testing.assert_array_equal(Assessor.load(path).predict(cells, return_std=True)[1], std)
