"""Parameter and input validation of :class:`gnnpred.Assessor` (scikit-learn style messages)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from gnnpred.spaces.base import SearchSpace, get_space

#: ``name -> (kind, low, high)``; kind in int/float/bool; bounds inclusive (None: unbounded).
PARAM_RULES: dict[str, tuple[str, float | None, float | None]] = {
    "embedding_dim": ("int", 1, None),
    "hidden_channels": ("int", 1, None),
    "num_layers": ("int", 1, None),
    "variational": ("bool", None, None),
    "pretrain_steps": ("int", 0, None),
    "batch_size": ("int", 1, None),
    "k": ("int", 1, None),
    "gcn_layers": ("int", 1, None),
    "gcn_epochs": ("int", 1, None),
    "regressor_steps": ("int", 1, None),
    "n_heads": ("int", 1, None),
    "gcn_weight": ("float", 0.0, 1.0),
    "rank_weight": ("float", 0.0, None),
    "self_training": ("int", 0, None),
    "pseudo_labels": ("int", 1, None),
    "pseudo_weight": ("float", 0.0, 1.0),
    "max_unlabeled": ("int", 1, None),
    "warm_start": ("bool", None, None),
    "warm_heads": ("bool", None, None),
    "canonicalize": ("bool", None, None),
    "verbose": ("bool", None, None),
}

_KIND_TEXT = {"int": "an int", "float": "a float", "bool": "a bool"}


def check_params(params: dict) -> None:
    """Raise ``TypeError``/``ValueError`` naming the first bad hyper-parameter."""
    for name, (kind, lo, hi) in PARAM_RULES.items():
        v = params[name]
        if kind == "bool":
            ok_type = isinstance(v, (bool, np.bool_))
        elif kind == "int":
            ok_type = isinstance(v, numbers.Integral) and not isinstance(v, bool)
        else:
            ok_type = isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v)
        rng = ""
        if lo is not None and hi is not None:
            rng = f" in [{lo}, {hi}]"
        elif lo is not None:
            rng = " >= 0" if lo == 0 else (" positive" if kind == "int" and lo == 1 else f" >= {lo}")
        text = _KIND_TEXT[kind]
        if rng == " positive":
            text, rng = f"a positive {kind}", ""
        if not ok_type or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise (TypeError if not ok_type and kind == "bool" else ValueError)(
                f"The {name!r} parameter of Assessor must be {text}{rng}. Got {v!r} instead."
            )
    if params["target_transform"] not in ("rank", "standard"):
        raise ValueError(
            "The 'target_transform' parameter of Assessor must be 'rank' or 'standard'. "
            f"Got {params['target_transform']!r} instead."
        )
    if params["regressor_init"] not in ("pretrained", "scratch"):
        raise ValueError(
            "The 'regressor_init' parameter of Assessor must be 'pretrained' or 'scratch'. "
            f"Got {params['regressor_init']!r} instead."
        )
    nt = params["num_threads"]
    if nt is not None and (isinstance(nt, bool) or not isinstance(nt, numbers.Integral) or nt < 1):
        raise ValueError(f"The 'num_threads' parameter of Assessor must be None or a positive int. Got {nt!r} instead.")
    ef = params["extra_features"]
    if ef is not None and not callable(ef):
        raise TypeError(
            "The 'extra_features' parameter of Assessor must be None or a callable mapping a list of "
            f"architectures to an [n, f] array. Got {type(ef).__name__} instead."
        )


def resolve_space(space) -> SearchSpace:
    """A space instance from a name or an instance."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, str):
        return get_space(space)
    raise TypeError(
        "The 'space' parameter of Assessor must be a space name such as 'nasbench201' or a "
        f"SearchSpace instance. Got {type(space).__name__} instead."
    )


def check_labels(y, n: int) -> np.ndarray:
    """Float labels ``[n]``; raise on wrong length, non-numeric or non-finite values."""
    try:
        arr = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"y must be a sequence of numbers. Got {type(y).__name__}.") from exc
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D. Got shape {arr.shape} instead.")
    if arr.shape[0] != n:
        raise ValueError(
            f"archs and y have different lengths: {n} architectures but {arr.shape[0]} labels."
        )
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(
            f"y contains {bad.size} non-finite value(s) (NaN or inf), the first at index {int(bad[0])} "
            f"({arr[bad[0]]}); drop those architectures or fix their labels."
        )
    return arr


def check_sample_weight(sample_weight, n: int) -> np.ndarray:
    """Per-label weights ``[n]`` (ones for ``None``); raise on bad shape or values."""
    if sample_weight is None:
        return np.ones(n)
    try:
        w = np.asarray(sample_weight, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"sample_weight must be a sequence of numbers. Got {type(sample_weight).__name__}.") from exc
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have one weight per architecture: shape ({n},). Got {w.shape}.")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        raise ValueError(f"sample_weight must be finite and >= 0; index {int(bad[0])} is {w[bad[0]]}.")
    if not w.sum() > 0:
        raise ValueError("sample_weight sums to 0: at least one label needs a positive weight.")
    return w


def check_extra(feats, n: int, what: str) -> np.ndarray:
    """Validate the output of ``extra_features``: finite ``[n, f]`` floats."""
    arr = np.asarray(feats, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(
            f"extra_features must return an array of shape [{n}, f] for {n} {what}. "
            f"Got shape {arr.shape} instead."
        )
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise ValueError(
            f"extra_features returned {len(bad)} non-finite value(s) (NaN or inf) for the {what}, "
            f"the first at row {i}, column {j}; make the feature function return finite numbers."
        )
    return arr


def check_unlabeled(unlabeled) -> None:
    """``None``, a non-negative int, or a sequence of architectures."""
    if unlabeled is None or isinstance(unlabeled, Sequence) and not isinstance(unlabeled, (str, bytes)):
        return
    if isinstance(unlabeled, numbers.Integral) and not isinstance(unlabeled, bool):
        if unlabeled < 0:
            raise ValueError(f"unlabeled must be None, an int >= 0 or a list of architectures. Got {unlabeled} instead.")
        return
    raise TypeError(
        "unlabeled must be None, an int >= 0 or a list of architectures. "
        f"Got {type(unlabeled).__name__} instead."
    )
