"""Training targets of the assessor's heads and the map from head outputs back to label units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import norm, rankdata

__all__ = ["Target"]


@dataclass
class Target:
    """A fitted label transform.

    ``"rank"`` trains on the normal scores of the label ranks, which is robust to the long
    low-accuracy tail of NAS benchmarks; predictions are mapped back to label units by a
    monotone interpolation through ``knots`` (linear extrapolation past the ends).
    ``"standard"`` trains on z-scores.

    Attributes:
        kind: ``"rank"`` or ``"standard"``.
        mean: Mean of the labels.
        std: Standard deviation of the labels (1 for constant labels).
        knots: ``[2, m]`` array (targets, mean label of each target) for ``"rank"``, else None.
    """

    kind: str
    mean: float
    std: float
    knots: np.ndarray | None = None

    @classmethod
    def fit(cls, y: np.ndarray, kind: str) -> tuple[Target, np.ndarray]:
        """Fit the transform on labels ``y``; return it and the training targets of ``y``."""
        mean = float(y.mean())
        std = float(y.std()) if y.std() > 1e-12 else 1.0
        if kind == "standard":
            return cls(kind, mean, std), (y - y.mean()) / (y.std() if y.std() > 1e-12 else 1.0)
        z = norm.ppf((rankdata(y) - 0.5) / y.size)
        kz, inv = np.unique(z, return_inverse=True)
        ky = np.bincount(inv, weights=y) / np.bincount(inv)
        return cls(kind, mean, std, np.stack([kz, ky])), z

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Map head outputs ``z`` back to label units, monotonically."""
        if self.kind == "standard" or self.knots is None:
            return z * self.std + self.mean
        kz, ky = self.knots
        if kz.size < 2:
            return np.full_like(z, ky[0], dtype=float)
        out = np.interp(z, kz, ky)
        lo, hi = z < kz[0], z > kz[-1]
        out[lo] = ky[0] + (z[lo] - kz[0]) * (ky[1] - ky[0]) / (kz[1] - kz[0])
        out[hi] = ky[-1] + (z[hi] - kz[-1]) * (ky[-1] - ky[-2]) / (kz[-1] - kz[-2])
        return out

    def state_dict(self) -> dict:
        """Plain types and tensors only (see :mod:`gnnpred.assessor.io`)."""
        knots = None if self.knots is None else torch.from_numpy(np.ascontiguousarray(self.knots))
        return {"kind": self.kind, "mean": self.mean, "std": self.std, "knots": knots}

    @classmethod
    def from_state(cls, state: dict) -> Target:
        """Rebuild a transform written by :meth:`state_dict`."""
        knots = None if state["knots"] is None else state["knots"].numpy()
        return cls(state["kind"], float(state["mean"]), float(state["std"]), knots)
