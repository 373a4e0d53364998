import numpy as np
import torch

from gnnpred.models import KNNGCN, MeanAdjacency, pairwise_ranking_loss, rank_regression_loss
from gnnpred.similarity import knn


def _problem(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.normal(size=(n, 4)), dtype=torch.float32)
    y = x[:, 0] + 0.5 * torch.sin(3 * x[:, 1])
    nbr, _ = knn(x, x, 5, exclude_self=True, device="cpu")
    return x, y, nbr


def test_mean_adjacency_matches_gather_and_its_gradient():
    x, _, nbr = _problem(50)
    h = torch.randn(50, 7, requires_grad=True)
    adj = MeanAdjacency(nbr, 50)
    out = adj(h)
    torch.testing.assert_close(out, h[nbr].mean(1))
    (out * torch.arange(7.0)).sum().backward()
    g1 = h.grad.clone()
    h.grad = None
    (h[nbr].mean(1) * torch.arange(7.0)).sum().backward()
    torch.testing.assert_close(g1, h.grad)


def test_inductive_prediction_equals_transductive_for_same_neighbours():
    x, _, nbr = _problem(80)
    torch.manual_seed(0)
    model = KNNGCN(4, 16, num_layers=2).eval()
    out, states = model(x, nbr, return_states=True)
    with torch.no_grad():
        new = model.predict_new(x[:10], nbr[:10], states)
    torch.testing.assert_close(new, out[:10].detach())


def test_gcn_fits_labelled_nodes_and_generalises():
    x, y, nbr = _problem(400)
    torch.manual_seed(0)
    model = KNNGCN(4, 32, num_layers=2, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    train = torch.arange(0, 400, 4)
    adj = MeanAdjacency(nbr, 400)
    for _ in range(200):
        loss = rank_regression_loss(model(x, adj)[train], y[train])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    pred = model(x, adj).detach()
    test = torch.ones(400, dtype=torch.bool)
    test[train] = False
    corr = np.corrcoef(pred[test].numpy(), y[test].numpy())[0, 1]
    assert corr > 0.8


def test_pairwise_ranking_loss_rewards_order():
    y = torch.tensor([1.0, 2.0, 3.0])
    good = pairwise_ranking_loss(torch.tensor([0.0, 5.0, 10.0]), y)
    bad = pairwise_ranking_loss(torch.tensor([10.0, 5.0, 0.0]), y)
    assert good < 0.01 < 5 < bad
    assert pairwise_ranking_loss(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 3.0])) == 0
    # sampled-pair mode for large inputs still ranks correctly
    big = torch.arange(400.0)
    ordered = pairwise_ranking_loss(big, big, max_pairs=1000)
    assert ordered < pairwise_ranking_loss(-big, big, max_pairs=1000)
    w = torch.ones(3)
    torch.testing.assert_close(rank_regression_loss(y, y, 1.0, w),
                               torch.tensor(pairwise_ranking_loss(y, y).item()))


def test_receptive_plan_gives_the_full_forward_values():
    from gnnpred.models import ReceptivePlan

    x, _, nbr = _problem(200)
    torch.manual_seed(0)
    model = KNNGCN(4, 16, num_layers=3).eval()
    targets = torch.tensor([5, 17, 5, 199, 0])  # duplicates and any order
    plan = ReceptivePlan(nbr, targets, 3)
    torch.testing.assert_close(model.forward_plan(x, plan), model(x, nbr)[targets])
