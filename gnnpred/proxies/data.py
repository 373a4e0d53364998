"""Offline minibatches for the data-dependent proxies (nothing is downloaded)."""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gnnpred._common import RandomState, check_random_state


def digits_batch(batch_size: int = 64, random_state: RandomState = 0, *, size: int = 32,
                 channels: int = 3) -> tuple[Tensor, Tensor]:
    """A minibatch of scikit-learn's bundled handwritten digits (8x8, 10 classes), resized.

    A stand-in for CIFAR-10 when no image set is available offline: images are upsampled
    bilinearly to ``size`` x ``size``, repeated over ``channels`` and standardised.

    Args:
        batch_size: Number of images (at most 1797).
        random_state: Seed or generator choosing the images.
        size: Output height and width.
        channels: Output channels.

    Returns:
        ``(images [batch_size, channels, size, size] float32, labels [batch_size] int64)``.

    Raises:
        ValueError: If ``batch_size`` is not in 1..1797.
    """
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    if not isinstance(batch_size, int) or not 1 <= batch_size <= len(x):
        raise ValueError(f"batch_size must be an int in 1..{len(x)}. Got {batch_size!r} instead.")
    idx = check_random_state(random_state).choice(len(x), size=batch_size, replace=False)
    img = torch.as_tensor(x[idx], dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    img = F.interpolate(img, size=(size, size), mode="bilinear", align_corners=False)
    img = (img - img.mean()) / img.std().clamp_min(1e-8)
    return img.repeat(1, channels, 1, 1), torch.as_tensor(y[idx], dtype=torch.long)


def random_batch(shape: tuple[int, ...], num_classes: int, batch_size: int = 64,
                 random_state: RandomState = 0) -> tuple[Tensor, Tensor]:
    """Standard-normal inputs ``[batch_size, *shape]`` and uniform random labels."""
    rng = check_random_state(random_state)
    x = torch.as_tensor(rng.standard_normal((batch_size, *shape)), dtype=torch.float32)
    y = torch.as_tensor(rng.integers(0, num_classes, size=batch_size), dtype=torch.long)
    return x, y


def first_batch(data: object, batch_size: int) -> tuple[tuple[Tensor, ...], Tensor | None]:
    """``(inputs, targets)`` from user data: an ``(inputs, targets)`` pair of tensors (or an
    ``(inputs_tuple, targets)`` pair for multi-input networks) or an iterable of such batches
    (e.g. a ``DataLoader``; its first batch is used). Single-tensor inputs are cut to
    ``batch_size`` rows."""
    labels = (Tensor, np.ndarray, type(None))
    if (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and (isinstance(data[1], labels) or (isinstance(data[1], (list, tuple)) and data[1]
                                             and all(isinstance(v, numbers.Integral)
                                                     for v in data[1])))
    ):  # (inputs, targets), targets as a tensor, an array or a list of class indices
        x, y = data
    else:
        try:
            x, y = next(iter(data))  # type: ignore[call-overload]
        except (TypeError, StopIteration, ValueError) as exc:
            raise TypeError(
                "data must be an (inputs, targets) pair of tensors or an iterable of such batches "
                f"(e.g. a DataLoader). Got {type(data).__name__}."
            ) from exc
    inputs = tuple(x) if isinstance(x, (tuple, list)) else (x,)
    inputs = tuple(torch.as_tensor(t) for t in inputs)
    if len(inputs) == 1:
        inputs = (inputs[0][:batch_size],)
        y = None if y is None else torch.as_tensor(y)[:batch_size]
    return inputs, (None if y is None else torch.as_tensor(y))
