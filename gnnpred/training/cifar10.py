"""CIFAR-10 from a ``cifar-10-batches-py`` folder already on disk, as NAS-Bench-201 trained it.

The folder is the "CIFAR-10 python version" that torchvision also reads
(https://www.cs.toronto.edu/~kriz/cifar.html): ``data_batch_1`` .. ``data_batch_5`` (50,000
training images), ``test_batch`` (10,000) and ``batches.meta``, each a pickled dict whose
``data`` is a ``uint8`` array ``[n, 3072]`` (the red, green and blue 32x32 planes of each image
in turn), ``labels`` a list of class indices and ``label_names`` (in the meta file) the class
names. The files are read with a restricted unpickler that rebuilds NumPy arrays and nothing
else, so a tampered file cannot run code. Nothing is downloaded.

NAS-Bench-201's pipeline (Dong & Yang, ICLR 2020, https://arxiv.org/abs/2001.00326): training
images are padded by 4 pixels, randomly cropped back to 32x32 and flipped horizontally at
random; every image is normalised with CIFAR-10's per-channel mean and standard deviation. The
augmentation runs on whole batches after they reach the training device. The validation split
is carved out of the 50,000 training images by a stratified, seeded split (NAS-Bench-201's
``cifar10-valid`` used half of them); the test split is ``test_batch``.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import TensorDataset

from gnnpred._pickle import load_arrays
from gnnpred.training.data import ImageDataModule, _fraction, standardise, stratified_split

__all__ = ["CIFAR10DataModule", "CIFAR10_MEAN", "CIFAR10_STD", "random_crop_flip"]

#: Per-channel mean and standard deviation of CIFAR-10's training images (NAS-Bench-201's).
CIFAR10_MEAN: tuple[float, ...] = tuple(x / 255 for x in (125.3, 123.0, 113.9))
CIFAR10_STD: tuple[float, ...] = tuple(x / 255 for x in (63.0, 62.1, 66.7))

_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
_FILES = (*_TRAIN_FILES, "test_batch", "batches.meta")


def random_crop_flip(images: Tensor, padding: int = 4) -> Tensor:
    """Zero-pad, randomly crop back and randomly flip each image of a batch.

    Offsets and flips draw from torch's default generator of the batch's device.

    Args:
        images: ``[B, C, H, W]`` float images.
        padding: Pixels of zero padding on each side (4 in NAS-Bench-201).

    Returns:
        The augmented batch, same shape.
    """
    b, c, h, w = images.shape
    dev = images.device
    padded = F.pad(images, (padding,) * 4)  # [B, C, H + 2p, W + 2p]
    dy = torch.randint(0, 2 * padding + 1, (b, 1), device=dev)
    dx = torch.randint(0, 2 * padding + 1, (b, 1), device=dev)
    flip = torch.rand(b, 1, device=dev) < 0.5
    rows = dy + torch.arange(h, device=dev)  # [B, H]
    cols = dx + torch.arange(w, device=dev)  # [B, W]
    cols = torch.where(flip, cols.flip(1), cols)
    batch = torch.arange(b, device=dev).view(b, 1, 1, 1)
    chan = torch.arange(c, device=dev).view(1, c, 1, 1)
    return padded[batch, chan, rows.view(b, 1, h, 1), cols.view(b, 1, 1, w)]


def _field(entry: Any, key: str, path: Path) -> Any:
    if isinstance(entry, dict):
        for k in (key, key.encode()):
            if k in entry:
                return entry[k]
    raise ValueError(f"{path} is not a CIFAR-10 batch: it has no {key!r} entry.")


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    entry = load_arrays(path)
    data = np.asarray(_field(entry, "data", path))
    labels = np.asarray(_field(entry, "labels", path), dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 \
            or len(labels) != len(data):
        raise ValueError(
            f"{path} is not a CIFAR-10 batch: expected uint8 data [n, 3072] and n labels, got "
            f"{data.dtype} data {data.shape} and {len(labels)} labels."
        )
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path} has labels outside 0..9 (min {labels.min()}, "
                         f"max {labels.max()}).")
    return data.reshape(-1, 3, 32, 32), labels


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10 read from ``root`` with NAS-Bench-201's normalisation and augmentation.

    Args:
        root: The ``cifar-10-batches-py`` folder, or a folder that contains it.
        batch_size: Samples per batch (256 in NAS-Bench-201).
        seed: Seed of the train / valid split.
        valid_fraction: Share of the 50,000 training images held out for validation.
        augment: Random crop and flip of training batches.
        num_workers: Loader worker processes.

    Attributes:
        num_classes: 10.
        classes: Class names from ``batches.meta`` (after :meth:`setup`).

    Raises:
        FileNotFoundError: If a file of the folder is missing (names them all).
        ValueError: If an argument is out of range.
    """

    num_classes = 10
    in_channels = 3
    image_size = 32

    def __init__(
        self,
        root: str | PathLike,
        *,
        batch_size: int = 256,
        seed: int = 0,
        valid_fraction: float = 0.5,
        augment: bool = True,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        self.root = self._find_folder(Path(root).expanduser())
        self.valid_fraction = _fraction("valid_fraction", valid_fraction)
        self.augment = bool(augment)
        self.classes: list[str] = []

    @staticmethod
    def _find_folder(root: Path) -> Path:
        for folder in (root, root / "cifar-10-batches-py"):
            if all((folder / name).is_file() for name in _FILES):
                return folder
        folder = root / "cifar-10-batches-py" if (root / "cifar-10-batches-py").is_dir() else root
        missing = [name for name in _FILES if not (folder / name).is_file()]
        raise FileNotFoundError(
            f"{folder} is not a CIFAR-10 folder: missing {', '.join(missing)}. Expected the "
            f"'cifar-10-batches-py' folder of the CIFAR-10 python version "
            f"(https://www.cs.toronto.edu/~kriz/cifar.html) holding {', '.join(_FILES)}, "
            f"or a folder containing it."
        )

    def setup(self, stage: str | None = None) -> None:
        """Read the batches and split off the validation images (once).

        Raises:
            ValueError: If a file is corrupt or not a CIFAR-10 batch.
        """
        if self.datasets:
            return
        parts = [_read_batch(self.root / name) for name in _TRAIN_FILES]
        images = torch.from_numpy(np.concatenate([p[0] for p in parts]))  # [N, 3, 32, 32] uint8
        labels = np.concatenate([p[1] for p in parts])
        test_images, test_labels = _read_batch(self.root / "test_batch")
        meta = load_arrays(self.root / "batches.meta")
        self.classes = [str(n) for n in _field(meta, "label_names", self.root / "batches.meta")]
        train, valid = stratified_split(labels, (self.valid_fraction,), self.seed)
        targets = torch.from_numpy(labels)
        self.datasets = {
            "train": TensorDataset(images[train], targets[train]),
            "valid": TensorDataset(images[valid], targets[valid]),
            "test": TensorDataset(torch.from_numpy(test_images), torch.from_numpy(test_labels)),
        }

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Scale the ``uint8`` batch to ``[0, 1]``, augment it when training, normalise it."""
        images, labels = batch
        x = images.float() / 255.0
        if self.augment and self.trainer is not None and self.trainer.training:
            x = random_crop_flip(x)
        return standardise(x, CIFAR10_MEAN, CIFAR10_STD), labels
