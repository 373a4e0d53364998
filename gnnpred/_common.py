"""Small shared helpers: argument checks, random state and device resolution."""

from __future__ import annotations

import numbers

import numpy as np
import torch

RandomState = int | np.random.Generator | None


def check_positive_int(name: str, value: object) -> int:
    """``value`` as an int, or ``ValueError`` naming ``name`` and the bad value.

    Any integral number (Python or NumPy) counts; ``bool`` does not, although it is one.
    """
    if not _int_at_least(value, 1):
        raise ValueError(f"{name} must be a positive int. Got {value!r} instead.")
    return int(value)


def check_int(name: str, value: object, minimum: int) -> int:
    """``value`` as an int ``>= minimum`` (NumPy ints too, not ``bool``), or ``ValueError``
    naming ``name`` and the bad value."""
    if not _int_at_least(value, minimum):
        raise ValueError(f"{name} must be an int >= {minimum}. Got {value!r} instead.")
    return int(value)


def _int_at_least(value: object, minimum: int) -> bool:
    return (not isinstance(value, bool) and isinstance(value, numbers.Integral)
            and value >= minimum)


def check_random_state(random_state: RandomState) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator`.

    Args:
        random_state: ``None`` (fresh entropy), an int seed, or an existing generator
            (returned as is, so callers can share a stream).

    Returns:
        A NumPy generator.

    Raises:
        TypeError: If ``random_state`` is of another type.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(
                f"random_state must be a non-negative int. Got {random_state} instead.")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        "random_state must be None, an int or a numpy.random.Generator. "
        f"Got {type(random_state).__name__} instead."
    )


def torch_generator(rng: np.random.Generator,
                    device: torch.device | str = "cpu") -> torch.Generator:
    """Derive a seeded :class:`torch.Generator` from a NumPy generator (no global state)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(0, 2**62)))
    return gen


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve a device specification.

    Args:
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``,
            or a :class:`torch.device`.

    Returns:
        The torch device.

    Raises:
        ValueError: If the string is not a device, names a device type other than CPU and
            CUDA (``"mps"``, ``"meta"``, ...), or asks for a CUDA device this machine lacks.
    """
    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'. Got {device!r} instead."
            ) from exc
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device {str(dev)!r} is not supported: gnnpred runs on 'cpu' or "
                         "'cuda' ('auto' picks CUDA when available).")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(dev)!r} was requested but CUDA is not available; "
                         "use 'auto' or 'cpu'.")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {str(dev)!r} was requested but this machine has "
                         f"{torch.cuda.device_count()} CUDA device(s).")
    return dev
