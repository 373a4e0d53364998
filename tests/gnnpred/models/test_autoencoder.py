import numpy as np
import pytest
import torch

from gnnpred import get_space
from gnnpred.models import DenseGraphs, GINEncoder, GraphAutoencoder, to_dense


@pytest.fixture(scope="module")
def nb201_graphs():
    space = get_space("nasbench201")
    cells = space.sample_many(64, np.random.default_rng(0))
    return space, to_dense(space.to_batch(cells), 8)


def test_to_dense_matches_graph(nb201_graphs):
    space, g = nb201_graphs
    assert g.x.shape == (64, 8, len(space.op_vocab)) and g.adj.shape == (64, 8, 8)
    assert g.mask.all()
    one = space.to_graph(space.sample(np.random.default_rng(3)))
    d = to_dense(space.to_batch([space.sample(np.random.default_rng(3))]), 8)
    assert torch.equal(d.x[0], one.x)
    assert int(d.adj.sum()) == one.edge_index.shape[1]
    src, dst = one.edge_index
    assert d.adj[0, src, dst].eq(1).all()


def test_to_dense_rejects_too_large_graphs(nb201_graphs):
    space, _ = nb201_graphs
    with pytest.raises(ValueError, match="at most 5"):
        to_dense(space.to_batch(space.sample_many(2, np.random.default_rng(0))), 5)


def test_encoder_is_permutation_invariant_over_batch(nb201_graphs):
    _, g = nb201_graphs
    torch.manual_seed(0)
    enc = GINEncoder(g.x.shape[-1], 16, 8, num_layers=2).eval()
    z = enc(*g.tensors())[0]
    perm = torch.randperm(len(g))
    z_perm = enc(*g[perm].tensors())[0]
    torch.testing.assert_close(z[perm], z_perm)
    assert z.shape == (64, 8)


def test_padding_does_not_change_embedding(nb201_graphs):
    _, g = nb201_graphs
    torch.manual_seed(0)
    enc = GINEncoder(g.x.shape[-1], 16, 8, num_layers=3).eval()
    pad = DenseGraphs(
        torch.nn.functional.pad(g.x, (0, 0, 0, 2)), torch.nn.functional.pad(g.adj, (0, 2, 0, 2)),
        torch.nn.functional.pad(g.mask, (0, 2)),
    )
    torch.testing.assert_close(enc(*g.tensors())[0], enc(*pad.tensors())[0])


@pytest.mark.parametrize("variational", [False, True])
def test_autoencoder_learns_to_reconstruct(nb201_graphs, variational):
    _, g = nb201_graphs
    torch.manual_seed(0)
    ae = GraphAutoencoder(g.x.shape[-1], 8, hidden_channels=32, embedding_dim=16, num_layers=3,
                          variational=variational)
    opt = torch.optim.Adam(ae.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        loss, metrics = ae.loss(*g.tensors())
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first
    assert metrics["op_acc"] > 0.8
    assert ae.variational is variational
    ae.eval()
    torch.testing.assert_close(ae.embed(*g.tensors()), ae.embed(*g.tensors()))
