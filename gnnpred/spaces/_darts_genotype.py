"""Reading DARTS genotypes: the cell specs of ``DARTSSpace.make`` and the ``Genotype(...)`` string.

DARTS prints a genotype as the ``repr`` of a namedtuple, ``Genotype(normal=[('sep_conv_3x3', 0),
...], normal_concat=range(2, 6), reduce=[...], reduce_concat=range(2, 6))``. The string is read
with :func:`ast.parse` and :func:`ast.literal_eval` on the four fields (``range(a, b)`` is the one
call allowed), never with ``eval``, so a string from a file cannot run code.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Intermediate nodes per cell; they are concatenated into the cell output (DARTS's ``concat``).
NUM_NODES = 4
CONCAT: tuple[int, ...] = tuple(range(2, 2 + NUM_NODES))


def is_pair(p: Any) -> bool:
    """Whether ``p`` looks like an ``(op, input)`` pair (a 2-sequence starting with a str)."""
    return isinstance(p, Sequence) and not isinstance(p, str) and len(p) == 2 and isinstance(
        p[0], str)


def nested_spec(value: Any, which: str) -> Any:
    """A cell spec (flat DARTS list or nested per-node lists) as nested tuples of ``(op, int)``."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ValueError(
            f"{which} must be a list of (op, input) pairs or one list of pairs per node. "
            f"Got {value!r} instead."
        )
    if value and all(is_pair(p) for p in value):  # DARTS's flat form: two pairs per node
        if len(value) != 2 * NUM_NODES:
            raise ValueError(
                f"The flat {which} list needs {2 * NUM_NODES} (op, input) pairs, two per node. "
                f"Got {len(value)}; give one list per node for other edge counts."
            )
        value = [value[k : k + 2] for k in range(0, len(value), 2)]
    out = []
    for node in value:
        if isinstance(node, str | bytes) or not isinstance(node, Sequence):
            raise ValueError(f"{which}: node {node!r} is not a list of (op, input) pairs.")
        out.append(tuple(
            (str(p[0]) if isinstance(p[0], str) else p[0], int(p[1]))  # np.str_ -> str
            if is_pair(p) and isinstance(p[1], int | np.integer) and not isinstance(p[1], bool)
            else p
            for p in node
        ))
    return tuple(out)


_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


def parse_genotype(text: str) -> dict[str, Any]:
    """The four fields of a ``Genotype(...)`` string, read with :mod:`ast` literals only."""
    hint = ("expected Genotype(normal=[('op', input), ...], normal_concat=range(2, 6), "
            "reduce=[...], reduce_concat=range(2, 6))")
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValueError(f"Bad DARTS genotype string {text!r}: {hint}.") from None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == "Genotype" and len(call.args) <= len(_FIELDS)):
        raise ValueError(f"Bad DARTS genotype string {text!r}: {hint}.")
    given = dict(zip(_FIELDS, call.args, strict=False))
    for kw in call.keywords:
        if kw.arg not in _FIELDS or kw.arg in given:
            raise ValueError(f"Bad DARTS genotype string {text!r}: field {kw.arg!r}; {hint}.")
        given[kw.arg] = kw.value
    if set(given) != set(_FIELDS):
        missing = [f for f in _FIELDS if f not in given]
        raise ValueError(f"Bad DARTS genotype string {text!r}: missing {missing}; {hint}.")
    fields: dict[str, Any] = {}
    for name, node in given.items():
        try:
            if (name.endswith("concat") and isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name) and node.func.id == "range"
                    and not node.keywords):
                span = range(*(ast.literal_eval(a) for a in node.args))
                fields[name] = tuple(span) if len(span) <= 2 * NUM_NODES else span
            else:
                fields[name] = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, RecursionError, OverflowError):
            raise ValueError(
                f"Bad DARTS genotype string {text!r}: {name} is not a literal; {hint}."
            ) from None
    for name in ("normal_concat", "reduce_concat"):
        value = fields[name]
        if not isinstance(value, tuple | list) or tuple(value) != CONCAT:
            raise ValueError(
                f"Bad DARTS genotype string {text!r}: {name} must be range(2, 6) (every "
                f"intermediate node is concatenated). Got {value!r}."
            )
    return fields
