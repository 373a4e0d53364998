import torch
from torch import nn

from gnnpred.models.optim import adamw


def test_adamw_is_fused_on_cpu_and_keeps_param_groups():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    groups = [{"params": net[0].parameters(), "lr": 0.1},
              {"params": net[1].parameters(), "lr": 0.2}]
    opt = adamw(groups, lr=0.5, weight_decay=0.01)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.2]
    assert [len(g["params"]) for g in opt.param_groups] == [2, 2]  # generators were materialised
    assert all(g["fused"] and g["weight_decay"] == 0.01 for g in opt.param_groups)


def test_adamw_matches_the_unfused_update():
    torch.manual_seed(0)
    a = nn.Linear(5, 1)
    b = nn.Linear(5, 1)
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(16, 5), torch.randn(16, 1)
    fused = adamw(a.parameters(), lr=1e-2, weight_decay=1e-3)
    plain = torch.optim.AdamW(b.parameters(), lr=1e-2, weight_decay=1e-3)
    for net, opt in ((a, fused), (b, plain)):
        for _ in range(5):
            opt.zero_grad()
            nn.functional.mse_loss(net(x), y).backward()
            opt.step()
    assert not torch.equal(a.weight, torch.zeros_like(a.weight))
    torch.testing.assert_close(a.weight, b.weight, rtol=1e-5, atol=1e-6)
