"""Restricted unpickling of data files that hold only plain containers and NumPy arrays.

A plain :func:`pickle.load` calls whatever global the file names, so a tampered data file could
run code. :func:`load_arrays` resolves only NumPy's array and numeric-dtype reconstructors (as
NumPy 1.x and 2.x pickle them) and ``_codecs.encode`` (bytes at protocols 0-2) to small
stand-ins, plus whatever stand-ins the caller adds; dicts, lists, strings, bytes and numbers
need no global. Anything else raises ``ValueError`` naming the file. Python 2 pickles (the
CIFAR-10 and Planetoid files) are decoded as latin-1, as torchvision and PyTorch Geometric do.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any

import numpy as np

__all__ = ["load_arrays"]


def _dtype(name: Any, align: bool = False, copy: bool = False) -> np.dtype:
    dtype = np.dtype(str(name))
    if dtype.kind not in "biuf":  # no object arrays: their items would be unpickled too
        raise pickle.UnpicklingError(f"refusing non-numeric numpy dtype {name!r}")
    return dtype


def _reconstruct(cls: Any, shape: Any = (0,), typecode: Any = b"b") -> np.ndarray:
    # An empty plain array that the pickle's BUILD step fills (the dtype came via _dtype).
    if cls is not np.ndarray:
        raise pickle.UnpicklingError(f"refusing array subclass {cls!r}")
    return np.ndarray.__new__(np.ndarray, (0,), np.uint8)


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    # Protocol 5 arrays: NumPy pickles them as _frombuffer(buffer, dtype, shape, order).
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf":
        raise pickle.UnpicklingError(f"refusing numpy dtype {dtype!r}")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order).copy()


def _encode(text: Any, encoding: Any = "utf-8") -> bytes:
    # Python 3 writes bytes at protocols 0-2 as _codecs.encode(text, "latin1").
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("malformed bytes value")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("_codecs", "encode"): _encode,
    ("numpy", "dtype"): _dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
}


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, label: str, allowed: Mapping[tuple[str, str], Any]) -> None:
        # latin1: Python 2 pickles (CIFAR-10's) keep NumPy's raw bytes intact and give str keys.
        super().__init__(file, encoding="latin1")
        self._label = label
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        target = self._allowed.get((module, name))
        if target is None:
            raise ValueError(
                f"{self._label} is not a file this loader trusts: its pickle asks for "
                f"{module}.{name}, which is not on its allow-list "
                f"({', '.join(sorted('.'.join(k) for k in self._allowed))})."
            )
        return target


def load_arrays(path: str | PathLike, extra: Mapping[tuple[str, str], Any] | None = None) -> Any:
    """Unpickle ``path`` allowing nothing but containers, numbers, strings and NumPy arrays.

    Args:
        path: The pickle file.
        extra: More ``(module, name) -> stand-in`` globals to allow (e.g. a sparse matrix
            class mapped to a local stand-in).

    Returns:
        The unpickled object.

    Raises:
        ValueError: If the file is corrupt or its pickle names any other global.
    """
    with open(path, "rb") as fh:
        try:
            return _ArrayUnpickler(fh, str(path), {**_ALLOWED, **(extra or {})}).load()
        except ValueError:
            raise
        except Exception as exc:  # corrupt pickles raise many types (EOFError, KeyError ...)
            raise ValueError(
                f"{path} is corrupt: cannot unpickle it ({type(exc).__name__}: {exc})."
            ) from exc
