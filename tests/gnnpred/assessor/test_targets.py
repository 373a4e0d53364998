"""Label transforms: exact round trip on the training labels, monotone everywhere."""

import numpy as np
import pytest
from scipy.stats import norm

from gnnpred.assessor.targets import Target


@pytest.mark.parametrize("kind", ["rank", "standard"])
def test_target_round_trip_and_monotone(kind):
    y = np.array([10.0, 93.1, 85.0, 85.0, 91.2, 70.3])
    target, z = Target.fit(y, kind)
    np.testing.assert_allclose(target.inverse(z), y)
    grid = np.linspace(-5, 5, 101)
    assert np.all(np.diff(target.inverse(grid)) > 0)
    again = Target.from_state(target.state_dict())
    np.testing.assert_array_equal(again.inverse(grid), target.inverse(grid))


def test_rank_targets_are_normal_scores_of_the_ranks():
    y = np.array([3.0, 1.0, 2.0, 100.0])
    _, z = Target.fit(y, "rank")
    np.testing.assert_allclose(z, norm.ppf(np.array([2.5, 0.5, 1.5, 3.5]) / 4))
    assert abs(z.mean()) < 1e-12  # symmetric: the outlier 100 weighs like any top label


def test_constant_labels_predict_the_constant():
    target, z = Target.fit(np.full(4, 7.0), "rank")
    np.testing.assert_array_equal(target.inverse(np.array([-3.0, 0.0, 3.0])), 7.0)
