"""CIFAR10DataModule on a tiny folder written in the CIFAR-10 python format; safe unpickling."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from gnnpred import get_space
from gnnpred._pickle import load_arrays
from gnnpred.training import CIFAR10DataModule, train_network
from gnnpred.training.cifar10 import CIFAR10_MEAN, CIFAR10_STD, random_crop_flip

PER_BATCH = 6  # 30 training images, 3 per class


def write_batch(path: Path, labels: list[int], fill: int, protocol: int) -> None:
    # data[i] holds the value fill + label in every pixel, so images can be traced back.
    data = np.repeat(np.array(labels, dtype=np.uint8)[:, None] + fill, 3072, axis=1)
    entry = {"batch_label": path.name, "labels": labels, "data": data,
             "filenames": [f"img_{i}.png" for i in range(len(labels))]}
    path.write_bytes(pickle.dumps(entry, protocol=protocol))


@pytest.fixture()
def cifar_root(tmp_path: Path) -> Path:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for b in range(5):
        labels = [(b * PER_BATCH + i) % 10 for i in range(PER_BATCH)]
        write_batch(folder / f"data_batch_{b + 1}", labels, fill=100, protocol=2 + b % 4)
    write_batch(folder / "test_batch", list(range(10)), fill=200, protocol=4)
    meta = {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                            "horse", "ship", "truck"], "num_cases_per_batch": PER_BATCH}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    return tmp_path


def test_reads_the_folder_and_splits_train_by_class(cifar_root: Path) -> None:
    data = CIFAR10DataModule(cifar_root, valid_fraction=1 / 3, batch_size=4)
    data.setup()
    sizes = {name: len(ds) for name, ds in data.datasets.items()}
    assert sizes == {"train": 20, "valid": 10, "test": 10}
    assert sorted(data.datasets["valid"].tensors[1].tolist()) == list(range(10))
    assert data.classes[0] == "airplane" and len(data.classes) == 10
    images, labels = data.datasets["train"].tensors
    assert images.shape == (20, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.equal(images[:, 0, 0, 0].long(), labels + 100)


def test_batches_are_normalised_with_cifar10_statistics(cifar_root: Path) -> None:
    data = CIFAR10DataModule(cifar_root / "cifar-10-batches-py", valid_fraction=1 / 3)
    batch = next(iter(data.test_dataloader()))
    images, labels = data.on_after_batch_transfer(batch, 0)  # no trainer: no augmentation
    assert images.shape == (10, 3, 32, 32) and images.dtype == torch.float32
    for c in range(3):
        expected = ((labels + 200).float() / 255 - CIFAR10_MEAN[c]) / CIFAR10_STD[c]
        assert torch.allclose(images[:, c, 5, 7], expected)


def test_random_crop_flip_gives_shifted_or_mirrored_crops() -> None:
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6) + 1
    out = random_crop_flip(images, padding=2)
    padded = torch.nn.functional.pad(images, (2,) * 4)
    for b in range(2):
        candidates = [padded[b, :, y:y + 6, x:x + 6] for y in range(5) for x in range(5)]
        candidates += [c.flip(-1) for c in candidates]
        assert any(torch.equal(out[b], c) for c in candidates)


def test_a_network_trains_on_the_folder_with_augmented_training_batches(
    cifar_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    augmented: list[int] = []

    def spy(images: torch.Tensor, padding: int = 4) -> torch.Tensor:
        augmented.append(len(images))
        return random_crop_flip(images, padding)

    monkeypatch.setattr("gnnpred.training.cifar10.random_crop_flip", spy)
    space = get_space("nasbench201")
    data = CIFAR10DataModule(cifar_root, valid_fraction=1 / 3, batch_size=8)
    net = space.to_network(space.make(ops=["nor_conv_3x3"] * 6), channels=4, cells_per_stage=1,
                           **data.network_kwargs())
    result = train_network(net, data, epochs=1, device="cpu")
    assert result.epochs == 1 and np.isfinite(result.train_loss)
    assert augmented == [8, 8, 4]  # the 20 training images, never the valid or test ones


def test_a_root_under_the_home_folder_is_expanded(cifar_root: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(cifar_root.parent))
    data = CIFAR10DataModule(f"~/{cifar_root.name}", batch_size=4)
    assert data.root == cifar_root / "cifar-10-batches-py"


def test_missing_folder_names_the_expected_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing data_batch_1, .*test_batch, "
                                                r"batches.meta.*cifar-10-batches-py"):
        CIFAR10DataModule(tmp_path)


def test_one_missing_file_is_named(cifar_root: Path) -> None:
    (cifar_root / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing data_batch_3\. Expected"):
        CIFAR10DataModule(cifar_root)


def test_a_wrong_batch_is_a_value_error_naming_the_file(cifar_root: Path) -> None:
    path = cifar_root / "cifar-10-batches-py" / "data_batch_2"
    path.write_bytes(pickle.dumps({"labels": [1], "data": np.zeros((1, 10), np.uint8)}))
    with pytest.raises(ValueError, match=r"data_batch_2 is not a CIFAR-10 batch"):
        CIFAR10DataModule(cifar_root).setup()


class Exploit:
    """Makes the directory ``target`` when unpickled: a file no loader may trust."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return os.mkdir, (str(self.target),)


def test_a_pickle_that_calls_code_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "should_not_exist"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": Exploit(target)}))
    with pytest.raises(ValueError, match=r"not a file this loader trusts: .*mkdir"):
        load_arrays(path)
    assert not target.exists()


def test_object_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects"
    path.write_bytes(pickle.dumps(np.array([{"a": 1}], dtype=object)))
    with pytest.raises(ValueError, match="non-numeric numpy dtype"):
        load_arrays(path)
