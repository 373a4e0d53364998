import numpy as np
import torch

from gnnpred import get_space
from gnnpred.models import GINEncoder, GraphRegressor, rank_regression_loss, to_dense


def test_regressor_learns_a_structural_target_with_extra_features():
    space = get_space("nasbench201")
    cells = space.sample_many(256, np.random.default_rng(0))
    g = to_dense(space.to_batch(cells), 8)
    # target: number of 3x3 convolutions, a function of the graph only
    y = torch.tensor([float(sum(o == "nor_conv_3x3" for o in c.ops)) for c in cells])
    extra = torch.randn(256, 2)
    torch.manual_seed(0)
    model = GraphRegressor(GINEncoder(g.x.shape[-1], 32, 16, num_layers=2), extra_channels=2,
                           dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(150):
        loss = rank_regression_loss(model(*g.tensors(), extra), y, 0.5)
        opt.zero_grad()
        loss.backward()
        opt.step()
    pred = model.eval()(*g.tensors(), extra).detach()
    assert pred.shape == (256,)
    assert np.corrcoef(pred.numpy(), y.numpy())[0, 1] > 0.9
