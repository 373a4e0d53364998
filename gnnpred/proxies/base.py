"""The proxy registry: every zero-cost proxy is a function registered under a name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

# fn(network, inputs, targets, loss_fn) -> float; inputs is a tuple of tensors on the network's
# device (the network is called as network(*inputs)), targets a tensor or None.
ProxyFn = Callable[[nn.Module, tuple[Tensor, ...], "Tensor | None", Callable[..., Tensor]], float]


@dataclass(frozen=True)
class Proxy:
    """A registered zero-cost proxy.

    Attributes:
        name: Registry name.
        fn: ``fn(network, inputs, targets, loss_fn) -> float``.
        needs_data: ``True`` when the score depends on a real minibatch (and labels).
        heavy_tailed: ``True`` when scores span orders of magnitude (log them as features).
        paper: Where the proxy comes from.
    """

    name: str
    fn: ProxyFn
    needs_data: bool
    heavy_tailed: bool
    paper: str


_REGISTRY: dict[str, Proxy] = {}


def register_proxy(
    name: str, *, needs_data: bool, heavy_tailed: bool, paper: str = ""
) -> Callable[[ProxyFn], ProxyFn]:
    """Decorator registering a proxy function under ``name``.

    Args:
        name: Registry name (lower case).
        needs_data: Whether the proxy needs a real minibatch with labels.
        heavy_tailed: Whether :class:`~gnnpred.proxies.ProxyFeatures` should log-transform it.
        paper: Reference.

    Returns:
        The decorator (it returns the function unchanged).
    """

    def deco(fn: ProxyFn) -> ProxyFn:
        _REGISTRY[name] = Proxy(name, fn, needs_data, heavy_tailed, paper)
        return fn

    return deco


def get_proxy(name: str) -> Proxy:
    """The registered proxy called ``name``.

    Raises:
        ValueError: If no proxy has that name.
    """
    if name not in _REGISTRY:
        raise ValueError(f"Unknown zero-cost proxy {name!r}. Available: {available_proxies()}.")
    return _REGISTRY[name]


def available_proxies(*, data_free: bool | None = None) -> list[str]:
    """Names of the registered proxies (only the data-free ones with ``data_free=True``)."""
    return sorted(n for n, p in _REGISTRY.items() if data_free is None or p.needs_data != data_free)


def check_names(names: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate a proxy name or sequence of names; return them as a tuple."""
    if isinstance(names, str):
        names = (names,)
    if not isinstance(names, Iterable):
        raise TypeError(f"names must be a proxy name or a list of them, e.g. ('synflow', "
                        f"'params'). Got {names!r}.")
    names = tuple(names)
    if not names:
        raise ValueError("names must list at least one proxy, e.g. ('synflow', 'params').")
    for n in names:
        get_proxy(n)
    if len(set(names)) != len(names):
        raise ValueError(f"names must not repeat a proxy. Got {names!r}.")
    return names


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """Layers whose ``weight`` the gradient-based proxies score: convolutions and linear layers
    (``torch.nn`` and PyTorch Geometric's ``Linear``), as in Abdelfattah et al."""
    out = []
    for m in net.modules():
        w = getattr(m, "weight", None)
        if isinstance(w, torch.Tensor) and w.requires_grad and w.dim() >= 2 and (
            isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)) or type(m).__name__ == "Linear"
        ):
            out.append(m)
    return out


def weight_grads(net: nn.Module, inputs: tuple[torch.Tensor, ...], targets: torch.Tensor | None,
                 loss_fn) -> tuple[list[nn.Module], tuple[torch.Tensor | None, ...]]:
    """The scored layers of ``net`` and ``dL/dweight`` of each on one minibatch (``None`` where a
    layer's weight does not reach the loss)."""
    layers = weight_layers(net)
    loss = loss_fn(net(*inputs), targets)
    return layers, torch.autograd.grad(loss, [m.weight for m in layers], allow_unused=True)
