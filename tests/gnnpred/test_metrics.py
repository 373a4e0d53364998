import numpy as np
import pytest
from scipy import stats
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

from gnnpred.metrics import (
    kendall_scorer,
    kendall_tau,
    ranking_report,
    regret,
    spearman,
    top_k_precision,
)


def test_perfect_and_reversed_rankings():
    y = np.arange(20.0)
    assert kendall_tau(y, y * 3 + 1) == pytest.approx(1.0)
    assert spearman(y, -y) == pytest.approx(-1.0)
    assert top_k_precision(y, y, 0.1) == 1.0
    assert top_k_precision(y, -y, 0.1) == 0.0
    assert regret(y, y) == 0.0
    assert regret(y, -y) == pytest.approx(19.0)
    assert regret(y, -y, k=20) == 0.0


def test_matches_scipy_on_random_scores():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(size=200)
    assert kendall_tau(a, b) == pytest.approx(stats.kendalltau(a, b).statistic)
    assert spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic)


def test_top_k_precision_counts_hits():
    y_true = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2, 1.0])
    y_pred = np.array([10, 1, 9, 2, 3, 4, 5, 6, 7, 8.0])  # predicted top-3: idx 0, 2, 9
    assert top_k_precision(y_true, y_pred, 3) == pytest.approx(2 / 3)
    assert top_k_precision(y_true, y_pred, 0.3) == pytest.approx(2 / 3)
    report = ranking_report(y_true, y_pred, top=0.3)
    assert set(report) == {"kendall", "spearman", "top_precision"}


def test_constant_prediction_gives_zero_correlation():
    assert kendall_tau([1, 2, 3], [5, 5, 5]) == 0.0
    assert spearman([1, 2, 3], [5, 5, 5]) == 0.0


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        (([1, 2, 3], [1, 2]), ValueError, "same length"),
        (([1.0], [1.0]), ValueError, "At least 2"),
        (([1, np.nan, 3], [1, 2, 3]), ValueError, "non-finite"),
        (([1, 2, 3], [1, 2, np.inf]), ValueError, "y_pred"),
        # tables used to be flattened and compared entry by entry (kendall 1.0 here)
        ((np.arange(6).reshape(2, 3), np.arange(6).reshape(3, 2)), ValueError, "must be 1-D"),
        ((np.c_[np.arange(5), np.arange(5)], np.arange(10)), ValueError, r"shape \(5, 2\)"),
    ],
)
def test_bad_inputs(args, exc, match):
    with pytest.raises(exc, match=match):
        kendall_tau(*args)


@pytest.mark.parametrize("k", [0, -1, 1.5, 0.0])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k must be"):
        top_k_precision([1, 2, 3], [1, 2, 3], k)
    with pytest.raises(TypeError):
        top_k_precision([1, 2, 3], [1, 2, 3], "5%")


def test_kendall_scorer_scores_an_estimator_by_kendall_tau():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 2))
    y = x[:, 0] - 0.5 * x[:, 1] + 0.1 * rng.normal(size=50)
    model = LinearRegression().fit(x[:25], y[:25])
    assert kendall_scorer(model, x[25:], y[25:]) == kendall_tau(y[25:], model.predict(x[25:]))
    constant = DummyRegressor().fit(x[:25], y[:25])
    assert kendall_scorer(constant, x[25:], y[25:]) == 0.0


def test_a_column_of_scores_counts_as_a_vector():
    assert kendall_tau(np.arange(5)[:, None], np.arange(5)) == pytest.approx(1.0)
