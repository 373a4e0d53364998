"""One-file save/load of a fitted :class:`gnnpred.Assessor` (parameters, state dicts, arrays)."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from gnnpred import _assessor_train as T
from gnnpred._assessor_params import resolve_space
from gnnpred.models.autoencoder import GraphAutoencoder
from gnnpred.models.gcn import KNNGCN
from gnnpred.models.regressor import GraphRegressor

FORMAT = "gnnpred.Assessor/1"
_ARRAYS = ("emb_mean_", "emb_std_", "extra_mean_", "extra_std_", "pool_extra_raw_", "gcn_pool_out_", "reg_pool_out_")
_TENSORS = ("pool_embedding_", "pool_features_", "pool_extra_", "neighbours_")
_SCALARS = ("max_nodes_", "y_mean_", "y_std_", "y_knots_", "unlabeled_key_", "pretrain_metrics_")


def save_assessor(est, path: str | Path) -> None:
    """Write a fitted assessor to ``path`` (``torch.save`` of plain containers)."""
    space = est.space_
    state = {
        "format": FORMAT,
        "params": est.get_params(deep=False),
        "pool": [space.to_string(c) for c in est.pool_],
        "autoencoder": est.autoencoder_.state_dict(),
        "gcn_heads": [h.state_dict() for h in est.gcn_heads_],
        "reg_heads": [h.state_dict() for h in est.reg_heads_],
        **{name: getattr(est, name) for name in _ARRAYS + _TENSORS + _SCALARS},
        "neighbour_dist": getattr(est, "neighbour_dist_", None),  # optional: warm refits extend the graph
    }
    try:
        torch.save(state, Path(path))
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise TypeError(
            "Could not save the Assessor: its 'space' or 'extra_features' parameter is not picklable "
            f"({exc}); use a module-level function or class instance, not a lambda or local function."
        ) from exc


def load_assessor(cls, path: str | Path):
    """Rebuild an assessor written by :func:`save_assessor`; predictions are bit-identical."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No saved Assessor at {path}.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise ValueError(f"{path} is not a saved gnnpred Assessor ({exc}).") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a saved gnnpred Assessor (format {FORMAT!r} expected).")
    est = cls(**state["params"])
    space = resolve_space(est.space)
    est.space_ = space
    for name in _ARRAYS + _TENSORS + _SCALARS:
        setattr(est, name, state[name])
    if state.get("neighbour_dist") is not None:  # absent from files of earlier versions
        est.neighbour_dist_ = state["neighbour_dist"]
    est.pool_ = [space.from_string(s) for s in state["pool"]]
    est.pool_index_ = {space.hash(c): i for i, c in enumerate(est.pool_)}
    est.pool_graphs_ = T.dense_graphs(space, est.pool_, est.max_nodes_)
    variational = any(k.startswith("encoder.logvar") for k in state["autoencoder"])
    ae = GraphAutoencoder(len(space.op_vocab), est.max_nodes_, est.hidden_channels, est.embedding_dim,
                          est.num_layers, variational)
    ae.load_state_dict(state["autoencoder"])
    est.autoencoder_ = ae.eval()
    n_feat, n_extra = est.pool_features_.shape[1], est.pool_extra_.shape[1]
    est.gcn_heads_ = []
    for sd in state["gcn_heads"]:
        g = KNNGCN(n_feat, est.hidden_channels, est.gcn_layers)
        g.load_state_dict(sd)
        est.gcn_heads_.append(g.eval())
    est.reg_heads_ = []
    for sd in state["reg_heads"]:
        head_variational = any(k.startswith("encoder.logvar") for k in sd)
        enc = GraphAutoencoder(len(space.op_vocab), est.max_nodes_, est.hidden_channels, est.embedding_dim,
                               est.num_layers, head_variational).encoder
        r = GraphRegressor(enc, n_extra, est.hidden_channels)
        r.load_state_dict(sd)
        est.reg_heads_.append(r.eval())
    est._gcn_states = None
    return est

