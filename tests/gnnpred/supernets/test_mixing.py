"""Sparse architecture weights: sums, exact zeros, gradients."""

import pytest
import torch

from gnnpred.supernets import capped_simplex, sparsemax
from gnnpred.supernets.mixing import node_threshold


@pytest.mark.parametrize("k", [1.0, 2.0, 2.5])
def test_capped_simplex_is_a_projection_with_the_asked_sum(k):
    z = torch.randn(5, 7, generator=torch.Generator().manual_seed(0))
    w = capped_simplex(z, k)
    torch.testing.assert_close(w.sum(dim=-1), torch.full((5,), k))
    assert bool(((w >= 0) & (w <= 1)).all())
    # the order of the scores is kept
    assert bool((w.argmax(dim=-1) == z.argmax(dim=-1)).all())


def test_separated_scores_give_exact_zeros_and_ones():
    z = torch.tensor([[0.0, 0.3, 0.1, 0.25]]) / 0.01  # a low temperature
    w = capped_simplex(z, 2.0)
    assert w.tolist() == [[0.0, 1.0, 0.0, 1.0]]
    assert sparsemax(z).tolist() == [[0.0, 1.0, 0.0, 0.0]]


def test_close_scores_keep_every_candidate_and_pass_gradients():
    z = (1e-3 * torch.randn(4, 5, generator=torch.Generator().manual_seed(1))).requires_grad_()
    w = sparsemax(z)
    assert bool((w > 0).all())  # near-uniform at the start of a search, as DARTS mixes
    (w * torch.arange(5.0)).sum().backward()
    assert z.grad is not None and float(z.grad.abs().sum()) > 0


def test_budget_gradient_flows_to_a_tensor_k():
    k = torch.tensor(1.5, requires_grad=True)
    w = capped_simplex(torch.tensor([0.0, 0.1, 0.2, 0.3]), k)
    (w * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert k.grad is not None and float(k.grad) != 0


@pytest.mark.parametrize("k", [0.0, 5.0, -1.0])
def test_out_of_range_budget_is_refused(k):
    with pytest.raises(ValueError, match="k must be in"):
        capped_simplex(torch.zeros(2, 4), k)


def test_node_threshold_is_the_papers_dst_weights():
    # node 0 takes edges 0 and 1, node 1 edge 2; thresholds 0.4 and 0.5
    p = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.25, 0.25]])
    beta = torch.logit(torch.tensor([0.4, 0.5])).requires_grad_()
    w = node_threshold(p, [[0, 1], [2]], beta)
    # relu(p / 0.6 - 0.4) = [0.6, 0.1, 0], [0, 0, 0.6]; relu(p / 0.5 - 0.5) = [0.5, 0, 0]
    expected = torch.tensor([[6 / 7, 1 / 7, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    torch.testing.assert_close(w, expected)
    assert int((w == 0).sum()) == 5  # exact zeros, not small values
    (w[0, 0] * 2).backward()  # a threshold moves the weights of an edge with two survivors
    assert float(beta.grad[0]) != 0 and float(beta.grad[1]) == 0


def test_an_edge_below_the_threshold_is_absent():
    p = torch.tensor([[0.9, 0.1], [0.3, 0.3]])
    w = node_threshold(p, [[0, 1]], torch.tensor([0.0]))  # t = 0.5 > 0.3 / 0.9
    assert w.tolist() == [[1.0, 0.0], [0.0, 0.0]]
