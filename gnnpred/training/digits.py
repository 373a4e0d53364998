"""Handwritten digits from scikit-learn, shaped for the NAS-Bench image networks (no download).

scikit-learn ships the UCI "Optical Recognition of Handwritten Digits" test set: 1,797 real 8x8
grey images of the digits 0-9 with 17 grey levels (:func:`sklearn.datasets.load_digits`). It is
small enough to train a NAS-Bench-201 network for a few epochs in seconds on a CPU, which makes
it the default data of training evaluations and of the tests. The images are scaled to
``[0, 1]``, standardised with the training split's mean and standard deviation, upsampled
bilinearly to ``image_size`` (32, the CIFAR size of NAS-Bench-101 and -201) and repeated over
``in_channels`` (3, as those networks' stems expect).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch.utils.data import TensorDataset

from gnnpred._common import check_positive_int
from gnnpred.training.data import ImageDataModule, _fraction, stratified_split

__all__ = ["DigitsDataModule"]


class DigitsDataModule(ImageDataModule):
    """scikit-learn's 1,797 digits, split train / valid / test by class and by ``seed``.

    Args:
        batch_size: Samples per batch.
        seed: Seed of the stratified split.
        valid_fraction: Share of the images in the validation split.
        test_fraction: Share of the images in the test split (the rest trains).
        image_size: Side of the square images the loaders yield (the 8x8 digits are upsampled).
        in_channels: Channels the loaders yield (the grey image repeated).
        num_workers: Loader worker processes.

    Attributes:
        num_classes: 10.
        indices: ``"train"`` / ``"valid"`` / ``"test"`` -> sorted indices into ``load_digits()``
            (after :meth:`setup`).

    Raises:
        ValueError: If a size or fraction is out of range.

    Example:
        >>> import numpy as np
        >>> from gnnpred import get_space
        >>> from gnnpred.training import DigitsDataModule, train_network
        >>> space = get_space("nasbench201")
        >>> data = DigitsDataModule(batch_size=64)
        >>> cell = space.sample(np.random.default_rng(0))
        >>> net = space.to_network(cell, **data.network_kwargs())
        >>> result = train_network(net, data, epochs=5)  # doctest: +SKIP
    """

    num_classes = 10

    def __init__(
        self,
        *,
        batch_size: int = 128,
        seed: int = 0,
        valid_fraction: float = 0.2,
        test_fraction: float = 0.2,
        image_size: int = 32,
        in_channels: int = 3,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        self.valid_fraction = _fraction("valid_fraction", valid_fraction)
        self.test_fraction = _fraction("test_fraction", test_fraction)
        if self.valid_fraction + self.test_fraction >= 1:
            raise ValueError(
                "valid_fraction + test_fraction must be below 1 to leave training images. "
                f"Got {valid_fraction} + {test_fraction}."
            )
        if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral) \
                or image_size < 8:
            raise ValueError(f"image_size must be an int >= 8. Got {image_size!r} instead.")
        self.image_size = int(image_size)
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.indices: dict[str, np.ndarray] = {}

    def setup(self, stage: str | None = None) -> None:
        """Load, split, standardise and upsample the digits (once; later calls do nothing)."""
        if self.datasets:
            return
        bunch = load_digits()
        images = torch.as_tensor(bunch.images, dtype=torch.float32) / 16.0  # [N, 8, 8]
        labels = torch.as_tensor(bunch.target, dtype=torch.long)
        parts = stratified_split(
            bunch.target, (self.valid_fraction, self.test_fraction), self.seed
        )
        self.indices = dict(zip(("train", "valid", "test"), parts, strict=True))
        train = images[torch.as_tensor(self.indices["train"])]
        mean, std = float(train.mean()), float(train.std())
        x = (images - mean) / std
        if self.image_size != 8:
            x = F.interpolate(x[:, None], size=self.image_size, mode="bilinear",
                              align_corners=False)[:, 0]
        self.datasets = {}
        for split, idx in self.indices.items():
            rows = torch.as_tensor(idx)
            # [n, S, S] -> [n, C, S, S] as a view: the loader's collation makes batches dense.
            channels = x[rows][:, None].expand(-1, self.in_channels, -1, -1)
            self.datasets[split] = TensorDataset(channels, labels[rows])
