"""``datasets.load``: the registry of benchmark loaders and the names it accepts."""

from __future__ import annotations

import pytest

import datasets
from datasets import load
from gnnpred.spaces import available_spaces, get_space
from gnnpred.spaces.base import ALIASES

SPELLINGS = [
    *(
        n
        for canon, aliases in ALIASES.items()
        if canon in datasets.available()
        for n in (canon, *aliases)
    ),
    "NB201",
    "NASBench201",
    "nasbench-201",
    "nasbench_201",
    "NAS-Bench-201",
    "nas bench 201",
    "NB101",
    "nasbench-101",
    "nasbench_101",
    "NAS-Bench-101",
    "NBG",
    "nbgraph",
    "nasbenchgraph",
    "nasbench_graph",
    "NAS-Bench-Graph",
]
NOT_NAMES = ["", "nb", "nasbench", "nasbench999", "nasbench-301", "nb201x", "graph"]


def _loaded_name(name: str) -> str:
    """The benchmark ``load(name)`` opens (NAS-Bench-101 needs a file: its error names it)."""
    try:
        return load(name).name
    except FileNotFoundError as exc:
        assert "NAS-Bench-101 is not bundled" in str(exc)
        return "nasbench101"


def test_available_lists_the_three_benchmarks():
    assert datasets.available() == ["nasbench101", "nasbench201", "nasbench-graph"]


@pytest.mark.parametrize("name", SPELLINGS)
def test_load_and_get_space_accept_the_same_names(name):
    assert _loaded_name(name) == get_space(name).name


def test_a_space_without_a_table_is_named_as_such():
    """Every registered space has a name, but only benchmarks have a table to load."""
    no_table = [s for s in available_spaces() if s not in datasets.available()]
    for name in no_table:
        with pytest.raises(ValueError, match=f"No benchmark table for the search space {name!r}"):
            load(name)


@pytest.mark.parametrize("name", NOT_NAMES)
def test_load_and_get_space_reject_the_same_names_listing_the_accepted_ones(name):
    with pytest.raises(ValueError, match="Accepted names") as from_load:
        load(name)
    with pytest.raises(ValueError, match="Accepted names") as from_space:
        get_space(name)
    assert str(from_load.value) == str(from_space.value)
    for canon in ALIASES:
        assert canon in str(from_load.value)


def test_loader_options_are_checked_by_the_loader_signature():
    with pytest.raises(TypeError, match="datset"):
        load("nasbench201", datset="cifar10")
