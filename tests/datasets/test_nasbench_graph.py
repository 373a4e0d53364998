"""NAS-Bench-Graph tables from the installed wheel."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from datasets import load
from datasets.nasbench_graph import bench_file


@pytest.fixture(scope="module")
def cora():
    return load("nasbench-graph")


def test_cora_joins_every_cell(cora):
    assert cora.dataset == "cora" and cora.metric == "valid_perf"
    assert len(cora) == 26206
    cells = list(cora.space.enumerate())
    assert len(cells) == 26206
    assert all(c in cora for c in cells)
    assert cora.metrics == ("valid_perf", "perf", "latency", "para")
    assert np.isfinite(cora.values("perf")).all()


def test_keys_agree_with_the_benchmarks_own_hash(cora):
    """The package's reference code (Arch.valid_hash) finds the same entries we return."""
    from nas_bench_graph.architecture import Arch

    raw = pickle.loads(bench_file("cora").read_bytes())  # the installed, trusted file
    rng = np.random.default_rng(0)
    archs = cora.archs()
    for i in rng.choice(len(archs), size=200, replace=False):
        cell = archs[i]
        key = Arch(list(cell.link), list(cell.ops)).valid_hash()
        assert cora.query(cell, "perf") == float(raw[key]["perf"])
        assert cora.query(cell, "para") == float(raw[key]["para"])


def test_non_canonical_cells_are_found(cora):
    space = cora.space
    cell = space.make(link=[0, 0, 1, 0], ops=["gcn", "gat", "sage", "skip"])
    assert cell in cora
    assert cora.query(cell) == cora.query(space.canonical(cell))


def test_proteins_uses_its_op_set():
    bench = load("nasbench-graph", dataset="proteins", metric="perf")
    assert len(bench) == 2021 and bench.metric == "perf"
    assert bench.space.op_set == "proteins"
    assert all(set(a.ops) <= {"gcn", "sage", "arma", "fc", "skip"} for a in bench.archs())


def test_errors(tmp_path):
    with pytest.raises(ValueError, match=r"'mnist'.*cora"):
        load("nasbench-graph", dataset="mnist")
    with pytest.raises(ValueError, match=r"'acc'.*valid_perf"):
        load("nasbench-graph", metric="acc")
    with pytest.raises(FileNotFoundError, match="nas-bench-graph"):
        load("nasbench-graph", path=tmp_path / "cora.bench")
    evil = tmp_path / "evil.bench"
    evil.write_bytes(pickle.dumps({1: {"valid_perf": pickle.PickleBuffer}}))
    with pytest.raises(ValueError, match=r"evil\.bench.*pickle\.PickleBuffer"):
        load("nasbench-graph", path=evil)
    truncated = tmp_path / "truncated.bench"
    truncated.write_bytes(bench_file("proteins").read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"truncated\.bench is corrupt"):
        load("nasbench-graph", path=truncated, dataset="proteins")
    stray = tmp_path / "stray.bench"
    stray.write_bytes(
        pickle.dumps({-1: {"valid_perf": 0.5, "perf": 0.5, "latency": 0.1, "para": 0.2}})
    )
    with pytest.raises(ValueError, match=r"stray\.bench has 1 entries that match no cell"):
        load("nasbench-graph", path=stray)
