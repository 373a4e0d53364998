"""The assessor's pool: the labelled and unlabelled cells its models see, with their graphs,
embeddings, extra features and the kNN similarity graph over them."""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Callable, Sequence

import numpy as np
import torch

from gnnpred.assessor import training as T
from gnnpred.assessor.params import check_extra
from gnnpred.models.autoencoder import GraphAutoencoder
from gnnpred.models.dense import DenseGraphs
from gnnpred.similarity import knn, knn_extend

__all__ = ["Pool", "draw_unlabeled", "unlabeled_key"]

ExtraFn = Callable[[list], np.ndarray] | None


def _standardise(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and scale of ``a``; constant columns get unit scale."""
    std = a.std(0)
    return a.mean(0), np.where(std > 1e-12, std, 1.0)


def _extra_of(fn: ExtraFn, cells: list, what: str) -> np.ndarray:
    """Raw extra features ``[len(cells), f]`` (``f = 0`` without a feature function)."""
    if fn is None:
        return np.zeros((len(cells), 0))
    return check_extra(fn(list(cells)), len(cells), what)


class Pool:
    """Distinct (canonical) cells with everything the heads read about them.

    Rows are appended, never reordered, so row ``i`` keeps its embedding, features and
    neighbours when cells join (warm-started refits). The standardisation of the features is
    fixed by :meth:`embed` and reused by :meth:`extend`, so old rows stay valid.

    Attributes:
        cells: The cells, one per row.
        index: ``space.hash(cell) -> row``.
        graphs: Padded dense graphs of the cells.
        max_nodes: Node count the graphs are padded to.
        embedding: Autoencoder embeddings ``[n, d]`` (float32).
        extra: Raw extra features ``[n, f]`` (float64; ``f = 0`` without ``extra_features``).
        scale: ``(emb_mean, emb_std, extra_mean, extra_std)`` of the standardisation.
        neighbours: kNN table ``[n, k]`` over the standardised embeddings, or None.
        distances: Its distances ``[n, k]``, or None.
    """

    def __init__(self, space, cells: Sequence, max_nodes: int | None = None) -> None:
        self.cells: list = []
        self.index: dict = {}
        self._add(space, cells)
        if max_nodes is None:  # the space's bound, so that any of its cells can be scored
            max_nodes = space.max_nodes or T.max_nodes_of(space, self.cells)
        self.max_nodes = max_nodes
        self.graphs = T.dense_graphs(space, self.cells, self.max_nodes)
        self.embedding = torch.empty(0)
        self.extra = np.zeros((len(self.cells), 0))
        self.scale: tuple[np.ndarray, ...] = ()
        self.neighbours: torch.Tensor | None = None
        self.distances: torch.Tensor | None = None

    def _add(self, space, cells: Sequence) -> list:
        """Append the cells not in the pool yet; return them."""
        new: dict = {}
        for c in cells:
            h = space.hash(c)
            if h not in self.index:
                new.setdefault(h, c)
        for h, c in new.items():
            self.index[h] = len(self.cells)
            self.cells.append(c)
        return list(new.values())

    def __len__(self) -> int:
        return len(self.cells)

    def embed(self, autoencoder: GraphAutoencoder, extra_features: ExtraFn,
              device: torch.device) -> None:
        """Embed every row, compute its extra features, and fix the standardisation."""
        extra = _extra_of(extra_features, self.cells, "pool architectures")
        self.embedding = T.embed(autoencoder, self.graphs, device)
        self.extra = extra
        emb = self.embedding.numpy().astype(np.float64)
        self.scale = (*_standardise(emb), *_standardise(extra))

    def extend(self, space, cells: Sequence, autoencoder: GraphAutoencoder,
               extra_features: ExtraFn, device: torch.device) -> int:
        """Append the cells not in the pool (embedded with ``autoencoder``); return how many.

        The kNN table is left as is: :meth:`knn_graph` extends it to the new rows.
        """
        new = list({space.hash(c): c for c in cells if space.hash(c) not in self.index}.values())
        if not new:
            return 0
        graphs = T.dense_graphs(space, new, self.max_nodes)
        emb = T.embed(autoencoder, graphs, device)
        extra = _extra_of(extra_features, new, "pool architectures")
        self._add(space, new)  # every step that can fail is done: the rows stay consistent
        self.graphs = DenseGraphs.cat([self.graphs, graphs])
        self.embedding = torch.cat([self.embedding, emb])
        self.extra = np.concatenate([self.extra, extra])
        return len(new)

    def standardise(self, emb: np.ndarray, extra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings and extra features of any cells in the pool's standard units."""
        return self.standardise_embedding(emb), self.standardise_extra(extra)

    def standardise_embedding(self, emb: np.ndarray) -> np.ndarray:
        """Embeddings ``[n, d]`` of any cells in the pool's standard units."""
        emb_mean, emb_std, _, _ = self.scale
        return (emb - emb_mean) / emb_std

    def standardise_extra(self, extra: np.ndarray) -> np.ndarray:
        """Extra features ``[n, f]`` of any cells in the pool's standard units."""
        _, _, extra_mean, extra_std = self.scale
        return (extra - extra_mean) / extra_std

    def features(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised ``(node features [n, d + f], extra features [n, f])`` (float32)."""
        emb_z, ext_z = self.standardise(self.embedding.numpy().astype(np.float64), self.extra)
        feats = torch.as_tensor(np.concatenate([emb_z, ext_z], 1), dtype=torch.float32)
        return feats, torch.as_tensor(ext_z, dtype=torch.float32)

    def points(self) -> torch.Tensor:
        """The standardised embeddings the kNN graph is built on ``[n, d]`` (float32)."""
        return self.features()[0][:, : self.embedding.shape[1]]

    def knn_graph(self, k: int, device: torch.device) -> torch.Tensor:
        """The ``[n, k]`` neighbour table, extended to rows added since it was built.

        The table is kept when it covers every row, extended with
        :func:`~gnnpred.similarity.knn_extend` when rows were appended, and rebuilt when ``k``
        changed. Row counts decide, so a refit that failed half-way is repaired by the next.
        """
        nbr, dist = self.neighbours, self.distances
        if nbr is not None and tuple(nbr.shape) == (len(self), k):
            return nbr
        points = self.points()
        if nbr is not None and dist is not None and nbr.shape[1] == k and len(nbr) < len(self):
            self.neighbours, self.distances = knn_extend(nbr, dist, points, device=device)
        else:
            self.neighbours, self.distances = knn(points, points, k, exclude_self=True,
                                                  device=device)
        return self.neighbours

    def state_dict(self, space) -> dict:
        """Plain types and tensors only: cells as strings, arrays as tensors."""
        return {
            "cells": [space.to_string(c) for c in self.cells],
            "max_nodes": int(self.max_nodes),
            "embedding": self.embedding,
            "extra": torch.from_numpy(np.ascontiguousarray(self.extra)),
            "scale": [torch.from_numpy(np.ascontiguousarray(a)) for a in self.scale],
            "neighbours": self.neighbours,
            "distances": self.distances,
        }

    @classmethod
    def from_state(cls, space, state: dict) -> Pool:
        """Rebuild a pool written by :meth:`state_dict`.

        Raises:
            ValueError: If the state's parts disagree in shape or type, or its neighbour table
                points outside the pool (a damaged or crafted file; such a table would make
                the sparse similarity graph read out of bounds).
        """
        cells = [space.from_string(s) for s in state["cells"]]
        pool = cls(space, cells, int(state["max_nodes"]))
        n = len(cells)
        if len(pool) != n:
            raise ValueError(f"the pool lists {n - len(pool)} cell(s) twice")
        emb, extra, scale = state["embedding"], state["extra"], state["scale"]
        _check_tensor("embedding", emb, (n, None), floating=True)
        _check_tensor("extra", extra, (n, None), floating=True)
        if not isinstance(scale, (list, tuple)) or len(scale) != 4:
            raise ValueError("the pool's scale must hold 4 arrays")
        for name, a, width in zip(("emb_mean", "emb_std", "extra_mean", "extra_std"), scale,
                                  (emb.shape[1], emb.shape[1], extra.shape[1], extra.shape[1]),
                                  strict=True):
            _check_tensor(name, a, (width,), floating=True)
        nbr, dist = state["neighbours"], state["distances"]
        if (nbr is None) != (dist is None):
            raise ValueError("the pool has neighbours without distances, or the reverse")
        if nbr is not None:
            _check_tensor("neighbours", nbr, (n, None), floating=False)
            _check_tensor("distances", dist, tuple(nbr.shape), floating=True)
            if nbr.numel() and (int(nbr.min()) < 0 or int(nbr.max()) >= n):
                raise ValueError(f"the pool's neighbour table points outside its {n} rows")
        pool.embedding = emb
        pool.extra = extra.numpy()
        pool.scale = tuple(a.numpy() for a in scale)
        pool.neighbours, pool.distances = nbr, dist
        return pool


def _check_tensor(name: str, t, shape: tuple, *, floating: bool) -> None:
    """Raise ValueError unless ``t`` is a tensor of ``shape`` (None: any size) and kind."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"the pool's {name} must be a tensor, found {type(t).__name__}")
    if t.dim() != len(shape) or any(s is not None and s != got
                                    for s, got in zip(shape, t.shape, strict=True)):
        raise ValueError(f"the pool's {name} has shape {tuple(t.shape)}, expected "
                         f"{tuple('any' if s is None else s for s in shape)}")
    if t.is_floating_point() != floating or (not floating and t.dtype != torch.int64):
        raise ValueError(f"the pool's {name} has dtype {t.dtype}")


def unlabeled_key(est, space, unlabeled) -> str:
    """Identify the pool request and every parameter that shapes the pretrained models."""
    if unlabeled is None or not isinstance(unlabeled, Sequence):
        spec = f"{unlabeled!r}/{est.max_unlabeled}/{est.random_state!r}"
    else:
        spec = _sequence_spec(est, space, unlabeled)
    shape = (est.hidden_channels, est.embedding_dim, est.num_layers, est.variational,
             est.pretrain_steps, est.canonicalize, est.gcn_layers, est.k,
             repr(est.extra_features))
    return f"{space.name}|{spec}|{shape}"


def _sequence_spec(est, space, unlabeled: Sequence) -> str:
    """Digest of the hashes of an unlabelled list.

    A search refits with the same cells each round: when ``unlabeled`` holds the very cell
    objects of the last call, in the same order, for a space of the same class and settings
    (cells are immutable), the digest is reused instead of hashing every cell again.
    """
    memo = est.__dict__.get("_unlabeled_memo")
    if (memo is not None and _same_space(memo[0], space) and len(memo[1]) == len(unlabeled)
            and all(a is b for a, b in zip(memo[1], unlabeled, strict=True))):
        return memo[2]
    text = "\n".join(map(str, (space.hash(a) for a in unlabeled)))
    spec = hashlib.sha1(text.encode()).hexdigest()
    est.__dict__["_unlabeled_memo"] = (space, list(unlabeled), spec)
    return spec


def _same_space(a, b) -> bool:
    """Whether two spaces hash alike: the same object, or the same class with equal public
    attributes (``get_space`` builds a new instance at every fit)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    def settings(space) -> dict:
        return {k: v for k, v in vars(space).items() if not k.startswith("_")}

    try:
        return bool(settings(a) == settings(b))
    except (TypeError, ValueError):  # attributes that do not compare (arrays): assume not
        return False


def draw_unlabeled(space, unlabeled, max_unlabeled: int, rng: np.random.Generator,
                   cell: Callable) -> list:
    """The unlabelled cells.

    ``None`` gives the whole space when it has at most ``max_unlabeled`` cells, else that many
    distinct samples; an int gives that many (the whole space if smaller); a sequence is
    validated as is.
    """
    n = max_unlabeled if unlabeled is None else unlabeled
    if isinstance(n, numbers.Integral):
        try:
            size = len(space)
        except TypeError:
            size = None
        if size is not None and size <= n:
            return list(space.enumerate())
        return _sample_distinct(space, int(n), rng, cell)
    return space.check_archs(n, "unlabeled")


def _sample_distinct(space, n: int, rng: np.random.Generator, cell: Callable,
                     max_rounds: int = 20) -> list:
    """Up to ``n`` cells with distinct ``hash(cell(a))``: samplers of spaces such as NB101 draw
    small cells again and again, which would waste the pool."""
    seen: dict = {}
    for _ in range(max_rounds):
        if len(seen) >= n:
            break
        for a in space.sample_many(max(n - len(seen), 64), rng):
            seen.setdefault(space.hash(cell(space, a)), a)
    return list(seen.values())[:n]
