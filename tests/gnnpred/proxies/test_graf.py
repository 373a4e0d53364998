"""GRAF features against values read off hand-drawn cells of each space."""

from __future__ import annotations

import numpy as np
import pytest

from gnnpred.proxies import graf_feature_names, graf_features
from gnnpred.spaces import get_space


def features(space, cell) -> dict[str, float]:
    names = graf_feature_names(space)
    row = graf_features(space, [cell])
    assert row.shape == (1, len(names))
    return dict(zip(names, row[0].tolist(), strict=True))


def assert_subsets(f: dict[str, float], expected: dict[str, tuple[int, int, int, int]]) -> None:
    """``expected`` maps op subsets to (min_path, max_path, input_degree, output_degree)."""
    for subset, values in expected.items():
        got = tuple(f[f"{k}:{subset}"] for k in ("min_path", "max_path", "input_degree",
                                                 "output_degree"))
        assert got == values, subset


def test_nb201_cell():
    space = get_space("nasbench201")
    # 1<-0 conv3, 2<-0 none, 2<-1 skip, 3<-0 pool, 3<-1 none, 3<-2 conv1: two input -> output
    # routes, input-pool-output (1 op) and input-conv3-skip-conv1-output (3 ops)
    cell = space.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+"
                             "|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")
    f = features(space, cell)
    assert [f[f"count:{o}"] for o in ("skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                      "avg_pool_3x3")] == [1, 1, 1, 1]
    assert f["edges"] == 6  # in->conv3, conv3->skip, skip->conv1, conv1->out, in->pool, pool->out
    every = "skip_connect+nor_conv_1x1+nor_conv_3x3+avg_pool_3x3"
    expected = {  # subset: (min_path, max_path, input_degree, output_degree); 7 = no path
        every: (1, 3, 2, 2),
        "avg_pool_3x3": (1, 1, 1, 1),
        "nor_conv_3x3": (7, 0, 1, 0),
        "skip_connect": (7, 0, 0, 0),
        "nor_conv_1x1": (7, 0, 0, 1),
        "skip_connect+nor_conv_1x1+nor_conv_3x3": (3, 3, 1, 1),
        "nor_conv_3x3+avg_pool_3x3": (1, 1, 2, 1),
        "skip_connect+nor_conv_3x3": (7, 0, 1, 0),
    }
    assert_subsets(f, expected)


def test_nb101_cells():
    space = get_space("nasbench101")
    # 0 input, 1 conv3x3, 2 maxpool, 3 conv1x1, 4 output; edges 0-1 0-2 1-3 2-3 3-4 1-4
    matrix = [[0, 1, 1, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0]]
    ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"]
    cell = space.make(matrix=matrix, ops=ops)
    assert cell.ops == tuple(ops)  # the features below are read off this vertex order
    f = features(space, cell)
    assert [f["count:conv3x3-bn-relu"], f["count:conv1x1-bn-relu"], f["count:maxpool3x3"],
            f["edges"]] == [1, 1, 1, 6]
    # routes: in-conv3-out (1 op), in-conv3-conv1-out (2), in-pool-conv1-out (2); 6 = no path
    expected = {
        "conv3x3-bn-relu+conv1x1-bn-relu+maxpool3x3": (1, 2, 2, 2),
        "conv3x3-bn-relu": (1, 1, 1, 1),
        "conv1x1-bn-relu": (6, 0, 0, 1),
        "maxpool3x3": (6, 0, 1, 0),
        "conv3x3-bn-relu+conv1x1-bn-relu": (1, 2, 1, 2),
        "conv1x1-bn-relu+maxpool3x3": (2, 2, 1, 1),
        "conv3x3-bn-relu+maxpool3x3": (1, 1, 2, 1),
    }
    assert_subsets(f, expected)
    # a direct input -> output edge is a path through no op at all
    short = space.make(matrix=[[0, 1, 1], [0, 0, 1], [0, 0, 0]],
                       ops=["input", "maxpool3x3", "output"])
    g = features(space, short)
    assert (g["min_path:conv3x3-bn-relu"], g["max_path:conv3x3-bn-relu"]) == (0, 0)
    assert (g["min_path:maxpool3x3"], g["max_path:maxpool3x3"]) == (0, 1)
    assert g["edges"] == 3


def test_nas_bench_graph_cell():
    space = get_space("nasbench-graph")
    # node 1 gcn <- input, node 2 sage <- 1, node 3 skip <- 1, node 4 fc <- input;
    # leaves 2, 3, 4 feed the output
    cell = space.make(link=[0, 1, 1, 0], ops=["gcn", "sage", "skip", "fc"])
    f = features(space, cell)
    counts = {o: f[f"count:{o}"] for o in space.ops}
    assert counts == {o: float(o in ("gcn", "sage", "skip", "fc")) for o in space.ops}
    assert f["edges"] == 7  # four reads and three leaves
    every = "+".join(space.ops)
    expected = {  # 5 = no path
        every: (1, 2, 2, 3),
        "fc": (1, 1, 1, 1),
        "gcn": (5, 0, 1, 0),
        "skip": (5, 0, 0, 1),
        "gat": (5, 0, 0, 0),
    }
    assert_subsets(f, expected)
    # singletons and all ops together: 9 + 1 subsets of 4 columns, after 9 counts and edges
    assert len(graf_feature_names(space)) == 9 + 1 + 10 * 4


def test_many_cells_match_one_by_one():
    space = get_space("nasbench101")
    cells = space.sample_many(20, np.random.default_rng(0))
    together = graf_features(space, cells)
    alone = np.concatenate([graf_features(space, [c]) for c in cells])
    np.testing.assert_array_equal(together, alone)


def test_other_space_is_refused():
    with pytest.raises(ValueError, match="graf_features supports.*darts"):
        graf_feature_names(get_space("darts"))
