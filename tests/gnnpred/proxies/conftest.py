"""One torch thread for the proxy tests: batch-1 networks gain nothing from more, and a busy
machine makes thread oversubscription very slow."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
