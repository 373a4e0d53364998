"""Scoring one network (:func:`compute`) or many cells of a space (:func:`score`)."""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnpred.proxies.base import check_names, get_proxy
from gnnpred.proxies.data import first_batch
from gnnpred.proxies.flops import count_macs

DATA_FREE = ("synflow", "params", "flops")


def _as_inputs(inputs: Tensor | Sequence[Tensor] | None) -> tuple[Tensor, ...] | None:
    if inputs is None:
        return None
    if isinstance(inputs, Tensor):
        return (inputs,)
    if isinstance(inputs, (tuple, list)) and all(isinstance(t, Tensor) for t in inputs):
        return tuple(inputs)
    raise TypeError(f"inputs must be a tensor or a tuple of tensors. Got {type(inputs).__name__}.")


def _device_of(net: nn.Module) -> torch.device:
    p = next(iter(net.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def compute(
    network: nn.Module,
    inputs: Tensor | Sequence[Tensor] | None = None,
    targets: Tensor | None = None,
    names: str | Sequence[str] = DATA_FREE,
    *,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    inplace: bool = False,
) -> dict[str, float]:
    """Zero-cost proxy scores of one untrained network.

    Args:
        network: The network, called as ``network(*inputs)``; it must return logits.
        inputs: One minibatch: a tensor, or a tuple of tensors for multi-input networks (graphs:
            ``(x, edge_index)``). Data-free proxies may go without: they then use
            ``network.example_inputs(1)`` (the networks of :mod:`gnnpred.networks` have it).
        targets: Labels of the minibatch (needed by snip, grasp, fisher, grad_norm).
        names: Proxy name(s); see :func:`~gnnpred.proxies.available_proxies`.
        loss_fn: ``loss_fn(logits, targets)``; cross-entropy by default.
        inplace: Let proxies leave the network modified (synflow then skips restoring its
            weights and dtype): faster, for networks discarded after scoring.

    Returns:
        ``{name: score}`` as Python floats (NaN/inf are returned as they are, never replaced).

    Raises:
        ValueError: If a name is unknown, or a data-dependent proxy gets no ``inputs``/``targets``.
        TypeError: If ``inputs`` is not a tensor or tuple of tensors.
    """
    names = check_names(names)
    batch = _as_inputs(inputs)
    device = _device_of(network)
    loss_fn = loss_fn or F.cross_entropy
    needs = [n for n in names if get_proxy(n).needs_data]
    if needs and batch is None:
        raise ValueError(
            f"The proxies {needs} need a minibatch: pass inputs= (and targets=), e.g. from "
            "gnnpred.proxies.digits_batch(), or use only data-free proxies "
            "(synflow, params, flops)."
        )
    label_free = {"jacob_cov", "naswot"}
    if targets is None and any(n not in label_free for n in needs):
        raise ValueError(
            f"The proxies {[n for n in needs if n not in label_free]} need targets= (labels)."
        )
    if batch is None:
        example = getattr(network, "example_inputs", None)
        if example is None:
            raise ValueError(
                f"{type(network).__name__} has no example_inputs(); pass inputs= to compute "
                f"data-free proxies {list(names)} (only their shape matters)."
            )
        # a fixed draw, off the global random state: only the shape matters, except for a
        # graph's random edges, which then stay the same from call to call
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            batch = tuple(example(1))
    batch = tuple(t.to(device) for t in batch)
    if targets is not None:
        targets = torch.as_tensor(targets).to(device)
    fused = "synflow" in names and "flops" in names  # count MACs during synflow's forward pass
    res = {n: get_proxy(n).fn(network, batch, targets, loss_fn) for n in names
           if n != "synflow" and not (fused and n == "flops")}
    if "synflow" in names:  # last, so that it may leave the network modified when inplace
        with count_macs(network) as macs:
            res["synflow"] = get_proxy("synflow").fn(
                network, batch, targets, loss_fn, restore=not inplace
            )
        if fused:
            res["flops"] = float(macs[0])
    return {n: res[n] for n in names}


def default_network_kwargs(space: Any) -> dict[str, Any]:
    """``to_network`` keyword arguments used when none are given: ``{"num_classes": 10}``
    (CIFAR-10) for image spaces; the benchmark's Cora network (1433 features, 7 classes, width
    256, one post-processing layer) for NAS-Bench-Graph."""
    if getattr(space, "name", "") == "nasbench-graph":
        from gnnpred.networks.nasbench_graph import DATASET_SETTINGS

        in_channels, num_classes, hidden, num_post = DATASET_SETTINGS["cora"]
        return {
            "in_channels": in_channels,
            "num_classes": num_classes,
            "hidden": hidden,
            "num_post": num_post,
        }
    return {"num_classes": 10}


def cell_seed(space: Any, arch: Any, random_state: int) -> int:
    """A seed for one cell's network initialisation, stable across runs and orderings."""
    return zlib.crc32(f"{int(random_state)}|{space.to_string(arch)}".encode())


def build_network(space: Any, arch: Any, seed: int, network_kwargs: dict[str, Any]) -> nn.Module:
    """``space.to_network(arch, **network_kwargs)`` initialised from ``seed`` (the global torch
    RNG state is saved and restored around the construction)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return space.to_network(arch, **network_kwargs)


def score(
    space: Any,
    archs: Sequence[Any],
    names: str | Sequence[str] = DATA_FREE,
    data: Any = None,
    batch_size: int = 64,
    device: str | torch.device = "auto",
    random_state: int = 0,
    *,
    network_kwargs: dict[str, Any] | None = None,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    num_threads: int | None = None,
    n_jobs: int = 1,
    verbose: bool = True,
) -> dict[str, np.ndarray]:
    """Zero-cost proxy scores of many cells of a search space.

    Each cell's network comes from ``space.to_network(arch, **network_kwargs)``, initialised from
    a seed derived from ``random_state`` and the cell (so a cell's score does not depend on which
    other cells are scored, or in which order).

    Args:
        space: A :class:`~gnnpred.spaces.SearchSpace`.
        archs: Cells of that space.
        names: Proxy name(s).
        data: Minibatch for data-dependent proxies: an ``(inputs, targets)`` pair, an iterable of
            batches such as a ``DataLoader`` (first batch used), ``"digits"`` (scikit-learn's
            bundled digits resized to 32x32x3, see :func:`digits_batch`) or ``"random"``
            (standard-normal inputs shaped like the network's ``example_inputs`` and random labels
            over ``num_classes``). Not needed for synflow, params and flops.
        batch_size: Rows of the minibatch used.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        random_state: Seed (int) of network initialisation and of ``"digits"``/``"random"`` data.
        network_kwargs: Passed to ``space.to_network``; default :func:`default_network_kwargs`
            (CIFAR-10 classes for image spaces, Cora's sizes for NAS-Bench-Graph).
        loss_fn: ``loss_fn(logits, targets)``; cross-entropy by default.
        num_threads: ``torch.set_num_threads`` during scoring (restored after). Default: 1 on CPU
            when only data-free proxies are asked for (batch-1 networks gain nothing from more
            threads, and oversubscribed cores are very slow), else unchanged. Worker processes
            always use 1 thread.
        n_jobs: Worker processes (``spawn``ed; worth it from a few hundred cells on CPU, where
            batch-1 networks use one core poorly). ``space``, ``data`` and ``loss_fn`` must then
            be picklable.
        verbose: Show a progress bar.

    Returns:
        ``{name: float64 array [len(archs)]}`` aligned with ``archs``.

    Raises:
        ValueError: On unknown names, or data-dependent proxies without ``data``.

    Warns:
        RuntimeWarning: Naming the cells whose score is NaN or infinite (kept as they are), and
            the cells whose synflow is 0 (networks whose output does not depend on the input,
            e.g. NAS-Bench-201 cells cut off by ``none`` edges).
    """
    from tqdm.auto import tqdm

    from gnnpred._common import check_int, resolve_device

    names = check_names(names)
    archs = space.check_archs(archs)
    random_state = check_int("random_state", random_state, 0)
    batch_size = check_int("batch_size", batch_size, 1)
    n_jobs = check_int("n_jobs", n_jobs, 1)
    if num_threads is not None:
        num_threads = check_int("num_threads", num_threads, 1)
    dev = resolve_device(device)
    kwargs = default_network_kwargs(space) if network_kwargs is None else dict(network_kwargs)
    needs_data = [n for n in names if get_proxy(n).needs_data]
    if needs_data and data is None:
        raise ValueError(
            f"The proxies {needs_data} need data=: an (inputs, targets) pair, a DataLoader, "
            "'digits' or 'random'."
        )
    if not archs:
        return {n: np.empty(0) for n in names}
    batch = targets = None
    if needs_data:
        batch, targets = _resolve_data(space, archs, data, batch_size, random_state, kwargs)
    job = (space, names, batch, targets, random_state, kwargs, loss_fn, str(dev))
    bar = tqdm(total=len(archs), desc="zero-cost proxies", disable=not verbose)
    old_threads = torch.get_num_threads()
    try:
        if n_jobs == 1 or len(archs) < 2 * n_jobs:
            if num_threads is None and dev.type == "cpu" and not needs_data:
                num_threads = 1
            if num_threads is not None:
                torch.set_num_threads(int(num_threads))
            table = _score_cells(job, archs, bar.update)
        else:
            table = _score_parallel(job, archs, n_jobs, bar.update)
    finally:
        torch.set_num_threads(old_threads)
        bar.close()
    out = {n: table[:, j].copy() for j, n in enumerate(names)}
    report_degenerate(space, archs, out)
    return out


def _score_cells(
    job: tuple, archs: Sequence[Any], progress: Callable[[int], Any] | None = None
) -> np.ndarray:
    """Scores ``[len(archs), len(names)]`` of cells, one fresh network each."""
    space, names, batch, targets, random_state, kwargs, loss_fn, dev = job
    table = np.empty((len(archs), len(names)), dtype=np.float64)
    for i, arch in enumerate(archs):
        net = build_network(space, arch, cell_seed(space, arch, random_state), kwargs).to(dev)
        res = compute(net, batch, targets, names, loss_fn=loss_fn, inplace=True)
        table[i] = [res[n] for n in names]
        if progress is not None:
            progress(1)
    return table


def _worker_init() -> None:
    torch.set_num_threads(1)


def _score_parallel(
    job: tuple, archs: list, n_jobs: int, progress: Callable[[int], Any]
) -> np.ndarray:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    size = max(1, min(64, len(archs) // (4 * n_jobs)))
    chunks = [archs[i:i + size] for i in range(0, len(archs), size)]
    with ProcessPoolExecutor(
        n_jobs, mp_context=mp.get_context("spawn"), initializer=_worker_init
    ) as pool:
        futures = [pool.submit(_score_cells, job, c) for c in chunks]
        parts = []
        for f, c in zip(futures, chunks, strict=True):
            parts.append(f.result())
            progress(len(c))
    return np.concatenate(parts, axis=0)


def _resolve_data(space: Any, archs: list, data: Any, batch_size: int, random_state: int,
                  kwargs: dict[str, Any]) -> tuple[tuple[Tensor, ...], Tensor | None]:
    from gnnpred.proxies.data import digits_batch

    if isinstance(data, str):
        if data == "digits":
            example = getattr(build_network(space, archs[0], 0, kwargs), "example_inputs", None)
            if example is not None and len(tuple(example(1))) != 1:
                raise ValueError(f"data='digits' is a batch of images; the {space.name} "
                                 "networks take graphs. Use data='random' or your own graph "
                                 "batch.")
            x, y = digits_batch(batch_size, random_state)
            return (x,), y
        if data == "random":
            net = build_network(space, archs[0], 0, kwargs)
            gen = torch.Generator().manual_seed(int(random_state))
            inputs = tuple(net.example_inputs(batch_size, generator=gen))
            num_classes = int(kwargs.get("num_classes", getattr(net, "num_classes", 10)))
            y = torch.randint(0, num_classes, (inputs[0].shape[0],), generator=gen)
            return inputs, y
        raise ValueError(f"data must be 'digits', 'random', a batch or a DataLoader. Got {data!r}.")
    return first_batch(data, batch_size)


def report_degenerate(
    space: Any, archs: Sequence[Any], scores: dict[str, np.ndarray], limit: int = 5
) -> None:
    """Warn (RuntimeWarning) naming cells with non-finite scores, and cells with zero synflow."""
    for name, values in scores.items():
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            shown = ", ".join(space.to_string(archs[i]) for i in bad[:limit])
            warnings.warn(
                f"{bad.size} of {len(values)} cells have a non-finite {name} score "
                "(kept as NaN/inf; "
                f"drop or impute them before use), e.g. {shown}.",
                RuntimeWarning,
                stacklevel=3,
            )
        if name == "synflow":
            zero = np.flatnonzero(values == 0)
            if zero.size:
                shown = ", ".join(space.to_string(archs[i]) for i in zero[:limit])
                warnings.warn(
                    f"{zero.size} of {len(values)} cells have synflow 0: "
                    "their network's output does "
                    f"not depend on its input (e.g. a cell cut off by 'none' edges), e.g. {shown}.",
                    RuntimeWarning,
                    stacklevel=3,
                )




