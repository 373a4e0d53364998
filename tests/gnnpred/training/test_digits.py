"""DigitsDataModule and stratified_split: sizes, disjoint stratified splits, image shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from gnnpred.training import DigitsDataModule, stratified_split

N_DIGITS = 1797


def test_splits_are_disjoint_cover_everything_and_follow_the_fractions() -> None:
    data = DigitsDataModule(valid_fraction=0.25, test_fraction=0.15, seed=1)
    data.setup()
    parts = data.indices
    sizes = {name: len(idx) for name, idx in parts.items()}
    assert sum(sizes.values()) == N_DIGITS
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(N_DIGITS))
    assert abs(sizes["valid"] - 0.25 * N_DIGITS) <= 1
    assert abs(sizes["test"] - 0.15 * N_DIGITS) <= 1
    assert {name: len(ds) for name, ds in data.datasets.items()} == sizes


def test_splits_are_stratified() -> None:
    data = DigitsDataModule(seed=2)
    data.setup()
    target = load_digits().target
    overall = np.bincount(target, minlength=10) / len(target)
    for idx in data.indices.values():
        share = np.bincount(target[idx], minlength=10) / len(idx)
        assert np.abs(share - overall).max() < 0.02


def test_the_seed_decides_the_split() -> None:
    a, b, c = (DigitsDataModule(seed=s) for s in (0, 0, 1))
    for d in (a, b, c):
        d.setup()
    assert np.array_equal(a.indices["valid"], b.indices["valid"])
    assert not np.array_equal(a.indices["valid"], c.indices["valid"])


@pytest.mark.parametrize(("size", "channels"), [(32, 3), (8, 1), (20, 2)])
def test_batches_have_the_networks_input_shape(size: int, channels: int) -> None:
    data = DigitsDataModule(batch_size=16, image_size=size, in_channels=channels)
    images, labels = next(iter(data.train_dataloader()))
    assert images.shape == (16, channels, size, size)
    assert images.dtype == torch.float32 and labels.dtype == torch.long
    assert torch.equal(images[:, 0], images[:, -1])  # the grey image repeated
    assert data.network_kwargs() == {"num_classes": 10, "in_channels": channels}


def test_training_images_are_standardised() -> None:
    data = DigitsDataModule(image_size=8)
    data.setup()
    images = data.datasets["train"].tensors[0]
    assert abs(float(images.mean())) < 1e-4
    assert abs(float(images.std()) - 1.0) < 1e-3


def test_labels_match_scikit_learn() -> None:
    data = DigitsDataModule()
    data.setup()
    labels = data.datasets["test"].tensors[1].numpy()
    assert np.array_equal(labels, load_digits().target[data.indices["test"]])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"valid_fraction": 0.0}, r"valid_fraction must be a float in \(0, 1\). Got 0.0"),
        ({"valid_fraction": 0.6, "test_fraction": 0.5}, "must be below 1"),
        ({"image_size": 4}, "image_size must be an int >= 8. Got 4"),
        ({"batch_size": 0}, "batch_size must be a positive int. Got 0"),
        ({"seed": -3}, "seed must be a non-negative int. Got -3"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DigitsDataModule(**kwargs)


def test_stratified_split_rejects_fractions_that_leave_nothing() -> None:
    with pytest.raises(ValueError, match="sum to less than 1"):
        stratified_split(np.zeros(10, dtype=int), (0.5, 0.5), seed=0)
