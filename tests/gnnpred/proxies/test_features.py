"""ProxyFeatures: transform, cache, pickling, save/load."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import gnnpred.proxies.features as features_mod
from gnnpred.proxies import ProxyFeatures
from gnnpred.proxies.features import signed_log1p
from gnnpred.spaces import get_space

NB201 = get_space("nasbench201")
ARCHS = [
    NB201.make(
        ops=["nor_conv_3x3", "skip_connect", "none", "nor_conv_1x1", "avg_pool_3x3", "none"]
    ),
    NB201.make(ops=["none"] * 6),
]


def test_features_are_logged_scores_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = features_mod.score
    monkeypatch.setattr(
        features_mod, "score", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k)
    )
    feats = ProxyFeatures(NB201, names=("synflow", "params"))
    with pytest.warns(RuntimeWarning, match="synflow 0"):
        x = feats(ARCHS)
    raw = feats.raw_scores(ARCHS)
    assert x.shape == (2, 2) and np.all(np.isfinite(x))
    np.testing.assert_array_equal(x, signed_log1p(raw))
    assert x[1, 0] == 0.0  # dead cell: synflow 0 stays finite after the transform
    np.testing.assert_array_equal(feats(ARCHS[::-1]), x[::-1])
    assert calls == [2] and len(feats) == 2


def test_pickle_and_save_load_round_trip(tmp_path) -> None:
    feats = ProxyFeatures(NB201, names=("params", "flops"), transform=None)
    x = feats(ARCHS)
    clone = pickle.loads(pickle.dumps(feats))
    np.testing.assert_array_equal(clone(ARCHS), x)
    path = tmp_path / "scores.npz"
    feats.save(path)
    loaded = ProxyFeatures.load(path, NB201, transform=None)
    assert loaded.names == ("params", "flops") and len(loaded) == 2
    np.testing.assert_array_equal(loaded(ARCHS), x)
    only_flops = ProxyFeatures.load(path, NB201, names=("flops",), transform=None)
    np.testing.assert_array_equal(only_flops(ARCHS)[:, 0], x[:, 1])


def test_load_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        ProxyFeatures.load(tmp_path / "absent.npz", NB201)
    feats = ProxyFeatures(NB201, names=("params",))
    feats(ARCHS[:1])
    feats.save(tmp_path / "s.npz")
    with pytest.raises(ValueError, match="not 'nasbench-graph'"):
        ProxyFeatures.load(tmp_path / "s.npz", get_space("nasbench-graph"))
    with pytest.raises(ValueError, match="no scores"):
        ProxyFeatures.load(tmp_path / "s.npz", NB201, names=("synflow",))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a proxy score file"):
        ProxyFeatures.load(tmp_path / "bad.npz", NB201)


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="need data"):
        ProxyFeatures(NB201, names=("snip",))
    with pytest.raises(ValueError, match="transform"):
        ProxyFeatures(NB201, transform="sqrt")
