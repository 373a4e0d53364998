"""Shared fixtures. Tests that need ../shared/data skip on a user's fresh clone and fail in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Small models on 2 cores: one intra-op thread avoids oversubscription (and is what CI has).
torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_file(name: str) -> Path:
    """Path of a file in ../shared/data; skip (or fail when CI is set) if it is absent."""
    path = SHARED_DATA / name
    if not path.exists():
        msg = f"{path} is absent: the shared benchmark tables live beside the project checkout"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI is set, where they must exist)")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def nb201_csv() -> Path:
    return shared_file("nb201_cifar10.csv")


@pytest.fixture(scope="session")
def nb101_graphs1k() -> Path:
    return shared_file("nb101_graphs1k.json")


@pytest.fixture(scope="session")
def nb101_sample20k() -> Path:
    return shared_file("nb101_sample20k.csv")
