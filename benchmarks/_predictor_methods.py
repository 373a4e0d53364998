"""Methods of benchmarks/predictor.py: each fits on the labelled cells of a split and predicts
the test cells.

- ``assessor``: the default :class:`gnnpred.Assessor`, its unlabelled pool the table's pool.
- ``assessor-sup``: its supervised-only ablation (no unlabelled cells, ``gcn_weight=0``).
- ``labelprop`` / ``labelspread``: :func:`gnnpred.propagation.propagate_labels` (propagation /
  spreading with ``alpha=0.9``) on the assessor's own kNN graph: that of the split's
  ``assessor`` when it ran first (the heads do not shape the graph; the seconds recorded are then
  the propagation's alone), else of an assessor fitted the same way with one cheap head (its
  fit is counted in the first propagation method's seconds).
- ``xgb-onehot``: XGBoost on the space's one-hot encoding.
- ``xgb-onehot-zc`` / ``rf-onehot-zc``: XGBoost / a random forest on one-hot + zero-cost proxies
  (NAS-Bench-Suite-Zero style).
- ``rf-graf`` / ``rf-graf-zc``: a random forest on GRAF features
  (:func:`gnnpred.proxies.graf.graf_features`), alone and with zero-cost proxies (Kadlecová et
  al., ICML 2024).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

METHODS = ("assessor", "assessor-sup", "labelprop", "labelspread", "xgb-onehot",
           "xgb-onehot-zc", "rf-onehot-zc", "rf-graf", "rf-graf-zc")
ZC_METHODS = tuple(m for m in METHODS if m.endswith("-zc"))
#: Lighter assessor settings of ``--quick`` (a smoke test of the harness, not a figure).
QUICK_ASSESSOR = {"pretrain_steps": 100, "n_heads": 1, "gcn_epochs": 30, "regressor_steps": 60}


class Split:
    """One (table, size, seed) split: train / test rows and features shared by the methods."""

    def __init__(self, table, train: np.ndarray, test: np.ndarray, seed: int, quick: bool,
                 zc_jobs: int = 1) -> None:
        self.table, self.train, self.test = table, train, test
        self.seed, self.quick, self.zc_jobs = seed, quick, zc_jobs
        self.pooled = None

    def cells(self, rows: np.ndarray) -> list:
        return [self.table.archs[i] for i in rows]

    def assessor_kwargs(self) -> dict:
        return dict(QUICK_ASSESSOR) if self.quick else {}

    def features(self, kind: str, rows: np.ndarray) -> np.ndarray:
        """``onehot``, ``onehot-zc``, ``graf`` or ``graf-zc`` features of table rows."""
        base, _, zc = kind.partition("-")
        if base == "onehot":
            x = np.asarray(self.table.space.encode(self.cells(rows)), dtype=np.float64)
        else:
            x = self.table.graf()[rows]
        if zc:
            x = np.concatenate([x, self.table.zero_cost(self.zc_jobs)[rows]], 1)
        return x

    def graph_assessor(self):
        """An assessor whose pool and kNN graph equal those of ``assessor`` on this split (same
        seed, pool and autoencoder settings), fitted with one cheap head."""
        if self.pooled is None:
            from gnnpred import Assessor

            kw = {**self.assessor_kwargs(), "n_heads": 1, "gcn_epochs": 1, "regressor_steps": 1}
            self.pooled = Assessor(self.table.space, random_state=self.seed, **kw).fit(
                self.cells(self.train), self.table.values[self.train],
                unlabeled=self.table.pool)
        return self.pooled


def _assessor(split: Split, supervised_only: bool) -> np.ndarray:
    from gnnpred import Assessor

    kw = split.assessor_kwargs()
    if supervised_only:
        kw["gcn_weight"] = 0.0
    a = Assessor(split.table.space, random_state=split.seed, **kw)
    a.fit(split.cells(split.train), split.table.values[split.train],
          unlabeled=0 if supervised_only else split.table.pool)
    if not supervised_only:
        split.pooled = a  # same seed, pool and autoencoder: the same kNN graph
    return a.predict(split.cells(split.test))


def _propagation(split: Split, alpha: float | None) -> np.ndarray:
    from gnnpred.propagation import propagate_labels

    a = split.graph_assessor()
    space, pool = split.table.space, a.pool_

    def rows(cells: list) -> np.ndarray:
        return np.array([pool.index[space.hash(space.canonical(c))] for c in cells])

    train_rows, y = rows(split.cells(split.train)), split.table.values[split.train]
    # labelled cells sharing a pool row (equivalent cells) give it their mean label
    uniq, inv = np.unique(train_rows, return_inverse=True)
    means = np.bincount(inv, weights=y) / np.bincount(inv)
    f = propagate_labels(pool.neighbours.numpy(), uniq, means,
                         distances=pool.distances.numpy(), alpha=alpha)
    return f[rows(split.cells(split.test))]


def _tabular(split: Split, model: str, kind: str) -> np.ndarray:
    if model == "xgb":
        from xgboost import XGBRegressor

        est = XGBRegressor(n_estimators=400, max_depth=6, learning_rate=0.05, subsample=0.8,
                           colsample_bytree=0.8, random_state=split.seed, n_jobs=1, verbosity=0)
    else:
        from sklearn.ensemble import RandomForestRegressor

        est = RandomForestRegressor(n_estimators=300, random_state=split.seed, n_jobs=1)
    est.fit(split.features(kind, split.train), split.table.values[split.train])
    return est.predict(split.features(kind, split.test))


FIT_PREDICT: dict[str, Callable[[Split], np.ndarray]] = {
    "assessor": lambda s: _assessor(s, supervised_only=False),
    "assessor-sup": lambda s: _assessor(s, supervised_only=True),
    "labelprop": lambda s: _propagation(s, alpha=None),
    "labelspread": lambda s: _propagation(s, alpha=0.9),
    "xgb-onehot": lambda s: _tabular(s, "xgb", "onehot"),
    "xgb-onehot-zc": lambda s: _tabular(s, "xgb", "onehot-zc"),
    "rf-onehot-zc": lambda s: _tabular(s, "rf", "onehot-zc"),
    "rf-graf": lambda s: _tabular(s, "rf", "graf"),
    "rf-graf-zc": lambda s: _tabular(s, "rf", "graf-zc"),
}
