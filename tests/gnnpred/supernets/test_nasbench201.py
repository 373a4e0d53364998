"""NAS-Bench-201 super-net: shapes, sparsification, Transit-cell == standalone derived cell."""

import pytest
import torch

from gnnpred import get_space
from gnnpred.networks.nasbench201 import NB201_OPS, CellModule
from gnnpred.supernets import NB201SuperNet


def _net(algorithm, **kw):
    torch.manual_seed(0)
    return NB201SuperNet(algorithm=algorithm, channels=4, cells_per_stage=2, **kw)


def _select(net, ops):
    """Give each edge's architecture parameters a row of 5 on its op of ``ops`` (EnTranNAS:
    a flat row for ``none``, whose operations then fall below the node's threshold)."""
    with torch.no_grad():
        net.alpha.copy_(torch.stack([5 * torch.eye(5)[NB201_OPS.index(o)] for o in ops]))


def _copy_edges(search_cell, cell, ops):
    """Load the weights of ``ops`` in ``search_cell`` into the standalone ``cell``."""
    edges = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # the official edge order
    for e, ((src, dst), name) in enumerate(zip(edges, ops, strict=True)):
        if name != "none":
            module = search_cell.op_module(e, NB201_OPS.index(name))
            cell.edges[f"{dst}<-{src}"].load_state_dict(module.state_dict())


@pytest.mark.parametrize("algorithm", ["entrannas", "darts"])
def test_forward_backward_shapes_and_valid_derivation(algorithm):
    net = _net(algorithm)
    out = net(torch.randn(3, 3, 8, 8))
    assert out.shape == (3, 10)
    out.sum().backward()
    assert net.alpha.grad is not None and float(net.alpha.grad.abs().sum()) > 0
    assert all(p.grad is not None for p in net.stem.parameters())
    get_space("nasbench201").validate(net.derive())


def test_engine_and_transit_layout():
    assert _net("darts").engine == (True,) * 6
    assert _net("entrannas").engine == (True, False, True, False, True, False)
    with pytest.raises(ValueError, match="every cell as an Engine-cell"):
        _net("darts", engine_cells=[0])


def test_feature_sharing_builds_one_module_per_source_and_op():
    shared = _net("entrannas").searchable_cells()[0]
    separate = _net("darts").searchable_cells()[0]
    assert len(shared.ops) == 3 * 4 and len(separate.ops) == 6 * 4
    assert shared.op_module(0, 3) is shared.op_module(1, 3)  # 1<-0 and 2<-0 share the conv


def test_sparsification_reaches_exact_zeros_and_matches_the_derived_cell():
    net = _net("entrannas")
    with torch.no_grad():
        net.alpha.copy_(torch.tensor([[0.0, 0.2, 0.1, 0.5, 0.0]] * 6))
    assert not net.is_consistent()  # at temperature 1 every op still mixes
    net.temperature = 0.05
    weights = net.mixing_weights()["cell"]
    assert int((weights != 0).sum()) == 6 and int((weights == 0).sum()) == 24
    assert net.is_consistent()
    assert net.derive().ops == ("nor_conv_3x3",) * 6


def test_transit_cell_computes_the_standalone_derived_cell():
    net = _net("entrannas")
    ops = ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "none", "nor_conv_3x3",
           "avg_pool_3x3")
    _select(net, ops)
    assert net.derive().ops == ops
    engine, transit = net.searchable_cells()[:2]
    assert net.engine[:2] == (True, False) and net.shares[1] == 0
    standalone = CellModule(ops, 4)
    _copy_edges(engine, standalone, ops)  # the Engine-cell's weights, which the Transit runs
    x = torch.randn(2, 4, 8, 8)
    active = [[NB201_OPS.index(o)] for o in ops]
    torch.testing.assert_close(transit([x], None, active), standalone(x), rtol=0, atol=0)


def test_transit_cells_run_the_parameters_of_their_stage_engine_cell():
    net = _net("entrannas")
    assert net.shares == (0, 0, 2, 2, 4, 4)  # two cells per stage, the first an Engine-cell
    cells = net.searchable_cells()
    conv = NB201_OPS.index("nor_conv_3x3")
    engine_conv, transit_conv = cells[2].op_module(0, conv), cells[3].op_module(0, conv)
    assert transit_conv is engine_conv
    assert cells[1].op_module(0, conv) is not engine_conv  # another stage, another width
    # a weight step through the Transit-cell alone moves the Engine-cell's parameters
    before = [p.detach().clone() for p in cells[2].parameters()]
    opt = torch.optim.SGD(cells[3].parameters(), lr=0.1)
    cells[3]([torch.randn(2, 8, 4, 4)], None, [[conv]] * 6).square().mean().backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, cells[2].parameters(), strict=True))
    # shared once: the super-net counts (and its optimiser steps) each parameter one time
    own = NB201SuperNet(algorithm="entrannas", channels=4, cells_per_stage=2,
                        engine_cells=range(6))
    transit = sum(p.numel() for i in (1, 3, 5) for p in own.searchable_cells()[i].parameters())
    assert sum(p.numel() for p in own.weight_parameters()) - sum(
        p.numel() for p in net.weight_parameters()) == transit > 0


def test_consistent_supernet_equals_the_derived_network_with_its_weights():
    """Once sparse, Engine- and Transit-cells together compute the derived network."""
    from gnnpred.networks import NB201Network

    net = _net("entrannas")
    ops = ("nor_conv_1x1", "nor_conv_3x3", "skip_connect", "avg_pool_3x3", "none",
           "nor_conv_3x3")
    _select(net, ops)
    net.temperature = 0.1
    assert net.is_consistent() and net.derive().ops == ops
    target = NB201Network(ops, 10, channels=4, cells_per_stage=2)
    cells = iter(net.searchable_cells())
    for layer in target.cells:
        if isinstance(layer, CellModule):
            _copy_edges(next(cells), layer, ops)
    reductions = [m for m in net.layers if not hasattr(m, "op_module")]
    for mine, theirs in zip(reductions, [m for m in target.cells if not isinstance(m, CellModule)],
                            strict=True):
        theirs.load_state_dict(mine.state_dict())
    for name in ("stem", "lastact", "classifier"):
        getattr(target, name).load_state_dict(getattr(net, name).state_dict())
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(net(x), target(x))
