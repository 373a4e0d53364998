"""Assessor as a scikit-learn estimator: parameters, fit/predict, inputs, ensembles."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError, SkipTestWarning
from sklearn.model_selection import cross_val_score
from sklearn.utils import get_tags
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_estimator

from gnnpred import Assessor, get_space
from gnnpred.assessor import Assessor as PackageAssessor
from gnnpred.metrics import kendall_scorer, spearman
from tests.gnnpred.assessor.conftest import SMALL, extra_two


def test_both_import_paths_give_the_class():
    assert PackageAssessor is Assessor


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
    with pytest.raises(NotFittedError):
        c.predict(fitted.pool_.cells[:2])
    c.set_params(k=7, gcn_weight=0.25)
    assert c.get_params()["k"] == 7 and c.gcn_weight == 0.25
    assert fitted.k == 5


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"k": -1}, r"The 'k' parameter of Assessor must be an int in the range \[1, inf\)\. "
                    r"Got -1 instead\."),
        ({"gcn_weight": 1.5}, "'gcn_weight' parameter"),
        ({"n_heads": 0}, "'n_heads'"),
        ({"variational": "yes"}, "'variational'"),
        ({"extra_features": 3}, "'extra_features'"),
        ({"space": 3}, "'space' parameter"),
        ({"num_threads": 0}, "'num_threads'"),
        ({"target_transform": "log"}, "'target_transform'"),
        ({"pretrain_steps": -1}, "'pretrain_steps'"),
        ({"random_state": -2}, "'random_state'"),
    ],
)
def test_check_params_names_the_bad_value_without_fitting(params, match):
    a = Assessor(**{**SMALL, **params})  # the constructor never validates (sklearn contract)
    with pytest.raises(InvalidParameterError, match=match) as info:
        a.check_params()
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    assert not hasattr(a, "heads_")


def test_check_params_resolves_space_and_device_names():
    assert Assessor(**SMALL).check_params().k == SMALL["k"]
    with pytest.raises(ValueError, match="nasbench999"):
        Assessor(space="nasbench999").check_params()
    with pytest.raises(ValueError, match="device"):
        Assessor(device="gpu-please").check_params()
    for other in ("meta", "mps", torch.device("meta")):  # real torch devices gnnpred cannot use
        with pytest.raises(ValueError, match="not supported: gnnpred runs on 'cpu' or 'cuda'"):
            Assessor(device=other).check_params()


def test_fit_validates_params(nb201):
    _, archs, y = nb201
    with pytest.raises(ValueError, match="'k' parameter"):
        Assessor(**{**SMALL, "k": 0}).fit(archs[:5], y[:5], unlabeled=0)


def test_fit_returns_self_and_predicts_pool_and_new_cells(fitted, nb201, split):
    space, archs, _ = nb201
    _, te = split
    assert len(fitted.pool_) > 300 * 0.5
    cells = [archs[i] for i in te]
    pred, parts = fitted.predict(cells, return_parts=True)
    assert pred.shape == (len(te),) and np.isfinite(pred).all()
    assert set(parts) == {"gcn", "regressor"}
    # the combination precedes the (monotone) map back to label units: it lies between the parts
    lo = np.minimum(parts["gcn"], parts["regressor"])
    hi = np.maximum(parts["gcn"], parts["regressor"])
    assert np.all(pred >= lo - 1e-9) and np.all(pred <= hi + 1e-9)
    assert not np.allclose(parts["gcn"], parts["regressor"])
    in_pool = [space.hash(space.canonical(a)) in fitted.pool_.index for a in cells]
    assert any(in_pool) and not all(in_pool)  # both code paths are exercised


def test_gcn_top_scores_only_the_best_new_cells_with_the_gcn(fitted, nb201, split):
    space, archs, _ = nb201
    cells = [archs[i] for i in split[1]]
    in_pool = np.array([space.hash(space.canonical(a)) in fitted.pool_.index for a in cells])
    new = np.flatnonzero(~in_pool)
    assert new.size > 3
    full, full_parts = fitted.predict(cells, return_parts=True)
    top, parts = fitted.predict(cells, return_parts=True, gcn_top=2)
    # the two new cells the regressor heads rank best keep every head (embedded in a smaller
    # batch: equal up to float rounding)
    best = new[np.argsort(-full_parts["regressor"][new], kind="stable")[:2]]
    scored = np.isfinite(parts["gcn"])
    assert set(np.flatnonzero(scored & ~in_pool)) == set(best)
    assert scored[in_pool].all()
    np.testing.assert_allclose(top[scored], full[scored], rtol=1e-6)
    # the others are the regressor heads' prediction alone
    rest = ~scored
    np.testing.assert_allclose(top[rest], parts["regressor"][rest])
    assert not np.allclose(top[rest], full[rest])
    assert list(parts) == ["gcn", "regressor"]
    # gcn_top at or above the new cells' count changes nothing
    np.testing.assert_array_equal(fitted.predict(cells, gcn_top=new.size), full)


def test_copies_of_a_new_cell_share_one_prediction_whatever_gcn_top_keeps(fitted, nb201, split):
    space, archs, _ = nb201
    cells = [archs[i] for i in split[1]]
    new = [a for a in cells if space.hash(space.canonical(a)) not in fitted.pool_.index][:4]
    twice = new + new[::-1]
    for top in (None, 1, 3):
        pred, std = fitted.predict(twice, return_std=True, gcn_top=top)
        np.testing.assert_array_equal(pred[:4], pred[4:][::-1])
        np.testing.assert_array_equal(std[:4], std[4:][::-1])


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10"])
def test_gcn_top_must_be_a_positive_integer(fitted, nb201, bad):
    with pytest.raises(ValueError, match="gcn_top must be a positive integer"):
        fitted.predict(nb201[1][:3], gcn_top=bad)


def test_cells_with_one_canonical_form_get_one_prediction(fitted, nb201):
    space = nb201[0]
    one = space.from_string("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    dead = space.from_string(
        "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|none~2|")
    assert space.canonical(one) == space.canonical(dead) != dead
    p1, p2 = fitted.predict([one, dead])
    assert p1 == p2


def test_string_cells_are_accepted_by_fit_and_predict(fitted, nb201, split):
    space, archs, y = nb201
    tr, te = split
    strings = [space.to_string(archs[i]) for i in te[:30]]
    np.testing.assert_array_equal(fitted.predict(strings),
                                  fitted.predict([archs[i] for i in te[:30]]))
    from_strings = clone(fitted).fit([space.to_string(archs[i]) for i in tr], y[tr], unlabeled=300)
    np.testing.assert_array_equal(from_strings.predict(strings), fitted.predict(strings))
    pool = [archs[i] for i in te[100:200]]
    as_cells = clone(fitted).fit([archs[i] for i in tr], y[tr], unlabeled=pool)
    as_strings = clone(fitted).fit([archs[i] for i in tr], y[tr],
                                   unlabeled=[space.to_string(a) for a in pool])
    np.testing.assert_array_equal(as_strings.predict(strings), as_cells.predict(strings))
    with pytest.raises(ValueError):
        fitted.predict(["|not_an_op~0|+|none~0|none~1|+|none~0|none~1|none~2|"])


def test_string_cells_in_arrays_work_in_cross_validation(fitted, nb201, split):
    space, archs, y = nb201
    tr, te = split
    strings = [space.to_string(archs[i]) for i in te[:30]]
    np.testing.assert_array_equal(fitted.predict(np.array(strings)), fitted.predict(strings))
    pool = np.array([space.to_string(archs[i]) for i in te[100:200]])
    as_array = clone(fitted).fit(np.array([space.to_string(archs[i]) for i in tr]), y[tr],
                                 unlabeled=pool)
    as_list = clone(fitted).fit([archs[i] for i in tr], y[tr], unlabeled=list(pool))
    np.testing.assert_array_equal(as_array.predict(strings), as_list.predict(strings))
    scores = cross_val_score(Assessor(**SMALL), np.array([space.to_string(archs[i]) for i in tr]),
                             y[tr], cv=2, scoring=kendall_scorer, params={"unlabeled": 0},
                             error_score="raise")
    assert scores.shape == (2,)


def test_parameters_set_after_fit_wait_for_the_next_fit(nb201, split):
    space, archs, y = nb201
    tr, te = split
    test = [archs[i] for i in te[:100]]
    est = Assessor(**SMALL, random_state=0).fit([archs[i] for i in tr], y[tr], unlabeled=0)
    before = est.predict(test)
    est.set_params(canonicalize=False, extra_features=extra_two)
    np.testing.assert_array_equal(est.predict(test), before)
    est.fit([archs[i] for i in tr], y[tr], unlabeled=0)  # now they apply
    assert not np.array_equal(est.predict(test), before)


def test_an_nb101_assessor_fitted_on_small_cells_predicts_the_largest():
    space = get_space("nasbench101")
    rng = np.random.default_rng(0)
    small: dict = {}
    while len(small) < 20:
        cell = space.sample(rng)
        if space.to_batch([cell]).num_nodes <= 5:
            small.setdefault(space.hash(cell), cell)
    seven = space.make(
        matrix=[[0, 1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0],
                [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1],
                [0, 0, 0, 0, 0, 0, 0]],
        ops=["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu",
             "conv3x3-bn-relu", "output"])
    assert space.to_batch([seven]).num_nodes == space.max_nodes == 7
    est = Assessor("nasbench101", **SMALL).fit(list(small.values()), rng.random(20), unlabeled=0)
    assert np.isfinite(est.predict([seven])).all()


def test_deterministic_with_fixed_random_state(fitted, nb201, split):
    _, archs, y = nb201
    tr, te = split
    other = clone(fitted).fit([archs[i] for i in tr], y[tr], unlabeled=300)
    cells = [archs[i] for i in te[:100]]
    np.testing.assert_array_equal(other.predict(cells), fitted.predict(cells))
    third = clone(fitted).set_params(random_state=1).fit([archs[i] for i in tr], y[tr],
                                                         unlabeled=300)
    assert not np.array_equal(third.predict(cells), fitted.predict(cells))


@pytest.mark.parametrize("steps", [1, 2, 10])
def test_any_positive_step_count_fits(nb201, split, steps):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**{**SMALL, "pretrain_steps": steps, "gcn_epochs": steps,
                    "regressor_steps": steps, "batch_size": 16})
    a.fit([archs[i] for i in tr[:30]], y[tr[:30]], unlabeled=64)
    assert np.isfinite(a.predict([archs[i] for i in te[:5]])).all()


def test_learns_the_nb201_ranking(nb201):
    _, archs, y = nb201
    perm = np.random.default_rng(1).permutation(len(archs))
    tr, te = perm[:200], perm[200:3200]
    a = Assessor(pretrain_steps=60, n_heads=1, gcn_epochs=30, regressor_steps=100, num_layers=3,
                 device="cpu", random_state=0)
    a.fit([archs[i] for i in tr], y[tr], unlabeled=1000)
    assert spearman(y[te], a.predict([archs[i] for i in te])) > 0.6


def test_standard_target_transform_fits(nb201, split):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**SMALL, target_transform="standard").fit([archs[i] for i in tr], y[tr],
                                                           unlabeled=100)
    assert np.isfinite(a.predict([archs[i] for i in te[:10]])).all()


def test_space_instance_and_labelled_only(nb201, split):
    space, archs, y = nb201
    tr, _ = split
    a = Assessor(space, **SMALL).fit([archs[i] for i in tr], y[tr], unlabeled=0)
    assert len(a.pool_) <= len(tr)
    assert a.predict([archs[0]]).shape == (1,)


def test_sample_weight_changes_the_fit(nb201, split):
    _, archs, y = nb201
    tr, te = split
    train = [archs[i] for i in tr[:40]]
    weighted = Assessor(**SMALL).fit(train, y[tr[:40]], unlabeled=100,
                                     sample_weight=np.linspace(0.5, 3.0, 40))
    plain = Assessor(**SMALL).fit(train, y[tr[:40]], unlabeled=100)
    ones = Assessor(**SMALL).fit(train, y[tr[:40]], unlabeled=100, sample_weight=np.ones(40))
    test = [archs[i] for i in te[:50]]
    np.testing.assert_array_equal(ones.predict(test), plain.predict(test))
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
    with pytest.raises(TypeError, match=r"archs\[3\]"):
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


def test_return_std_is_the_spread_of_the_ensemble_members(fitted, nb201, split):
    space, archs, y = nb201
    tr, te = split
    cells = [archs[i] for i in te[:150]]
    mean, std = fitted.predict(cells, return_std=True)  # one head: the members agree exactly
    np.testing.assert_array_equal(mean, fitted.predict(cells))
    np.testing.assert_array_equal(std, np.zeros(len(cells)))
    three = Assessor("nasbench201", **{**SMALL, "n_heads": 3}, random_state=0)
    three.fit([archs[i] for i in tr], y[tr], unlabeled=300)
    mean, std, parts = three.predict(cells, return_std=True, return_parts=True)
    np.testing.assert_allclose(mean, three.predict(cells), rtol=0, atol=1e-9)
    assert set(parts) == {"gcn", "regressor"} and std.shape == (len(cells),)
    assert np.all(np.isfinite(std))
    in_pool = np.array([space.hash(space.canonical(a)) in three.pool_.index for a in cells])
    assert std[in_pool].mean() > 0 and std[~in_pool].mean() > 0  # cached and new cells


def test_declares_architecture_inputs_to_sklearn():
    tags = get_tags(Assessor())
    assert tags.input_tags.two_d_array is False and tags.input_tags.string is True
    assert tags.estimator_type == "regressor"
    # check_estimator skips the 2-D array checks that do not apply, and does not fail
    with pytest.warns(SkipTestWarning, match="requires input"):
        check_estimator(Assessor(**SMALL))


def test_kendall_scorer_in_cross_validation(nb201, split):
    _, archs, y = nb201
    tr, _ = split
    cells = [archs[i] for i in tr]
    scores = cross_val_score(Assessor(**SMALL), cells, y[tr], cv=2, scoring=kendall_scorer,
                             params={"unlabeled": 0})
    assert scores.shape == (2,) and np.all((scores >= -1) & (scores <= 1))
    assert scores.mean() > 0
