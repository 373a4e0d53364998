"""score() over cells of the spaces: determinism, data, NaN reporting, real benchmark check."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from gnnpred.proxies import compute, digits_batch, score
from gnnpred.spaces import get_space

NB201 = get_space("nasbench201")
CELLS = [NB201.make(ops=ops) for ops in (
    ["nor_conv_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "nor_conv_3x3", "none"],
    ["skip_connect"] * 6,
    ["nor_conv_1x1", "none", "nor_conv_3x3", "none", "avg_pool_3x3", "nor_conv_1x1"],
)]
DEAD = NB201.make(ops=["none"] * 6)
# Small NB201 networks (4 channels, 1 cell per stage) keep the data-dependent tests fast.
SMALL = {"num_classes": 10, "channels": 4, "cells_per_stage": 1}


def test_data_free_scores_are_deterministic_and_order_free() -> None:
    a = score(NB201, CELLS, ("synflow", "params", "flops"), random_state=3, verbose=False)
    b = score(NB201, CELLS[::-1], ("synflow", "params", "flops"), random_state=3, verbose=False)
    for n in a:
        np.testing.assert_array_equal(a[n], b[n][::-1])
    c = score(NB201, CELLS, "synflow", random_state=4, verbose=False)
    assert not np.array_equal(a["synflow"], c["synflow"])  # the seed drives initialisation
    assert a["params"][1] < a["params"][0] and np.all(a["synflow"] > 0)


def test_fused_flops_equal_a_separate_forward() -> None:
    net = NB201.to_network(CELLS[0], **SMALL)
    assert compute(net, names=("synflow", "flops"))["flops"] == compute(net, names="flops")["flops"]


def test_data_dependent_proxies_on_digits() -> None:
    names = ("snip", "grasp", "fisher", "grad_norm", "jacob_cov", "naswot")
    res = score(
        NB201, CELLS[:2], names, data="digits", batch_size=8, network_kwargs=SMALL, verbose=False
    )
    for n in names:
        assert res[n].shape == (2,) and np.all(np.isfinite(res[n])), n
    x, y = digits_batch(8, 0)
    again = score(
        NB201, CELLS[:2], names, data=(x, y), batch_size=8, network_kwargs=SMALL, verbose=False
    )
    for n in names:  # "digits" with the same seed is the same batch
        np.testing.assert_allclose(again[n], res[n], rtol=1e-6)
    as_list = score(NB201, CELLS[:2], names, data=(x, y.tolist()), batch_size=8,
                    network_kwargs=SMALL, verbose=False)  # class indices as a plain list
    for n in names:
        np.testing.assert_allclose(as_list[n], res[n], rtol=1e-6)


def test_dataloader_and_random_data() -> None:
    x, y = digits_batch(16, 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    res = score(
        NB201, CELLS[:1], ("snip", "naswot"), data=loader, network_kwargs=SMALL, verbose=False
    )
    assert np.all(np.isfinite(res["snip"]))
    rnd = score(
        NB201,
        CELLS[:1],
        "grad_norm",
        data="random",
        batch_size=4,
        network_kwargs=SMALL,
        verbose=False,
    )
    assert rnd["grad_norm"][0] > 0


def test_degenerate_cells_are_reported_not_replaced() -> None:
    with pytest.warns(RuntimeWarning, match=r"synflow 0.*\|none~0\|"):
        s = score(NB201, [DEAD, CELLS[0]], "synflow", verbose=False)
    assert s["synflow"][0] == 0 and s["synflow"][1] > 0
    with pytest.warns(RuntimeWarning, match=r"non-finite jacob_cov.*\|none~0\|"):
        j = score(
            NB201,
            [DEAD],
            "jacob_cov",
            data="random",
            batch_size=4,
            network_kwargs=SMALL,
            verbose=False,
        )
    assert np.isnan(j["jacob_cov"][0])


def test_score_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="need data"):
        score(NB201, CELLS, "snip", verbose=False)
    with pytest.raises(TypeError):
        score(NB201, ["|none~0|"], "params", verbose=False)
    with pytest.raises(ValueError, match="random_state"):
        score(NB201, CELLS, "params", random_state=-1, verbose=False)
    with pytest.raises(ValueError, match="n_jobs"):
        score(NB201, CELLS, "params", n_jobs=0, verbose=False)
    for bad in (0, -5, 2.5):  # 0 used to give one zero score, -5 a torch error
        with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
            score(NB201, CELLS, "snip", data="random", batch_size=bad, verbose=False)
    with pytest.raises(ValueError, match="num_threads must be an int >= 1"):
        score(NB201, CELLS, "params", num_threads=0, verbose=False)
    with pytest.raises(TypeError, match="names must be a proxy name or a list"):
        score(NB201, CELLS, None, verbose=False)


def test_numpy_ints_and_no_cells_are_taken() -> None:
    a = score(NB201, CELLS, "params", random_state=np.int64(3), n_jobs=np.int64(1),
              verbose=False)
    np.testing.assert_array_equal(a["params"], score(NB201, CELLS, "params", random_state=3,
                                                     verbose=False)["params"])
    empty = score(NB201, [], ("snip", "params"), data="random", verbose=False)
    assert {k: v.shape for k, v in empty.items()} == {"snip": (0,), "params": (0,)}
    with pytest.raises(ValueError, match="need data"):
        score(NB201, [], "snip", verbose=False)


def test_graph_space_proxies() -> None:
    space = get_space("nasbench-graph")
    cells = [space.make(link=[0, 0, 1, 2], ops=["gcn", "gat", "skip", "sage"]),
             space.make(link=[0, 1, 2, 3], ops=["gin", "fc", "cheb", "arma"])]
    kw = {"in_channels": 6, "num_classes": 3, "hidden": 16}
    free = score(space, cells, ("synflow", "params", "flops"), network_kwargs=kw, verbose=False)
    assert np.all(free["synflow"] > 0) and np.all(free["params"] > 0)
    data = score(
        space,
        cells,
        ("snip", "naswot", "jacob_cov"),
        data="random",
        network_kwargs=kw,
        verbose=False,
    )
    assert all(np.all(np.isfinite(v)) for v in data.values())
    with pytest.raises(ValueError, match="'digits' is a batch of images; the nasbench-graph"):
        score(space, cells, "snip", data="digits", network_kwargs=kw, verbose=False)


def test_synflow_ranks_nb201_cells(nb201_csv) -> None:
    with open(nb201_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    idx = np.random.default_rng(0).choice(len(rows), 40, replace=False)
    archs = [NB201.from_string(rows[i]["arch"]) for i in idx]
    acc = np.array([float(rows[i]["test_accuracy"]) for i in idx])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s = score(NB201, archs, ("synflow", "params"), verbose=False)
    # published on all cells: synflow 0.74, params 0.71; a 40-cell sample must be clearly positive
    assert spearmanr(s["synflow"], acc)[0] > 0.5
    assert spearmanr(s["params"], acc)[0] > 0.4



def test_graph_scores_do_not_depend_on_or_move_the_global_torch_seed() -> None:
    space = get_space("nasbench-graph")
    cells = space.sample_many(3, np.random.default_rng(0))
    kw = {"in_channels": 6, "num_classes": 3, "hidden": 16}
    torch.manual_seed(1)
    a = score(space, cells, "synflow", network_kwargs=kw, verbose=False)["synflow"]
    torch.manual_seed(2)
    state = torch.get_rng_state()
    b = score(space, cells, "synflow", network_kwargs=kw, verbose=False)["synflow"]
    np.testing.assert_array_equal(a, b)  # the example graph's random edges used to follow it
    assert torch.equal(state, torch.get_rng_state())
