"""The contract every search algorithm keeps: budget, no repeats, determinism, replay,
hyper-parameters from the signature, and the failure policy (a NaN value is a failed evaluation)."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from search.algorithms import ALGORITHMS, ReplayMismatch, get_algorithm, hyper_parameters
from tests.search.conftest import algorithm_params, drive, with_failures

BUDGETS = {"random": 60, "evolution": 60, "local": 60, "assessor": 16, "seminas": 12}


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_budget_no_repeats_and_best(name, embedded_bench, embedded_domain):
    budget = BUDGETS[name]
    algo = get_algorithm(name, **algorithm_params(name))
    archs, values = drive(algo, embedded_bench, budget, seed=3, domain=embedded_domain)
    keys = [embedded_domain.key(a) for a in archs]
    assert len(set(keys)) == budget, "a cell (or an equivalent one) was queried twice"
    arch, value = algo.best()
    assert value == max(values) and embedded_domain.key(arch) == keys[int(np.argmax(values))]


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_same_seed_same_proposals(name, embedded_bench, embedded_domain):
    # the model-based ones: their initial design and one round
    budget = 12 if name in ("assessor", "seminas") else BUDGETS[name]
    strings = embedded_domain.space.to_string

    def run(seed):
        algo = get_algorithm(name, **algorithm_params(name))
        return [strings(a) for a in drive(algo, embedded_bench, budget, seed=seed,
                                          domain=embedded_domain)[0]]

    first = run(5)
    assert run(5) == first
    if name not in ("assessor", "seminas"):  # (their extra run is what costs time)
        assert run(6) != first


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_replay_restores_the_state(name, embedded_bench, embedded_domain):
    n = BUDGETS[name] // 2
    algo = get_algorithm(name, **algorithm_params(name))
    archs, values = drive(algo, embedded_bench, n + 1, seed=2, domain=embedded_domain)
    again = get_algorithm(name, **algorithm_params(name)).setup(embedded_domain, 2, n + 1,
                                                                device="cpu")
    again.replay(list(zip(archs[:n], values[:n], strict=True)))
    assert embedded_domain.key(again.propose()) == embedded_domain.key(archs[n])
    other = get_algorithm(name, **algorithm_params(name)).setup(embedded_domain, 3, n,
                                                                device="cpu")
    with pytest.raises(ReplayMismatch, match="query 0 of the recorded history"):
        other.replay(list(zip(archs[:n], values[:n], strict=True)))


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_hyper_parameters_come_from_the_signature(name):
    cls = ALGORITHMS[name]
    params = hyper_parameters(name)
    sig = inspect.signature(cls.__init__).parameters
    assert params == {k: p.default for k, p in sig.items() if p.kind is p.KEYWORD_ONLY}
    assert all(p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) for p in sig.values())
    algo = cls()
    assert algo.get_params() == params
    args = ", ".join(f"{k}={v!r}" for k, v in params.items())
    assert repr(algo) == f"{cls.__name__}({args})"


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_unknown_parameter_names_are_pythons_type_error(name):
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_explor'"):
        get_algorithm(name, n_explor=1)
    with pytest.raises(TypeError):
        ALGORITHMS[name](1)  # hyper-parameters are keyword-only


def test_unknown_algorithm_name():
    with pytest.raises(ValueError, match="Unknown search algorithm 'genetic'. Available: random"):
        get_algorithm("genetic")
    with pytest.raises(ValueError, match="Unknown search algorithm 'genetic'"):
        hyper_parameters("genetic")


@pytest.mark.parametrize("name, params, message", [
    ("evolution", {"population_size": 0}, "'population_size' parameter of RegularizedEvolution "
                                          "must be an int >= 1. Got 0 instead."),
    ("evolution", {"population_size": 5, "sample_size": 6}, r"'sample_size' .* \(6\) must not"),
    ("evolution", {"zc_proxy": "synflw"}, "'zc_proxy' .* Got 'synflw' instead"),
    ("local", {"zc_warmup": 1.5}, "'zc_warmup' .* Got 1.5 instead"),
    ("local", {"zc_warmup": True}, "'zc_warmup' .* Got True instead"),
    ("assessor", {"per_round": -1}, "'per_round' .* Got -1 instead"),
    ("assessor", {"top_weight": -1}, "'top_weight' .* >= 0. Got -1 instead"),
    ("assessor", {"beta": float("nan")}, "'beta' .* Got nan instead"),
    ("assessor", {"n_explore": -1}, "'n_explore' .* Got -1 instead"),
    ("assessor", {"local_fraction": 1.5}, r"'local_fraction' .* in \[0, 1\]. Got 1.5 instead"),
    ("assessor", {"prior": "synflow"}, "'prior' .* Got 'synflow' instead"),
    ("assessor", {"prior_weight": -0.5}, "'prior_weight' .* Got -0.5 instead"),
    ("assessor", {"explore": "params"}, "'explore' .* 'auto', 'rarity', 'synflow'. Got 'params'"),
    ("assessor", {"assessor_params": [1]}, r"'assessor_params' .* Got \[1\] instead"),
    ("assessor", {"assessor_params": {"space": "nasbench101"}}, "may not set 'space'"),
])
def test_bad_values_are_rejected_when_built(name, params, message):
    with pytest.raises(ValueError, match=message):
        get_algorithm(name, **params)


# ------------------------------------------------------------------------------ failures
@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_failed_evaluations_are_spent_but_never_best(name, embedded_bench, embedded_domain):
    # a third of the table fails, and so do the two cells the search queries first
    first, _ = drive(get_algorithm(name, **algorithm_params(name)), embedded_bench, 2, seed=1,
                     domain=embedded_domain)
    rows = np.random.default_rng(0).choice(len(embedded_bench), len(embedded_bench) // 3,
                                           replace=False)
    bench = with_failures(embedded_bench, [*rows, *map(embedded_domain.index, first)])
    algo = get_algorithm(name, **algorithm_params(name))
    # the model-based ones: their initial design and two rounds (each round costs a fit)
    budget = BUDGETS[name] if name in ("assessor", "seminas") else 2 * BUDGETS[name]
    archs, values = drive(algo, bench, budget, seed=1)
    assert archs[0] == first[0] and math.isnan(values[0])
    assert len({algo.domain.key(a) for a in archs}) == budget  # failed cells are not re-queried
    arch, value = algo.best()
    assert value == np.nanmax(values) and bench.query(arch) == value


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_best_ignores_failures_and_raises_before_any_success(name, embedded_bench,
                                                             embedded_domain):
    algo = get_algorithm(name, **algorithm_params(name)).setup(embedded_domain, 0, 10,
                                                               device="cpu")
    with pytest.raises(RuntimeError, match="no successful evaluation yet"):
        algo.best()
    cells = embedded_domain.archs[:4]
    for cell, value in zip(cells, [float("nan"), float("inf"), -float("inf"), float("nan")],
                           strict=True):
        algo.observe(cell, value)
    with pytest.raises(RuntimeError, match="no successful evaluation yet: 4 cells observed"):
        algo.best()
    algo.observe(embedded_domain.archs[4], 50.0)
    algo.observe(embedded_domain.archs[5], 40.0)
    assert algo.best() == (embedded_domain.archs[4], 50.0)
    assert embedded_domain.key(algo.propose()) not in {embedded_domain.key(c) for c in cells}


def test_replay_reads_none_as_a_failed_evaluation(embedded_bench, embedded_domain):
    algo = get_algorithm("random")
    archs, _ = drive(algo, embedded_bench, 3, seed=0, domain=embedded_domain)
    again = get_algorithm("random").setup(embedded_domain, 0, 3)
    again.replay([(archs[0], None), (archs[1], 91.0)])
    assert math.isnan(again.values[0]) and again.best() == (archs[1], 91.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"budget": 10**6}, "exceeds the 8765 distinct cells"),  # used to fail after every query
    ({"budget": 5, "seed": -1}, "seed must be a non-negative int"),
    ({"budget": 5, "seed": 1.7}, "seed must be a non-negative int"),
    ({"budget": 5, "report_metrics": "analog_accuracy"}, "not one string"),
    ({"budget": 5, "optimum": "94"}, "optimum must be a number"),
])
def test_run_search_refuses_bad_arguments_before_querying(kwargs, message, embedded_bench,
                                                          embedded_domain, tmp_path):
    from search.engine import run_search

    budget = kwargs.pop("budget")
    with pytest.raises(ValueError, match=message):
        run_search("random", embedded_bench, budget, domain=embedded_domain,
                   history=tmp_path / "h.jsonl", **kwargs)
    assert not (tmp_path / "h.jsonl").exists() or (tmp_path / "h.jsonl").stat().st_size == 0
