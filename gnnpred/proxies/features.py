"""Zero-cost proxy scores as cached per-cell features (for the Assessor and tabular baselines)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gnnpred.proxies.base import check_names, get_proxy
from gnnpred.proxies.compute import score


def signed_log1p(values: np.ndarray) -> np.ndarray:
    """``sign(v) * log(1 + |v|)``: monotone, 0 at 0, finite for finite input; NaN stays NaN."""
    return np.sign(values) * np.log1p(np.abs(values))


class ProxyFeatures:
    """A picklable callable ``features(archs) -> np.ndarray [n, len(names)]`` of proxy scores.

    Scores are computed with :func:`~gnnpred.proxies.score` on first use and cached in memory
    under ``str(space.hash(arch))``, so repeated calls (and isomorphic cells sharing a hash) are
    free. Heavy-tailed scores (those registered ``heavy_tailed``: synflow, params, flops, snip,
    grasp, fisher, grad_norm) are returned as ``sign(v) * log1p(|v|)``, which keeps zeros (e.g.
    synflow of a cell cut off by ``none`` edges) finite; jacob_cov and naswot are already on a
    log scale and are returned raw. NaN/inf scores are returned as they are (with a warning when
    computed), never replaced.

    Args:
        space: The search space of the cells.
        names: Proxy names, one feature column each.
        data: Minibatch for data-dependent proxies (see :func:`~gnnpred.proxies.score`).
        random_state: Seed of network initialisation (and of ``"digits"``/``"random"`` data).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        cache: Keep computed scores in memory.
        transform: ``"log"`` (as described above) or ``None`` for raw scores.
        network_kwargs: Passed to ``space.to_network`` (see :func:`~gnnpred.proxies.score`).
        batch_size: Minibatch rows for data-dependent proxies.
        n_jobs: Worker processes when scoring (see :func:`~gnnpred.proxies.score`).
        verbose: Progress bar while computing.

    Example:
        >>> feats = ProxyFeatures(get_space("nasbench201"), names=("synflow", "params"))
        >>> X = feats(archs)  # [len(archs), 2]
        >>> feats.save("nb201_proxies.npz")  # later: ProxyFeatures.load(path, space)
    """

    def __init__(
        self,
        space: Any,
        names: Sequence[str] = ("synflow", "params"),
        data: Any = None,
        random_state: int = 0,
        device: str = "auto",
        cache: bool = True,
        *,
        transform: str | None = "log",
        network_kwargs: dict[str, Any] | None = None,
        batch_size: int = 64,
        n_jobs: int = 1,
        verbose: bool = False,
    ) -> None:
        self.space = space
        self.names = check_names(names)
        if transform not in ("log", None):
            raise ValueError(f"transform must be 'log' or None. Got {transform!r} instead.")
        needs = [n for n in self.names if get_proxy(n).needs_data]
        if needs and data is None:
            raise ValueError(f"The proxies {needs} need data=; see gnnpred.proxies.score.")
        self.data, self.random_state, self.device = data, random_state, device
        self.cache, self.transform = cache, transform
        self.network_kwargs, self.batch_size, self.verbose = network_kwargs, batch_size, verbose
        self.n_jobs = n_jobs
        self._scores: dict[str, np.ndarray] = {}

    # ----------------------------------------------------------------------------- features
    def __call__(self, archs: Sequence[Any]) -> np.ndarray:
        """Feature matrix ``[len(archs), len(names)]`` (float64) of the cells."""
        return self.transform_scores(self.raw_scores(archs))

    def raw_scores(self, archs: Sequence[Any]) -> np.ndarray:
        """Untransformed scores ``[len(archs), len(names)]``, computing the missing cells."""
        archs = list(archs)
        keys = [str(self.space.hash(a)) for a in archs]
        missing: dict[str, Any] = {}
        for k, a in zip(keys, archs, strict=True):
            if k not in self._scores and k not in missing:
                missing[k] = a
        fresh: dict[str, np.ndarray] = {}
        if missing:
            res = score(
                self.space,
                list(missing.values()),
                self.names,
                data=self.data,
                batch_size=self.batch_size,
                device=self.device,
                random_state=self.random_state,
                network_kwargs=self.network_kwargs,
                n_jobs=self.n_jobs,
                verbose=self.verbose,
            )
            table = np.column_stack([res[n] for n in self.names])
            fresh = dict(zip(missing, table, strict=True))
            if self.cache:
                self._scores.update(fresh)
        out = np.empty((len(archs), len(self.names)), dtype=np.float64)
        for i, k in enumerate(keys):
            out[i] = self._scores[k] if k in self._scores else fresh[k]
        return out

    def transform_scores(self, raw: np.ndarray) -> np.ndarray:
        """Apply :attr:`transform` to a raw score matrix (columns in :attr:`names` order)."""
        out = np.array(raw, dtype=np.float64, copy=True)
        if self.transform == "log":
            for j, n in enumerate(self.names):
                if get_proxy(n).heavy_tailed:
                    out[:, j] = signed_log1p(out[:, j])
        return out

    def precompute(self, archs: Sequence[Any]) -> ProxyFeatures:
        """Score (and cache) ``archs`` now; returns ``self``."""
        self.raw_scores(archs)
        return self

    def __len__(self) -> int:
        return len(self._scores)

    def __repr__(self) -> str:  # deterministic: the Assessor uses it in cache keys
        return (f"ProxyFeatures(space={self.space.name!r}, names={self.names!r}, "
                f"random_state={self.random_state!r}, transform={self.transform!r}, "
                f"network_kwargs={self.network_kwargs!r}, data={self._data_label()!r})")

    def _data_label(self) -> str | None:
        return (
            self.data
            if self.data is None or isinstance(self.data, str)
            else type(self.data).__name__
        )

    # ----------------------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> None:
        """Write the cached raw scores to an ``.npz`` file (atomically).

        The file holds ``keys`` (``str(space.hash(arch))``), ``names``, ``scores`` ``[n, k]``,
        ``space`` and ``random_state``; :meth:`load` and :func:`load_scores` read it back.
        """
        save_scores(
            path,
            self.space.name,
            self.names,
            list(self._scores),
            np.array(list(self._scores.values())).reshape(len(self._scores), len(self.names)),
            self.random_state,
        )

    @classmethod
    def load(cls, path: str | os.PathLike, space: Any, **kwargs: Any) -> ProxyFeatures:
        """A :class:`ProxyFeatures` whose cache holds the scores saved at ``path``.

        Args:
            path: An ``.npz`` written by :meth:`save` or by ``benchmarks/proxies.py``.
            space: The search space (must be the one the file was written for).
            **kwargs: Other constructor arguments (``names`` defaults to the file's).

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If it is not a score file, or is for another space or random_state.
        """
        stored = load_scores(path)
        if stored["space"] != space.name:
            raise ValueError(
                f"{path} holds scores of the {stored['space']!r} space, not {space.name!r}."
            )
        kwargs.setdefault("names", stored["names"])
        kwargs.setdefault("random_state", stored["random_state"])
        if kwargs["random_state"] != stored["random_state"]:
            raise ValueError(f"{path} was computed with random_state={stored['random_state']}, "
                             f"not {kwargs['random_state']}.")
        feats = cls(space, **kwargs)
        missing = [n for n in feats.names if n not in stored["names"]]
        if missing:
            raise ValueError(f"{path} has no scores for {missing}; it holds {stored['names']}.")
        cols = [stored["names"].index(n) for n in feats.names]
        feats._scores = dict(zip(stored["keys"], stored["scores"][:, cols], strict=True))
        return feats


def save_scores(path: str | os.PathLike, space_name: str, names: Sequence[str], keys: Sequence[str],
                scores: np.ndarray, random_state: int) -> None:
    """Atomically write a proxy score file (see :meth:`ProxyFeatures.save`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, keys=np.array(list(keys), dtype=str), names=np.array(list(names), dtype=str),
                 scores=np.asarray(scores, dtype=np.float64), space=np.array(space_name),
                 random_state=np.array(int(random_state)))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_scores(path: str | os.PathLike) -> dict[str, Any]:
    """Read a proxy score file: ``{"keys", "names", "scores", "space", "random_state"}``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not a proxy score file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No proxy score file at {path}; write one with ProxyFeatures.save "
                                "or benchmarks/proxies.py --cache.")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {"keys": [str(k) for k in z["keys"]], "names": [str(n) for n in z["names"]],
                   "scores": np.asarray(z["scores"], dtype=np.float64), "space": str(z["space"]),
                   "random_state": int(z["random_state"])}
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(f"{path} is not a proxy score file ({exc}).") from exc
    if out["scores"].shape != (len(out["keys"]), len(out["names"])):
        raise ValueError(
            f"{path} is corrupt: scores {out['scores'].shape} for {len(out['keys'])} keys "
            f"and {len(out['names'])} names."
        )
    return out


