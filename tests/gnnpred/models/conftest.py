import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # Tiny models: a second intra-op thread only adds contention (100x slower on a loaded 2-core box).
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
