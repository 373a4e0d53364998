"""What the image data modules share: the seeded split, tensor datasets and their loaders.

The split is drawn from the data module's own ``seed`` (every candidate of a search sees the same
split); shuffling and augmentation draw from torch's default generator, which
:func:`gnnpred.training.train_network` seeds, and restores, around each run.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import lightning as L
import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from gnnpred._common import check_positive_int

__all__ = ["ImageDataModule", "stratified_split"]


def _fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a float in (0, 1). Got {value!r} instead.")
    return float(value)


def stratified_split(
    labels: np.ndarray, fractions: Sequence[float], seed: int
) -> list[np.ndarray]:
    """Split sample indices into parts with the class proportions of ``labels``.

    Args:
        labels: Class of each sample, ``[n]``.
        fractions: Share of each part after the first (the first part takes the rest), e.g.
            ``(valid_fraction, test_fraction)``.
        seed: Seed of the split.

    Returns:
        One sorted index array per part (``1 + len(fractions)`` parts, disjoint, covering all).

    Raises:
        ValueError: If the fractions leave no room for the first part, or a part would be too
            small to hold every class.
    """
    if sum(fractions) >= 1:
        raise ValueError(f"The split fractions must sum to less than 1. Got {list(fractions)}.")
    rest = np.arange(len(labels))
    parts: list[np.ndarray] = []
    remaining = 1.0
    for frac in fractions:
        try:
            rest, part = train_test_split(
                rest, test_size=frac / remaining, stratify=labels[rest], random_state=seed
            )
        except ValueError as exc:
            raise ValueError(
                f"Cannot split {len(labels)} samples with fractions {list(fractions)}: {exc}"
            ) from exc
        parts.append(np.sort(part))
        remaining -= frac
    return [np.sort(rest), *parts]


class ImageDataModule(L.LightningDataModule):
    """Base of the image data modules: ``train`` / ``valid`` / ``test`` tensor datasets.

    Subclasses fill :attr:`datasets` in :meth:`setup` with ``(images, labels)`` tensor datasets
    and may transform each batch on the device in :meth:`on_after_batch_transfer`.

    Args:
        batch_size: Samples per batch (NAS-Bench-201 used 256).
        seed: Seed of the train / valid / test split.
        num_workers: Loader worker processes (0 loads in the training process).

    Attributes:
        num_classes: Number of classes (set by the subclass).
        in_channels: Channels of the images the loaders yield.
        image_size: Height and width of those images.
    """

    num_classes: int
    in_channels: int
    image_size: int

    def __init__(self, *, batch_size: int = 256, seed: int = 0, num_workers: int = 0) -> None:
        super().__init__()
        self.batch_size = check_positive_int("batch_size", batch_size)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be a non-negative int. Got {seed!r} instead.")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers must be a non-negative int. Got {num_workers!r}.")
        self.seed, self.num_workers = int(seed), num_workers
        #: ``"train"``, ``"valid"``, ``"test"`` -> dataset, filled by :meth:`setup`.
        self.datasets: dict[str, TensorDataset] = {}

    def network_kwargs(self) -> dict[str, int]:
        """``num_classes`` and ``in_channels`` for ``space.to_network(cell, **kwargs)``."""
        return {"num_classes": self.num_classes, "in_channels": self.in_channels}

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if split not in self.datasets:
            self.setup("fit")
        return DataLoader(
            self.datasets[split], batch_size=self.batch_size, shuffle=shuffle,
            num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled training batches ``(images [B, C, H, W], labels [B])``."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """Validation batches, in order."""
        return self._loader("valid", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """Test batches, in order."""
        return self._loader("test", shuffle=False)


def standardise(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """``(images - mean) / std`` per channel of ``[B, C, H, W]`` float images."""
    m = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    s = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    return (images - m) / s
