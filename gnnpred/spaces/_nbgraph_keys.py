"""NAS-Bench-Graph's keys: which cells compute the same function, and the key of each class.

The benchmark stores one entry per class of equivalent cells, under an integer whose digits
are a link-pattern index and four op indices. :func:`signature` tells equivalent cells apart
and :func:`build_table` reproduces the benchmark's choice of representative and key, so that a
cell given in any equivalent form finds its entry. :mod:`gnnpred.spaces.nasbench_graph` wraps
these tables in the search-space API.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

#: The nine operations, in the benchmark's order (key digits are indices into this tuple).
FULL_OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
#: The five operations evaluated on ogbn-proteins.
PROTEINS_OPS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
#: The nine link patterns of canonical cells (the leading digit of a key indexes this tuple).
LINKS: tuple[tuple[int, ...], ...] = (
    (0, 0, 0, 0),
    (0, 0, 0, 1),
    (0, 0, 1, 1),
    (0, 0, 1, 2),
    (0, 0, 1, 3),
    (0, 1, 1, 1),
    (0, 1, 1, 2),
    (0, 1, 2, 2),
    (0, 1, 2, 3),
)
OP_SETS = {"full": FULL_OPS, "proteins": PROTEINS_OPS}
N_NODES = 4
_BASE = len(FULL_OPS) + 1  # keys are base-10 numbers even for the proteins op set
OP_INDEX = {op: i for i, op in enumerate(FULL_OPS)}
SKIP = OP_INDEX["skip"]
#: The 24 valid links (node ``i`` reads one of ``0..i``).
LINK_SET = frozenset(itertools.product(*[range(i + 1) for i in range(N_NODES)]))


def signature(link: Sequence[int], ops: Sequence[str]) -> tuple:
    """What a cell computes, as a nested tuple equal for exactly the equivalent cells.

    Skip nodes are contracted (a node reading a skip reads the skip's source); what remains
    is a tree of real op nodes rooted at the input. Each real node carries how many leaves of
    the original cell resolve to it (its weight in the output sum); leaves resolving to the
    raw input carry nothing (the benchmark drops them). Children are sorted, so node order
    does not matter. Returns ``(op code, weight, children)`` tuples of the input's children.
    """
    codes = tuple(OP_INDEX[o] for o in ops)
    return _signature(codes, *_structure(tuple(link), tuple(c == SKIP for c in codes)))


def _signature(
    codes: Sequence[int], weight: Sequence[int], children: Sequence[Sequence[int]]
) -> tuple:
    sub: list[tuple] = [()] * (N_NODES + 1)
    for node in range(N_NODES, 0, -1):  # a real node's children have larger indices
        if codes[node - 1] != SKIP:
            kids = children[node]
            sub[node] = (
                codes[node - 1],
                weight[node],
                tuple(sorted([sub[c] for c in kids])) if kids else (),
            )
    return tuple(sorted([sub[c] for c in children[0]]))


@functools.cache
def _structure(
    link: tuple[int, ...], skip: tuple[bool, ...]
) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Leaf weights and real-node children of a link pattern with skips at ``skip`` (cached)."""

    def resolve(node: int) -> int:  # nearest non-skip ancestor-or-self (0 = input)
        while node > 0 and skip[node - 1]:
            node = link[node - 1]
        return node

    read = set(link)
    weight = [0] * (N_NODES + 1)
    children: list[list[int]] = [[] for _ in range(N_NODES + 1)]
    for node in range(1, N_NODES + 1):
        if node not in read:
            weight[resolve(node)] += 1
        if not skip[node - 1]:
            children[resolve(link[node - 1])].append(node)
    return tuple(weight), tuple(tuple(c) for c in children)


@functools.cache
def _is_normal_form(link: tuple[int, ...], skip: tuple[bool, ...]) -> bool:
    """The benchmark's layout of a class representative.

    Redundant skips are parked as a leading chain ``0 <- skip <- skip ...`` whose end stands
    in for the input; every other skip is a leaf whose (real-op) parent has another child.
    """
    p = 0
    while p < N_NODES and skip[p] and link[p] == p:
        p += 1
    readers = [link.count(j) for j in range(N_NODES + 1)]
    for i in range(p, N_NODES):
        if link[i] < p:
            return False
        if skip[i] and (readers[i + 1] or link[i] == p or readers[link[i]] < 2):
            return False
    return True


def _key(link_index: int, codes: Sequence[int]) -> int:
    key = link_index
    for c in codes:
        key = key * _BASE + c
    return key


def build_table() -> tuple[dict[tuple, int], dict[int, tuple[tuple[int, ...], tuple[str, ...]]]]:
    """``signature -> key`` and ``key -> (link, ops)`` of the representative of every class.

    The benchmark's key of a class is the smallest :func:`_key` among its members that use one
    of :data:`LINKS` and are in :func:`_is_normal_form`. Building both takes under a second.
    """
    by_sig: dict[tuple, int] = {}
    for li, link in enumerate(LINKS):
        for skip in itertools.product((False, True), repeat=N_NODES):
            if all(skip) or not _is_normal_form(link, skip):
                continue
            weight, children = _structure(link, skip)
            # op choices per position: the real ops where skip is False, else skip only
            choices = [(SKIP,) if s else range(SKIP) for s in skip]
            for codes in itertools.product(*choices):
                sig = _signature(codes, weight, children)
                if sig not in by_sig or _key(li, codes) < by_sig[sig]:
                    by_sig[sig] = _key(li, codes)
    return by_sig, {key: decode(key) for key in sorted(by_sig.values())}


def decode(key: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """``(link, ops)`` of the cell whose :func:`_key` is ``key``."""
    digits = []
    for _ in range(N_NODES):
        key, d = divmod(key, _BASE)
        digits.append(d)
    return LINKS[key], tuple(FULL_OPS[d] for d in reversed(digits))
