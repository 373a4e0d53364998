"""DARTS-space super-net: shapes, valid genotypes, exact zeros, DST, Transit == derived cell."""

import pytest
import torch

from gnnpred import get_space
from gnnpred.networks.darts import DARTSCellModule
from gnnpred.networks.darts_ops import PRIMITIVES
from gnnpred.supernets import DARTSSuperNet


def _net(algorithm="entrannas", **kw):
    torch.manual_seed(0)
    return DARTSSuperNet(algorithm=algorithm, channels=2, layers=3, **kw)


@pytest.mark.parametrize(("algorithm", "topology"),
                         [("entrannas", False), ("entrannas", True), ("darts", False)])
def test_forward_backward_shapes_and_valid_genotype(algorithm, topology):
    net = _net(algorithm, topology=topology)
    out = net(torch.randn(2, 3, 8, 8))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in net.arch_parameters()[:2])
    get_space("darts", topology=topology).validate(net.derive())


def test_layout_and_refusals():
    assert _net("darts").engine == (True, True, True)
    assert _net().engine == (True, True, False)  # first normal (0) and first reduction (1)
    with pytest.raises(ValueError, match="EnTranNAS-DST"):
        _net("darts", topology=True)
    with pytest.raises(ValueError, match="normal and a"):
        _net(engine_cells=[0])


def _sharpen(net, kind, ops_per_edge, edges_kept):
    alpha, beta = getattr(net, f"alpha_{kind}"), getattr(net, f"beta_{kind}")
    with torch.no_grad():
        alpha.zero_()
        beta.fill_(-0.2)
        for e, op in enumerate(ops_per_edge):
            alpha[e, PRIMITIVES.index(op)] = 0.2
        for e in edges_kept:
            beta[e] = 0.2


# edges into node 2: 0,1; node 3: 2,3,4; node 4: 5..8; node 5: 9..13
_OPS = ["sep_conv_3x3", "dil_conv_3x3", "skip_connect", "sep_conv_5x5", "dil_conv_5x5"] * 3
_OPS = _OPS[:14]
_KEPT = [0, 1, 2, 4, 5, 8, 10, 13]


def test_sparsification_reaches_exact_zeros_and_derives_the_support():
    net = _net()
    for kind in ("normal", "reduce"):
        _sharpen(net, kind, _OPS, _KEPT)
    assert not net.is_consistent()
    net.temperature = 0.05
    weights = net.mixing_weights()
    for w in weights.values():
        assert int((w != 0).sum()) == 8 and float(w.max()) == 1.0
    assert net.is_consistent()
    cell = net.derive()
    assert [j for node in cell.normal for _, j in node] == [0, 1, 0, 2, 0, 3, 1, 4]


def _peaks(net, kind, kept):
    """DST: a peak of 0.2 on ``_OPS``'s op of each edge in ``kept``, flat rows elsewhere."""
    alpha = getattr(net, f"alpha_{kind}")
    with torch.no_grad():
        alpha.zero_()
        for e in kept:
            alpha[e, PRIMITIVES.index(_OPS[e])] = 0.2


def test_topology_search_keeps_any_number_of_inputs():
    net = _net(topology=True)
    assert net.beta_normal.shape == (4,)  # one threshold per node
    kept = [0, 2, 3, 4, 5, 9, 10, 11, 12, 13]  # 1, 3, 1 and 5 inputs
    for kind in ("normal", "reduce"):
        _peaks(net, kind, kept)
    assert not net.is_consistent()  # at temperature 1 every candidate is above the thresholds
    net.temperature = 0.05  # a peaked edge's op: p ~ 0.9; a flat edge's: 1/7 < 0.5 * 0.9
    weights = net.mixing_weights()["normal"]
    assert int((weights != 0).sum()) == len(kept) and float(weights.max()) == 1.0
    assert net.is_consistent()
    cell = net.derive()
    assert [len(node) for node in cell.normal] == [1, 3, 1, 5]
    assert [op for node in cell.normal for op, _ in node] == [_OPS[e] for e in kept]
    get_space("darts", topology=True).validate(cell)


def test_a_higher_threshold_drops_an_input():
    net = _net(topology=True)
    _peaks(net, "normal", range(14))
    _peaks(net, "reduce", range(14))
    with torch.no_grad():
        net.alpha_normal[13, PRIMITIVES.index(_OPS[13])] = 0.1  # node 5's weakest input
    net.temperature = 0.05
    assert len(net.derive().normal[3]) == 5
    with torch.no_grad():  # t = sigmoid(2) = 0.88 > p(edge 13) / p(node max) = 0.61
        net.beta_normal[3] = 2.0
    assert [j for _, j in net.derive().normal[3]] == [0, 1, 2, 3]
    assert net.is_consistent()


def test_transit_cell_computes_the_standalone_derived_cell():
    torch.manual_seed(0)
    net = DARTSSuperNet(channels=2, layers=5)  # reductions at 1 and 3
    for kind in ("normal", "reduce"):
        _sharpen(net, kind, _OPS, _KEPT)
    net.temperature = 0.05
    genotype = net.derive()
    cell = net.cells[2]  # a normal Transit-cell after the reduction: c_pp 8 at 4x4
    assert not net.engine[2] and cell.reduction is False
    standalone = DARTSCellModule(genotype.normal, 4 * 2, 4 * 4, 4, False, True)
    standalone.preprocess0.load_state_dict(cell.preprocess0.state_dict(), strict=False)
    standalone.preprocess1.load_state_dict(cell.preprocess1.state_dict(), strict=False)
    active = [[] for _ in range(14)]
    for n, (node, into) in enumerate(zip(genotype.normal, ([0, 1], [2, 3, 4], [5, 6, 7, 8],
                                                             [9, 10, 11, 12, 13]), strict=True)):
        for k, (op, j) in enumerate(node):
            e = into[j]
            active[e] = [PRIMITIVES.index(op)]
            module = cell.dag.op_module(e, PRIMITIVES.index(op))
            standalone.ops[n][k].load_state_dict(module.state_dict(), strict=False)
    s0, s1 = torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4)
    torch.testing.assert_close(cell(s0, s1, None, active), standalone(s0, s1), rtol=0, atol=0)


def test_transit_cells_share_the_engine_cell_of_their_type_and_width():
    net = DARTSSuperNet(channels=2, layers=6)  # N N R N R N: widths 2 2 4 4 8 8
    assert net.shares == (0, 0, 2, None, None, None)  # later widths have no Engine-cell
    conv = PRIMITIVES.index("sep_conv_3x3")
    assert net.cells[1].dag.op_module(0, conv) is net.cells[0].dag.op_module(0, conv)
    assert net.cells[3].dag.op_module(0, conv) is not net.cells[0].dag.op_module(0, conv)
    every = DARTSSuperNet(channels=2, layers=6, engine_cells=[0, 2, 3, 4])
    assert every.shares == (0, 0, 2, 3, 4, None)  # cell 5 is the only normal cell at 8
    darts = DARTSSuperNet(algorithm="darts", channels=2, layers=6)
    assert darts.shares == tuple(range(6))  # all Engine-cells, nothing shared
