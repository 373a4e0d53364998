"""check_positive_int: the one size check of networks, super-nets and training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gnnpred._common import check_positive_int
from gnnpred.networks import NB201Network


@pytest.mark.parametrize("value", [1, 7, np.int64(3)])
def test_integral_values_come_back_as_python_ints(value):
    out = check_positive_int("channels", value)
    assert out == value and type(out) is int


@pytest.mark.parametrize("value", [0, -2, 2.0, True, "3", None])
def test_other_values_are_refused_with_name_and_value(value):
    with pytest.raises(ValueError, match=rf"channels must be a positive int\. Got {value!r}"):
        check_positive_int("channels", value)


def test_a_network_takes_numpy_integer_sizes():
    net = NB201Network(("nor_conv_3x3",) * 6, np.int64(5), channels=np.int64(4),
                       cells_per_stage=np.int64(1))
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 5)
