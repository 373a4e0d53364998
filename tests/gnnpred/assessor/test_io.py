"""Assessor.save / Assessor.load: bit-identical round trips, and files that must be refused."""

import pickle

import numpy as np
import pytest
import torch

from gnnpred import Assessor
from tests.gnnpred.assessor.conftest import SMALL, extra_two


class _WritesMarker:
    """Unpickling this object creates a file: a stand-in for arbitrary code in a crafted file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_save_load_bit_identical(fitted, nb201, split, tmp_path):
    _, archs, _ = nb201
    _, te = split
    cells = [archs[i] for i in te]
    fitted.save(tmp_path / "assessor.pt")
    loaded = Assessor.load(tmp_path / "assessor.pt")
    np.testing.assert_array_equal(loaded.predict(cells), fitted.predict(cells))
    assert loaded.get_params() == fitted.get_params()
    again = pickle.loads(pickle.dumps(fitted))  # the estimator itself pickles too
    np.testing.assert_array_equal(again.predict(cells[:20]), fitted.predict(cells[:20]))


def test_ensembles_and_variational_models_round_trip(nb201, split, tmp_path):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**{**SMALL, "n_heads": 2}, variational=True).fit([archs[i] for i in tr], y[tr],
                                                                 unlabeled=100)
    a.save(tmp_path / "v.pt")
    cells = [archs[i] for i in te[:40]]
    mean, std = Assessor.load(tmp_path / "v.pt").predict(cells, return_std=True)
    np.testing.assert_array_equal(mean, a.predict(cells))
    np.testing.assert_array_equal(std, a.predict(cells, return_std=True)[1])


def test_a_loaded_warm_assessor_keeps_extending_its_graph(nb201, split, tmp_path):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**SMALL, warm_start=True).fit([archs[i] for i in tr], y[tr], unlabeled=100)
    a.save(tmp_path / "w.pt")
    b = Assessor.load(tmp_path / "w.pt")
    torch.testing.assert_close(b.pool_.distances, a.pool_.distances)
    cells = [archs[i] for i in [*tr, *te[:10]]]
    labels = y[[*tr, *te[:10]]]
    a.fit(cells, labels, unlabeled=100)
    b.fit(cells, labels, unlabeled=100)
    assert b.autoencoder_.state_dict().keys() == a.autoencoder_.state_dict().keys()
    np.testing.assert_array_equal(b.predict(cells), a.predict(cells))


def test_extra_features_need_trust_to_load(nb201, split, tmp_path):
    _, archs, y = nb201
    tr, te = split
    a = Assessor(**SMALL, extra_features=extra_two).fit([archs[i] for i in tr], y[tr],
                                                        unlabeled=100)
    assert a.pool_.extra.shape[1] == 2
    a.save(tmp_path / "x.pt")
    with pytest.raises(ValueError, match=r"pickled Python objects.*trust=True"):
        Assessor.load(tmp_path / "x.pt")
    cells = [archs[i] for i in te[:50]]
    loaded = Assessor.load(tmp_path / "x.pt", trust=True)
    np.testing.assert_array_equal(loaded.predict(cells), a.predict(cells))


def test_a_space_instance_is_a_pickled_object_too(nb201, split, tmp_path):
    space, archs, y = nb201
    tr, te = split
    a = Assessor(space, **SMALL).fit([archs[i] for i in tr], y[tr], unlabeled=0)
    a.save(tmp_path / "s.pt")
    with pytest.raises(ValueError, match="trust=True"):
        Assessor.load(tmp_path / "s.pt")
    loaded = Assessor.load(tmp_path / "s.pt", trust=True)
    assert type(loaded.space) is type(space)
    cells = [archs[i] for i in te[:20]]
    np.testing.assert_array_equal(loaded.predict(cells), a.predict(cells))


def test_unpicklable_parameters_cannot_be_saved(nb201, split, tmp_path):
    _, archs, y = nb201
    tr, _ = split
    lam = Assessor(**SMALL, extra_features=lambda xs: extra_two(xs))
    lam.fit([archs[i] for i in tr], y[tr], unlabeled=0)
    with pytest.raises(TypeError, match="cannot be pickled"):
        lam.save(tmp_path / "lam.pt")


def test_a_crafted_file_never_runs_code(fitted, tmp_path):
    marker = tmp_path / "marker"
    crafted = tmp_path / "crafted.pt"
    torch.save({"format": "gnnpred.Assessor/2", "payload": _WritesMarker(str(marker))}, crafted)
    with pytest.raises(ValueError, match="not a saved gnnpred Assessor"):
        Assessor.load(crafted)
    assert not marker.exists()
    # a genuine file whose pickled-objects entry was replaced: refused without trust
    fitted.save(tmp_path / "genuine.pt")
    state = torch.load(tmp_path / "genuine.pt", weights_only=True)
    state["objects"] = pickle.dumps({"extra_features": _WritesMarker(str(marker))})
    torch.save(state, tmp_path / "tampered.pt")
    with pytest.raises(ValueError, match="trust=True"):
        Assessor.load(tmp_path / "tampered.pt")
    assert not marker.exists()


def test_missing_keys_and_other_files_raise_value_error(fitted, tmp_path):
    fitted.save(tmp_path / "a.pt")
    state = torch.load(tmp_path / "a.pt", weights_only=True)
    for key in ("heads", "pool", "params"):
        torch.save({k: v for k, v in state.items() if k != key}, tmp_path / "cut.pt")
        with pytest.raises(ValueError, match=rf"cut\.pt.*key '{key}' is missing"):
            Assessor.load(tmp_path / "cut.pt")
    del state["pool"]["embedding"]
    torch.save(state, tmp_path / "inner.pt")
    with pytest.raises(ValueError, match=r"inner\.pt.*embedding"):
        Assessor.load(tmp_path / "inner.pt")
    torch.save({"format": "other"}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not a saved gnnpred Assessor"):
        Assessor.load(tmp_path / "bad.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ValueError, match="not a saved gnnpred Assessor"):
        Assessor.load(tmp_path / "text.pt")
    with pytest.raises(FileNotFoundError):
        Assessor.load(tmp_path / "missing.pt")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: s.__setitem__("params", ["k", 5]), "params.*list"),
        (lambda s: s["params"].__setitem__("no_such_param", 1), "no_such_param"),
        (lambda s: s["params"].__setitem__("k", -1), "'k'"),
        (lambda s: s["params"].__setitem__("n_heads", "two"), "'n_heads'"),
        (lambda s: s["params"].__setitem__("device", "not-a-device"), "not-a-device"),
        (lambda s: s.__setitem__("pretrain_metrics", [0.5]), "pretrain_metrics"),
        (lambda s: s.__setitem__("pretrain_metrics", {"loss": "low"}), "pretrain_metrics"),
    ],
)
def test_malformed_params_raise_value_error_naming_the_file(fitted, tmp_path, edit, match):
    fitted.save(tmp_path / "a.pt")
    state = torch.load(tmp_path / "a.pt", weights_only=True)
    edit(state)
    torch.save(state, tmp_path / "tampered.pt")
    with pytest.raises(ValueError, match=rf"tampered\.pt.*{match}") as info:
        Assessor.load(tmp_path / "tampered.pt")
    assert not isinstance(info.value, TypeError)  # the documented error is a ValueError only


def test_a_file_saved_for_cuda_loads_anywhere(fitted, tmp_path):
    fitted.save(tmp_path / "a.pt")
    state = torch.load(tmp_path / "a.pt", weights_only=True)
    state["params"]["device"] = "cuda"  # the device is the loading machine's choice
    torch.save(state, tmp_path / "cuda.pt")
    assert Assessor.load(tmp_path / "cuda.pt").device == "cuda"


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: s["pool"]["neighbours"].add_(10**6), "neighbour table points outside"),
        (lambda s: s["pool"]["neighbours"].sub_(10**6), "neighbour table points outside"),
        (lambda s: s["pool"].__setitem__("neighbours", s["pool"]["neighbours"].float()),
         "neighbours has dtype"),
        (lambda s: s["pool"].__setitem__("cells", s["pool"]["cells"][:-1]), "embedding has shape"),
        (lambda s: s["pool"].__setitem__("cells", [*s["pool"]["cells"][:-1],
                                                   s["pool"]["cells"][0]]), "twice"),
        (lambda s: s["pool"].__setitem__("distances", None), "neighbours without distances"),
        (lambda s: s["pool"]["scale"].pop(), "scale must hold 4"),
        (lambda s: s["heads"]["pool_scores"].__setitem__(
            "gcn", s["heads"]["pool_scores"]["gcn"][:, :5]), "pool scores have shape"),
    ],
)
def test_a_damaged_pool_is_refused_before_it_is_used(fitted, tmp_path, edit, match):
    # an out-of-range neighbour index used to reach torch's unchecked sparse kernels and crash
    # the interpreter (SIGSEGV) instead of raising
    fitted.save(tmp_path / "a.pt")
    state = torch.load(tmp_path / "a.pt", weights_only=True)
    edit(state)
    torch.save(state, tmp_path / "damaged.pt")
    with pytest.raises(ValueError, match=rf"damaged\.pt is not a consistent.*{match}"):
        Assessor.load(tmp_path / "damaged.pt")


def test_saving_keeps_the_fitted_parameters_not_ones_set_since(nb201, split, tmp_path):
    space, archs, y = nb201
    tr, te = split
    test = [archs[i] for i in te[:50]]
    est = Assessor(**SMALL, random_state=0).fit([archs[i] for i in tr], y[tr], unlabeled=200)
    before = est.predict(test)
    # a changed shape parameter would not even match the saved weights at load
    est.set_params(hidden_channels=64, canonicalize=False, device=torch.device("cpu"))
    est.save(tmp_path / "a.pt")
    back = Assessor.load(tmp_path / "a.pt")  # a torch.device is saved as its name: no trust
    assert back.hidden_channels == SMALL["hidden_channels"] and back.canonicalize is True
    assert back.device == "cpu"
    np.testing.assert_array_equal(back.predict(test), before)
