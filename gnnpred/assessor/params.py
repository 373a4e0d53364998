"""Hyper-parameter constraints of :class:`gnnpred.Assessor` and validation of its inputs
(scikit-learn style messages that repeat the bad value)."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from gnnpred.spaces.base import SearchSpace, get_space

_POSITIVE = [Interval(Integral, 1, None, closed="left")]

#: ``name -> allowed values``, checked by ``sklearn.utils._param_validation``.
PARAMETER_CONSTRAINTS: dict[str, list] = {
    "space": [str, SearchSpace],
    "embedding_dim": _POSITIVE,
    "hidden_channels": _POSITIVE,
    "num_layers": _POSITIVE,
    "variational": ["boolean"],
    "pretrain_steps": [Interval(Integral, 0, None, closed="left")],
    "batch_size": _POSITIVE,
    "k": _POSITIVE,
    "gcn_layers": _POSITIVE,
    "gcn_epochs": _POSITIVE,
    "regressor_steps": _POSITIVE,
    "n_heads": _POSITIVE,
    "gcn_weight": [Interval(Real, 0, 1, closed="both")],
    "rank_weight": [Interval(Real, 0, None, closed="left")],
    "self_training": [Interval(Integral, 0, None, closed="left")],
    "pseudo_labels": _POSITIVE,
    "pseudo_weight": [Interval(Real, 0, 1, closed="both")],
    "max_unlabeled": _POSITIVE,
    "extra_features": [callable, None],
    "warm_start": ["boolean"],
    "warm_heads": ["boolean"],
    "target_transform": [StrOptions({"rank", "standard"})],
    "canonicalize": ["boolean"],
    "num_threads": [Interval(Integral, 1, None, closed="left"), None],
    "random_state": [Interval(Integral, 0, None, closed="left"), np.random.Generator, None],
    "device": [str, torch.device],
    "verbose": ["boolean"],
}


def resolve_space(space: str | SearchSpace) -> SearchSpace:
    """A space instance from a name or an instance."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, str):
        return get_space(space)
    raise TypeError(
        "The 'space' parameter of Assessor must be a space name such as 'nasbench201' or a "
        f"SearchSpace instance. Got {type(space).__name__} instead."
    )


def to_cells(space: SearchSpace, archs, what: str) -> list:
    """Validated cells of ``space`` as a list; string items are parsed with ``space.from_string``.

    Any iterable is taken (a list, a NumPy array or pandas Series of strings, a generator), so
    that scikit-learn's cross-validation, which indexes arrays, works on string inputs.
    """
    if isinstance(archs, Iterable) and not isinstance(archs, (str, bytes)):
        archs = [space.from_string(str(a)) if isinstance(a, str) else a for a in archs]
    return space.check_archs(archs, what)


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
            f"y contains {bad.size} non-finite value(s) (NaN or inf), the first at index "
            f"{int(bad[0])} "
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
        raise TypeError("sample_weight must be a sequence of numbers. "
                        f"Got {type(sample_weight).__name__}.") from exc
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have one weight per architecture: shape ({n},). "
                         f"Got {w.shape}.")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        raise ValueError(
            f"sample_weight must be finite and >= 0; index {int(bad[0])} is {w[bad[0]]}.")
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
    """``None``, a non-negative int, or an iterable of architectures (or their strings)."""
    if unlabeled is None or (isinstance(unlabeled, Iterable)
                             and not isinstance(unlabeled, (str, bytes))):
        return
    if isinstance(unlabeled, numbers.Integral) and not isinstance(unlabeled, bool):
        if unlabeled < 0:
            raise ValueError("unlabeled must be None, an int >= 0 or a list of architectures. "
                             f"Got {unlabeled} instead.")
        return
    raise TypeError(
        "unlabeled must be None, an int >= 0 or a list of architectures. "
        f"Got {type(unlabeled).__name__} instead."
    )
