"""One call that runs a one-shot search: :func:`oneshot_search` (EnTranNAS or DARTS).

EnTranNAS: Yang, You et al., CVPR 2021, https://arxiv.org/abs/2101.11342. DARTS (first order):
Liu, Simonyan & Yang, ICLR 2019, https://arxiv.org/abs/1806.09055. The super-net of the space is
built under ``seed`` and trained by :class:`~gnnpred.supernets.module.OneShotModule` on the data
module (digits by default); after each epoch its record (architecture weights, derived cell) goes
to ``on_epoch`` and the checkpoint, so that a killed search continues from its last finished
epoch. Cost per epoch: one architecture and one weight step per training batch, each a forward
and backward pass of the super-net.

Example:
    >>> from gnnpred.supernets import oneshot_search
    >>> result = oneshot_search("nasbench201", "entrannas", epochs=1,
    ...                         channels=8, cells=1)  # doctest: +SKIP
    >>> result.arch_string  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch

from gnnpred.spaces.base import resolve_name
from gnnpred.supernets.base import SuperNet, check_algorithm, check_positive_int
from gnnpred.supernets.darts import DARTSSuperNet
from gnnpred.supernets.module import OneShotModule, load_checkpoint, run
from gnnpred.supernets.nasbench201 import NB201SuperNet

__all__ = ["OneShotResult", "build_supernet", "oneshot_search"]

#: Spaces with a super-net.
SPACES: tuple[str, ...] = ("nasbench201", "darts")


@dataclass(frozen=True)
class OneShotResult:
    """Outcome of :func:`oneshot_search`.

    Attributes:
        space: Canonical space name.
        algorithm: ``"entrannas"`` or ``"darts"``.
        arch: The cell derived after the last epoch (a value of the space).
        arch_string: Its string form (NB201: the official string; DARTS: ``Genotype(...)``).
        consistent: Whether it is exactly what the Engine-cells compute.
        history: One record per epoch (:meth:`OneShotModule.record`), resumed ones included.
        supernet: The trained super-net.
        seconds: Wall time of this call.
    """

    space: str
    algorithm: str
    arch: Any
    arch_string: str
    consistent: bool
    history: list[dict[str, Any]]
    supernet: SuperNet
    seconds: float


def build_supernet(space_name: str, algorithm: str, *, channels: int | None = None,
                   cells: int | None = None, topology: bool = False,
                   **network_kwargs: int) -> SuperNet:
    """The super-net of a space.

    Args:
        space_name: ``"nasbench201"`` or ``"darts"`` (any accepted alias).
        algorithm: ``"entrannas"`` or ``"darts"``.
        channels: First-stage width (16 when ``None``).
        cells: NB201: cells per stage (5); DARTS: cells in all (8).
        topology: DARTS space: EnTranNAS-DST (any number of inputs per node).
        **network_kwargs: ``num_classes`` and ``in_channels`` (``datamodule.network_kwargs()``).

    Raises:
        ValueError: If the space has no super-net or an argument is invalid.
    """
    name = resolve_name(space_name)
    if name not in SPACES:
        raise ValueError(f"No super-net for the space {space_name!r}; one-shot search supports "
                         f"{SPACES}.")
    if name == "nasbench201":
        if topology:
            raise ValueError("topology=True applies to the DARTS space only.")
        return NB201SuperNet(algorithm=algorithm, channels=channels or 16,
                             cells_per_stage=cells or 5, **network_kwargs)
    return DARTSSuperNet(algorithm=algorithm, topology=topology, channels=channels or 16,
                         layers=cells or 8, **network_kwargs)


def oneshot_search(
    space_name: str,
    algorithm: str = "entrannas",
    datamodule: L.LightningDataModule | None = None,
    *,
    epochs: int,
    channels: int | None = None,
    cells: int | None = None,
    topology: bool = False,
    seed: int = 0,
    device: str | torch.device = "auto",
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = False,
    steps_per_epoch: int | None = None,
    lr: float = 0.025,
    arch_lr: float = 3e-4,
    temperature: float = 1.0,
    final_temperature: float = 0.05,
) -> OneShotResult:
    """Search a cell with EnTranNAS or first-order DARTS.

    Args:
        space_name: ``"nasbench201"`` or ``"darts"``.
        algorithm: ``"entrannas"`` or ``"darts"``.
        datamodule: Image data module (:class:`gnnpred.training.DigitsDataModule` with ``seed``
            when ``None``).
        epochs: Search epochs.
        channels: Super-net width (16 when ``None``).
        cells: NB201: cells per stage (5); DARTS: cells (8).
        topology: DARTS space with EnTranNAS-DST topology search.
        seed: Seed of the initial weights and the shuffling.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        on_epoch: Called with each newly finished epoch's record.
        checkpoint: File written after every epoch; when it exists, the search continues from
            it (it must come from a search with the same settings).
        progress: Show Lightning's progress bar (one per epoch).
        steps_per_epoch: Training batches per epoch (all when ``None``).
        lr: Initial weight learning rate (cosine-annealed to 0.001).
        arch_lr: Adam learning rate of the architecture parameters.
        temperature: EnTranNAS's temperature at the first epoch.
        final_temperature: EnTranNAS's temperature at the last epoch.

    Returns:
        The derived cell, its records and the super-net.

    Raises:
        ValueError: If an argument is invalid or the checkpoint belongs to another search.
        TrainingFailed: If a loss becomes NaN or infinite.
    """
    start = time.perf_counter()
    algorithm = check_algorithm(algorithm)
    check_positive_int("epochs", epochs)
    if steps_per_epoch is not None:
        check_positive_int("steps_per_epoch", steps_per_epoch)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int. Got {seed!r} instead.")
    for name, value in (("lr", lr), ("arch_lr", arch_lr), ("temperature", temperature),
                        ("final_temperature", final_temperature)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} must be a positive float. Got {value!r} instead.")
    if datamodule is None:
        from gnnpred.training import DigitsDataModule

        datamodule = DigitsDataModule(seed=seed)
    config = {"space": resolve_name(space_name), "algorithm": algorithm, "topology": topology,
              "channels": channels, "cells": cells, "seed": seed, "epochs": epochs,
              "steps_per_epoch": steps_per_epoch, "lr": lr, "arch_lr": arch_lr,
              "temperature": temperature, "final_temperature": final_temperature,
              "data": type(datamodule).__name__}
    state = None
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, config)
    cuda = list(range(torch.cuda.device_count()))
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        net = build_supernet(space_name, algorithm, channels=channels, cells=cells,
                             topology=topology, **datamodule.network_kwargs())
        if state is not None:
            net.load_state_dict(state["model"])
            torch.set_rng_state(state["rng"])
            if state["history"]:
                net.temperature = state["history"][-1]["arch"]["temperature"]
        module = OneShotModule(net, datamodule, epochs=epochs, seed=seed, lr=lr, arch_lr=arch_lr,
                               temperature=temperature, final_temperature=final_temperature,
                               state=state, on_epoch=on_epoch, checkpoint=checkpoint,
                               config=config)
        if epochs > module.epoch:
            run(module, device, epochs - module.epoch, progress, steps_per_epoch)
    net.eval()
    arch = net.derive()
    return OneShotResult(space=config["space"], algorithm=algorithm, arch=arch,
                         arch_string=net.space.to_string(arch), consistent=net.is_consistent(),
                         history=module.history, supernet=net,
                         seconds=time.perf_counter() - start)
