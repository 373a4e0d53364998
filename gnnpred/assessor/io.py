"""One-file save/load of a fitted :class:`gnnpred.Assessor`.

The file is a ``torch.save`` of plain values (str, int, float, bool, None, lists, dicts) and
tensors, read back with ``torch.load(weights_only=True)``, which cannot run code. Parameters
that are Python objects (an ``extra_features`` callable, a space instance, a generator) are
pickled into one ``objects`` entry that :func:`load` unpickles only with ``trust=True``.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gnnpred.assessor.heads import Heads
from gnnpred.assessor.params import resolve_space
from gnnpred.assessor.pool import Pool
from gnnpred.assessor.targets import Target
from gnnpred.models.autoencoder import GraphAutoencoder

FORMAT = "gnnpred.Assessor/2"
KEYS = ("format", "params", "objects", "pool", "autoencoder", "heads", "target",
        "unlabeled_key", "pretrain_metrics")


def _is_plain(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return isinstance(value, dict) and all(
        isinstance(k, str) and _is_plain(v) for k, v in value.items())


#: Parameters that only say how to run (not what was fitted): saved with their current value.
RUNTIME = ("device", "num_threads", "verbose")


def save(est, path: str | Path) -> None:
    """Write a fitted assessor to ``path``: the parameters it was fitted with (those set since
    take effect at the next fit) and the current :data:`RUNTIME` ones."""
    params, objects = {}, {}
    current = est.get_params(deep=False)
    fitted = {**est._fitted_params, **{k: current[k] for k in RUNTIME}}
    for name, value in fitted.items():
        value = value.item() if isinstance(value, np.generic) else value
        value = str(value) if isinstance(value, torch.device) else value  # not a pickled object
        (params if _is_plain(value) else objects)[name] = value
    try:
        blob = pickle.dumps(objects) if objects else None
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise TypeError(
            f"Could not save the Assessor: parameter(s) {sorted(objects)} cannot be pickled "
            f"({exc}); use a module-level function or class instance, not a lambda or local "
            "function."
        ) from exc
    state = {
        "format": FORMAT,
        "params": params,
        "objects": blob,
        "pool": est.pool_.state_dict(est.space_),
        "autoencoder": est.autoencoder_.state_dict(),
        "heads": est.heads_.state_dict(),
        "target": est.target_.state_dict(),
        "unlabeled_key": est.unlabeled_key_,
        "pretrain_metrics": {k: float(v) for k, v in est.pretrain_metrics_.items()},
    }
    torch.save(state, Path(path))


def _read(path: Path, trust: bool) -> tuple[dict, dict]:
    """The file's state and its unpickled objects; raise ValueError on anything else."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any load failure means a bad or unsafe file
        raise ValueError(f"{path} is not a saved gnnpred Assessor ({exc}).") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path} is not a saved gnnpred Assessor: format {FORMAT!r} expected, "
                         f"found {found!r}. Refit and save it with this version.")
    missing = [k for k in KEYS if k not in state]
    if missing:
        raise ValueError(f"{path} is not a complete saved gnnpred Assessor: key {missing[0]!r} "
                         f"is missing (missing: {missing}). Refit and save it again.")
    blob = state["objects"]
    if blob is None:
        return state, {}
    if not trust:
        raise ValueError(
            f"{path} holds pickled Python objects (parameters such as extra_features or a space "
            "instance); unpickling them can run arbitrary code. Load it with "
            "Assessor.load(path, trust=True) only if you trust the file's origin."
        )
    try:
        objects = pickle.loads(blob)
    except Exception as exc:  # noqa: BLE001 - e.g. a function that no longer exists
        raise ValueError(f"{path}: could not unpickle its objects ({exc}).") from exc
    return state, objects


def _estimator(cls, path: Path, state: dict, objects: Any):
    """The unfitted estimator of the saved parameters, all checked with ``check_params``.

    Raises:
        ValueError: Naming the file, on parameters that are not a dict of known names, values
            that violate the constraints, or malformed ``pretrain_metrics``/``unlabeled_key``.
    """
    params = state["params"]
    bad = f"{path} is not a consistent saved gnnpred Assessor"
    for name, value in (("params", params), ("objects", objects)):
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ValueError(f"{bad}: its {name!r} entry must be a dict of parameter names, "
                             f"found {type(value).__name__}. Refit and save it again.")
    known = set(cls._get_param_names())
    unknown = sorted(set(params) - known) + sorted(set(objects) - known)
    twice = sorted(set(params) & set(objects))
    if unknown or twice:
        what = f"unknown parameter(s) {unknown}" if unknown else f"parameter(s) {twice} twice"
        raise ValueError(f"{bad}: it holds {what}. Refit and save it with this version.")
    metrics = state["pretrain_metrics"]
    if not isinstance(metrics, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in metrics.items()):
        raise ValueError(f"{bad}: its 'pretrain_metrics' entry must map metric names to "
                         f"numbers, found {metrics!r}. Refit and save it again.")
    if not isinstance(state["unlabeled_key"], str):
        raise ValueError(f"{bad}: its 'unlabeled_key' entry must be a str, found "
                         f"{type(state['unlabeled_key']).__name__}. Refit and save it again.")
    est = cls(**params, **objects)
    try:
        # The device is the loading machine's choice: a file saved with device="cuda" still
        # loads where CUDA is missing (set_params(device="cpu") before predicting).
        cls(**{**params, **objects, "device": "cpu"}).check_params()
        if not isinstance(est.device, (str, torch.device)):
            raise ValueError(f"device must be a str or torch.device. Got {est.device!r}.")
        if isinstance(est.device, str) and est.device != "auto":
            torch.device(est.device)
    except (ValueError, TypeError, RuntimeError) as exc:  # InvalidParameterError is both
        raise ValueError(f"{bad}: its parameters are invalid ({exc}). Refit and save it "
                         "again.") from exc
    return est


def load(cls, path: str | Path, *, trust: bool = False):
    """Rebuild an assessor written by :func:`save`; predictions are bit-identical."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No saved Assessor at {path}.")
    state, objects = _read(path, trust)
    est = _estimator(cls, path, state, objects)
    space = resolve_space(est.space)
    try:
        pool = Pool.from_state(space, state["pool"])
        ae = GraphAutoencoder(len(space.op_vocab), pool.max_nodes, est.hidden_channels,
                              est.embedding_dim, est.num_layers, est.variational)
        ae.load_state_dict(state["autoencoder"])
        heads = Heads.from_state(state["heads"], est, pool, len(space.op_vocab),
                                 torch.device("cpu"))
        target = Target.from_state(state["target"])
    except (KeyError, RuntimeError, TypeError, AttributeError, ValueError, IndexError) as exc:
        raise ValueError(f"{path} is not a consistent saved gnnpred Assessor ({exc}).") from exc
    est._fitted_params = est.get_params(deep=False)
    est.space_, est.pool_, est.autoencoder_ = space, pool, ae.eval()
    est.heads_, est.target_ = heads, target
    est.unlabeled_key_ = state["unlabeled_key"]
    est.pretrain_metrics_ = dict(state["pretrain_metrics"])
    return est
