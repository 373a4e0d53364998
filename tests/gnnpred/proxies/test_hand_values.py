"""Every proxy on a tiny network against a value computed by hand (NumPy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gnnpred.proxies import available_proxies, compute


def make_mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2, bias=False))


def batch(n: int = 6, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g), torch.randint(0, 2, (n,), generator=g)


def arrays(net: nn.Sequential) -> tuple[np.ndarray, np.ndarray]:
    return net[0].weight.detach().double().numpy(), net[2].weight.detach().double().numpy()


def grads_by_hand(net, x, y):
    """Cross-entropy (mean) gradients of the 2-layer ReLU MLP, and its pieces."""
    w, v = arrays(net)
    x, y = x.double().numpy(), y.numpy()
    h = x @ w.T
    a = np.maximum(h, 0)
    z = a @ v.T
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(2)[y]) / len(x)
    gv = dz.T @ a
    dh = (dz @ v) * (h > 0)
    gw = dh.T @ x
    return w, v, x, h, a, z, p, dz, dh, gw, gv


def test_registry_lists_the_nine_proxies() -> None:
    assert available_proxies() == sorted(
        [
            "synflow",
            "snip",
            "grasp",
            "fisher",
            "grad_norm",
            "jacob_cov",
            "naswot",
            "params",
            "flops",
        ]
    )
    assert available_proxies(data_free=True) == ["flops", "params", "synflow"]


def test_params_and_flops() -> None:
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(32, 5))
    res = compute(net, torch.randn(4, 1, 4, 4), names=("params", "flops"))
    assert res["params"] == (2 * 9 + 2) + (32 * 5 + 5)
    assert (
        res["flops"] == 2 * 16 * 9 + 32 * 5
    )  # per sample: conv outputs x (1*3*3), linear outputs x 32


def test_synflow_equals_twice_the_abs_network_output_and_restores_weights() -> None:
    net = make_mlp()
    w, v = arrays(net)
    # all-positive weights and input: ReLU is the identity and R = 1^T |V| |W| 1; each layer's
    # sum of theta * dR/dtheta is R itself, so synflow = 2 R.
    expected = 2 * np.abs(v).sum(0) @ np.abs(w).sum(1)
    before = [p.detach().clone() for p in net.parameters()]
    got = compute(net, torch.randn(5, 3), names="synflow")["synflow"]
    assert got == pytest.approx(expected, rel=1e-12)
    assert all(
        torch.equal(a, b) and b.dtype == torch.float32
        for a, b in zip(before, net.parameters(), strict=True)
    )


def test_synflow_bypasses_batchnorm() -> None:
    plain = make_mlp()
    with_bn = nn.Sequential(plain[0], nn.BatchNorm1d(4), plain[1], plain[2])
    with torch.no_grad():
        with_bn[1].weight.fill_(3.0)
        with_bn[1].bias.fill_(-2.0)
    x = torch.randn(5, 3)
    assert compute(with_bn, x, names="synflow")["synflow"] == pytest.approx(
        compute(plain, x, names="synflow")["synflow"], rel=1e-12)


def test_snip_grad_norm_and_grasp_by_hand() -> None:
    net = make_mlp()
    x, y = batch()
    w, v, xa, h, a, z, p, dz, dh, gw, gv = grads_by_hand(net, x, y)
    res = compute(net, x, y, ("snip", "grad_norm", "grasp"))
    assert res["snip"] == pytest.approx(np.abs(w * gw).sum() + np.abs(v * gv).sum(), rel=1e-5)
    assert res["grad_norm"] == pytest.approx(np.linalg.norm(gw) + np.linalg.norm(gv), rel=1e-5)
    # grasp: -theta . (H g) with H g the directional derivative of the gradient along g,
    # here by central differences of the hand-written gradient (ReLU pattern is locally fixed).
    eps = 1e-5

    def grad_at(w2, v2):
        m = make_mlp().double()
        with torch.no_grad():
            m[0].weight.copy_(torch.from_numpy(w2))
            m[2].weight.copy_(torch.from_numpy(v2))
        return grads_by_hand(m, x.double(), y)[9:11]

    gw_p, gv_p = grad_at(w + eps * gw, v + eps * gv)
    gw_m, gv_m = grad_at(w - eps * gw, v - eps * gv)
    hg_w, hg_v = (gw_p - gw_m) / (2 * eps), (gv_p - gv_m) / (2 * eps)
    assert res["grasp"] == pytest.approx(-(w * hg_w).sum() - (v * hg_v).sum(), rel=1e-4)


def test_fisher_by_hand() -> None:
    net = make_mlp()
    x, y = batch()
    w, v, xa, h, a, z, p, dz, dh, gw, gv = grads_by_hand(net, x, y)
    # per layer output activation act and dL/dact: layer 1 -> (h, dL/dh), layer 2 -> (z, dz)
    dl_dh = (dz @ v) * (h > 0)
    expected = 0.5 * ((h * dl_dh) ** 2).mean(0).sum() + 0.5 * ((z * dz) ** 2).mean(0).sum()
    assert compute(net, x, y, "fisher")["fisher"] == pytest.approx(expected, rel=1e-5)


def test_jacob_cov_by_hand() -> None:
    net = make_mlp()
    x, _ = batch(8)
    w, v = arrays(net)
    h = x.double().numpy() @ w.T
    jac = ((h > 0) * v.sum(0)) @ w  # d(sum of outputs)/dx per sample
    eig = np.linalg.eigvalsh(np.corrcoef(jac))
    expected = -np.sum(np.log(eig + 1e-5) + 1 / (eig + 1e-5))
    assert compute(net, x, names="jacob_cov")["jacob_cov"] == pytest.approx(expected, rel=1e-4)


def test_naswot_by_hand() -> None:
    net = make_mlp()
    x, _ = batch(5)
    w, _ = arrays(net)
    c = (x.double().numpy() @ w.T > 0).astype(float)
    k = c @ c.T + (1 - c) @ (1 - c).T
    assert compute(net, x, names="naswot")["naswot"] == pytest.approx(
        np.linalg.slogdet(k)[1], rel=1e-9
    )


def test_compute_checks_its_arguments() -> None:
    net = make_mlp()
    with pytest.raises(ValueError, match="need a minibatch"):
        compute(net, names="snip")
    with pytest.raises(ValueError, match="need targets"):
        compute(net, torch.randn(4, 3), names="snip")
    with pytest.raises(ValueError, match="Unknown zero-cost proxy"):
        compute(net, torch.randn(4, 3), names="zen")
    with pytest.raises(ValueError, match="example_inputs"):
        compute(net, names="synflow")
    with pytest.raises(ValueError, match="at least 2"):
        compute(net, torch.randn(1, 3), names="jacob_cov")


def test_loss_fn_is_used() -> None:
    net = make_mlp()
    x, y = batch()
    a = compute(net, x, y, "grad_norm")["grad_norm"]
    b = compute(net, x, y, "grad_norm", loss_fn=lambda out, t: 2 * F.cross_entropy(out, t))[
        "grad_norm"
    ]
    assert b == pytest.approx(2 * a, rel=1e-6)


def test_compute_leaves_batchnorm_statistics_and_modes_alone() -> None:
    net = nn.Sequential(
        nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2)
    ).eval()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = batch()
    compute(
        net,
        x,
        y,
        ("snip", "grasp", "fisher", "grad_norm", "jacob_cov", "naswot", "synflow", "flops"),
    )
    assert not net.training and not any(m.training for m in net.modules())
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k
