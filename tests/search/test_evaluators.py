"""Evaluators: the table lookup keeps every figure, training returns the validation accuracy,
any error is a failed evaluation, and the cache remembers successes across processes."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from gnnpred.training import DigitsDataModule
from search.evaluators import (
    Evaluation,
    EvaluationCache,
    Evaluator,
    TableEvaluator,
    TrainingEvaluator,
)
from tests.search.conftest import with_failures

#: A tiny training evaluation: 8x8 digits, a 4-channel NB201 network with one cell per stage.
TINY = {"data": functools.partial(DigitsDataModule, batch_size=256, image_size=8),
        "epochs": 1, "device": "cpu", "network_kwargs": {"channels": 4, "cells_per_stage": 1}}


class BrokenData:
    """A user's data module that fails when it is built."""

    def __init__(self) -> None:
        raise OSError("cannot open /data/mine.npz")


def test_table_evaluator_returns_the_table_values(embedded_bench):
    cells = embedded_bench.archs()[:50]
    ev = TableEvaluator(embedded_bench, report_metrics=embedded_bench.metrics)
    assert isinstance(ev, Evaluator)
    for arch in cells:
        out = ev.evaluate(arch, seed=3)
        assert not out.failed and out.error is None and out.cost >= 0
        assert out.value == embedded_bench.query(arch)
        assert out.metrics == {m: embedded_bench.query(arch, m) for m in embedded_bench.metrics}


def test_table_evaluator_fails_on_non_finite_values(embedded_bench):
    bench = with_failures(embedded_bench, [4])
    out = TableEvaluator(bench).evaluate(bench.archs()[4], 0)
    assert out.failed and math.isnan(out.value) and out.error == "non-finite value nan"


def test_training_evaluator_gives_the_validation_accuracy(embedded_bench):
    space = embedded_bench.space
    cell = space.sample(np.random.default_rng(0))
    ev = TrainingEvaluator(space, **TINY)
    first, again = ev.evaluate(cell, 7), ev.evaluate(cell, 7)
    assert not first.failed and 0 <= first.value <= 100 and first.cost > 0
    assert set(first.metrics) == {"test_accuracy", "train_accuracy", "train_loss", "epochs"}
    assert 0 <= first.metrics["test_accuracy"] <= 100 and first.metrics["epochs"] == 1
    assert (again.value, again.metrics) == (first.value, first.metrics)  # a seed decides it


def test_a_data_module_that_raises_is_a_failed_evaluation(embedded_bench):
    space = embedded_bench.space
    ev = TrainingEvaluator(space, BrokenData, epochs=1, device="cpu")
    out = ev.evaluate(space.sample(np.random.default_rng(0)), 0)
    assert out.failed and math.isnan(out.value)
    assert out.error.startswith("OSError: cannot open /data/mine.npz (at ")


def test_a_network_error_is_a_failed_evaluation(embedded_bench):
    space = embedded_bench.space
    ev = TrainingEvaluator(space, TINY["data"], epochs=1, network_kwargs={"channels": -1})
    out = ev.evaluate(space.sample(np.random.default_rng(0)), 0)
    assert out.failed and out.error.startswith("ValueError: ") and "channels" in out.error


@pytest.mark.parametrize("kwargs, error, message", [
    ({"epochs": 0}, ValueError, "epochs must be a positive int. Got 0 instead."),
    ({"data": "digits"}, ValueError, "data must be a callable .* Got 'digits' instead."),
    ({"train_kwargs": {"epoch": 3}}, TypeError, r"train_kwargs names \['epoch'\]"),
])
def test_training_evaluator_rejects_bad_arguments(embedded_bench, kwargs, error, message):
    with pytest.raises(error, match=message):
        TrainingEvaluator(embedded_bench.space, **{"data": DigitsDataModule, **kwargs})


def test_cache_persists_successes_only(tmp_path):
    path = tmp_path / "cache.jsonl"
    cache = EvaluationCache(path)
    ok = Evaluation(91.5, {"test_accuracy": 90.0}, 12.0)
    cache.put("k1", 0, ok)
    cache.put("k2", 0, Evaluation.failure("TrainingFailed: loss is nan"))
    cache.put("k3", 0, Evaluation(math.nan, {}, 1.0))
    again = EvaluationCache(path)
    assert len(again) == 1 and again.get("k1", 0) == ok
    assert again.get("k1", 1) is None and again.get("k2", 0) is None


def test_cache_cuts_a_torn_last_line(tmp_path):
    path = tmp_path / "cache.jsonl"
    EvaluationCache(path).put("k1", 0, Evaluation(50.0, {}, 1.0))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"key": "k2", "se')  # the process was killed mid-line
    cache = EvaluationCache(path)
    cache.put("k3", 0, Evaluation(60.0, {}, 1.0))
    again = EvaluationCache(path)
    assert len(again) == 2 and again.get("k3", 0).value == 60.0
