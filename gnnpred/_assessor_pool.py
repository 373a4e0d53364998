"""The unlabelled pool of :class:`gnnpred.Assessor`: drawing it, and the key that tells a
warm-started refit whether the pool (and the models built on it) can be reused."""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Callable, Sequence


def unlabeled_key(est, space, unlabeled) -> str:
    """Identify the pool request and every parameter that shapes the pretrained models."""
    if unlabeled is None or not isinstance(unlabeled, Sequence):
        spec = f"{unlabeled!r}/{est.max_unlabeled}/{est.random_state!r}"
    else:
        spec = hashlib.sha1("\n".join(map(str, (space.hash(a) for a in unlabeled))).encode()).hexdigest()
    shape = (est.hidden_channels, est.embedding_dim, est.num_layers, est.variational, est.pretrain_steps,
             est.canonicalize, est.gcn_layers, est.k, repr(est.extra_features))
    return f"{space.name}|{spec}|{shape}"


def draw_unlabeled(space, unlabeled, max_unlabeled: int, rng, cell: Callable) -> list:
    """The unlabelled cells: ``None`` -> the whole space when it has at most ``max_unlabeled``
    cells, else that many distinct samples; an int -> that many (the whole space if smaller); a
    sequence -> validated as is."""
    n = max_unlabeled if unlabeled is None else unlabeled
    if isinstance(n, numbers.Integral):
        try:
            size = len(space)
        except TypeError:
            size = None
        if size is not None and size <= n:
            return list(space.enumerate())
        return sample_distinct(space, int(n), rng, cell)
    return space.check_archs(n, "unlabeled")


def sample_distinct(space, n: int, rng, cell: Callable, max_rounds: int = 20) -> list:
    """Up to ``n`` cells with distinct ``hash(cell(a))``: samplers of spaces such as NB101 draw
    small cells again and again, which would waste the pool."""
    seen: dict = {}
    for _ in range(max_rounds):
        if len(seen) >= n:
            break
        for a in space.sample_many(max(n - len(seen), 64), rng):
            seen.setdefault(space.hash(cell(space, a)), a)
    return list(seen.values())[:n]
