"""First-order one-shot search as a Lightning module (:class:`OneShotModule`) and its checkpoints.

DARTS (Liu, Simonyan & Yang, ICLR 2019, https://arxiv.org/abs/1806.09055, Algorithm 1, first
order) alternates, for every training batch, one step of the architecture parameters on a batch
of the validation split (Adam, lr 3e-4, betas (0.5, 0.999), weight decay 1e-3) and one step of
the operation weights on the training batch (SGD, momentum 0.9, weight decay 3e-4, gradient norm
clipped at 5, learning rate 0.025 annealed to 0.001 by an epoch-wise cosine). EnTranNAS (Yang,
You et al., CVPR 2021, https://arxiv.org/abs/2101.11342) keeps this schedule; its sparse weights
use a temperature lowered geometrically from ``temperature`` to ``final_temperature`` over the
epochs (:mod:`gnnpred.supernets.mixing`).

Any image data module of :mod:`gnnpred.training` serves (digits by default, a CIFAR-10 folder,
the user's own): its train loader feeds the weight steps, its validation loader the architecture
steps, and its ``on_after_batch_transfer`` (normalisation, augmentation) applies to both.

Reproducibility: the super-net is initialised under ``seed``, the training batches are shuffled
by a generator of the search's own, and the default generator is forked, so the caller's random
state is untouched. After each epoch a checkpoint (super-net, optimisers, schedule, generators,
records) is written atomically in a format ``torch.load(..., weights_only=True)`` reads; a search
started again with the same checkpoint continues after its last finished epoch and, on a CPU,
ends exactly as an uninterrupted one.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.fabric.utilities.apply_func import move_data_to_device
from torch import Tensor

from gnnpred._common import resolve_device
from gnnpred._lightning import CtrlC, interruptible, quiet_lightning
from gnnpred.supernets.base import SuperNet
from gnnpred.training.module import TrainingFailed

__all__ = [
    "OneShotModule", "checkpoint_state", "load_checkpoint", "run", "save_checkpoint", "trainer_for",
]

_FORMAT = "gnnpred.oneshot/1"


class OneShotModule(L.LightningModule):
    """Alternating architecture / weight steps on a super-net (manual optimisation).

    Args:
        supernet: The super-net (:class:`NB201SuperNet` or :class:`DARTSSuperNet`).
        datamodule: Image data module with train and validation loaders.
        epochs: Total epochs of the search (the schedules span them).
        seed: Seed of the training-batch shuffling.
        lr: Initial learning rate of the operation weights (SGD).
        lr_min: Final learning rate of the epoch-wise cosine schedule.
        momentum: SGD momentum.
        weight_decay: SGD weight decay.
        grad_clip: Maximum gradient norm of the operation weights.
        arch_lr: Learning rate of the architecture parameters (Adam, betas (0.5, 0.999)).
        arch_weight_decay: Their weight decay.
        temperature: EnTranNAS's temperature at the first epoch.
        final_temperature: Its temperature at the last epoch.
        state: A checkpoint to continue from (see :func:`checkpoint_state`), or ``None``.
        on_epoch: Called with each finished epoch's record (after the checkpoint is written).
        checkpoint: Where to write the checkpoint after each epoch, or ``None``.
        config: Identifies the search in the checkpoint (a resumed search must match it).

    Attributes:
        history: One record per finished epoch (see :meth:`record`).
    """

    def __init__(
        self, supernet: SuperNet, datamodule: L.LightningDataModule, *, epochs: int,
        seed: int = 0, lr: float = 0.025, lr_min: float = 0.001, momentum: float = 0.9,
        weight_decay: float = 3e-4, grad_clip: float = 5.0, arch_lr: float = 3e-4,
        arch_weight_decay: float = 1e-3, temperature: float = 1.0,
        final_temperature: float = 0.05, state: dict[str, Any] | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
        checkpoint: str | os.PathLike | None = None, config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.supernet, self.datamodule = supernet, datamodule
        self.epochs, self.config = int(epochs), dict(config or {})
        self.lr, self.lr_min, self.momentum = lr, lr_min, momentum
        self.weight_decay, self.grad_clip = weight_decay, grad_clip
        self.arch_lr, self.arch_weight_decay = arch_lr, arch_weight_decay
        self.temperature, self.final_temperature = temperature, final_temperature
        self.on_epoch, self.checkpoint = on_epoch, checkpoint
        self.generator = torch.Generator().manual_seed(int(seed))
        self.state = state
        self.history: list[dict[str, Any]] = list(state["history"]) if state else []
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self._valid: Iterator[Any] | None = None
        self._sums: dict[str, float] = {}
        self._start = 0.0
        if state:
            self.generator.set_state(state["generator"])

    @property
    def epoch(self) -> int:
        """Index of the current (or next) epoch over the whole search, resumed ones included."""
        return len(self.history)

    def train_dataloader(self) -> Any:
        """The data module's training loader, shuffled by the search's own generator."""
        loader = self.datamodule.train_dataloader()
        if isinstance(loader.sampler, torch.utils.data.RandomSampler):
            loader.sampler.generator = self.generator
        loader.generator = self.generator
        return loader

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """The data module's own hook (normalisation, augmentation of training batches)."""
        return self.datamodule.on_after_batch_transfer(batch, dataloader_idx)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """SGD on the operation weights, Adam on the architecture parameters."""
        weights = torch.optim.SGD(self.supernet.weight_parameters(), lr=self.lr,
                                  momentum=self.momentum, weight_decay=self.weight_decay)
        arch = torch.optim.Adam(self.supernet.arch_parameters(), lr=self.arch_lr,
                                betas=(0.5, 0.999), weight_decay=self.arch_weight_decay)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            weights, T_max=self.epochs, eta_min=self.lr_min)
        if self.state:
            weights.load_state_dict(self.state["optimizers"][0])
            arch.load_state_dict(self.state["optimizers"][1])
            self.scheduler.load_state_dict(self.state["scheduler"])
        return [weights, arch]

    def on_fit_start(self) -> None:
        self.datamodule.trainer = self.trainer  # its hooks ask whether the trainer is training

    def on_fit_end(self) -> None:
        self.datamodule.trainer = None
        self.state = None  # the checkpoint's tensors are in the model and optimisers now

    def on_train_epoch_start(self) -> None:
        t0, t1 = self.temperature, self.final_temperature
        self.supernet.temperature = t0 * (t1 / t0) ** (self.epoch / max(self.epochs - 1, 1))
        loader = self.datamodule.val_dataloader()
        loader.generator = torch.Generator().manual_seed(self.epoch)  # no draw from the global
        self._valid = iter(loader)
        self._sums = {k: 0.0 for k in ("loss", "correct", "n", "v_loss", "v_correct", "v_n")}
        self._start = time.perf_counter()

    def _next_valid(self) -> Any:
        assert self._valid is not None
        try:
            batch = next(self._valid)
        except StopIteration:  # the validation split is smaller: cycle it
            self._valid = iter(self.datamodule.val_dataloader())
            batch = next(self._valid)
        batch = move_data_to_device(batch, self.device)
        return self.on_after_batch_transfer(batch, 0)

    def _loss(self, batch: Any, prefix: str) -> Tensor:
        images, labels = batch
        logits = self.supernet(images)
        loss = F.cross_entropy(logits.float(), labels)
        if not math.isfinite(float(loss.detach())):
            split = "validation" if prefix else "training"
            raise TrainingFailed(f"The {split} loss is {float(loss.detach())} at "
                                 f"epoch {self.epoch}: the search diverged (try a lower lr).")
        n = int(labels.numel())
        self._sums[prefix + "loss"] += float(loss.detach()) * n
        self._sums[prefix + "correct"] += float((logits.argmax(1) == labels).sum())
        self._sums[prefix + "n"] += n
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> None:
        """One architecture step on a validation batch, then one weight step on ``batch``.

        Raises:
            TrainingFailed: If a loss is NaN or infinite.
        """
        w_opt, a_opt = self.optimizers()
        arch, weights = self.supernet.arch_parameters(), self.supernet.weight_parameters()
        # each backward computes only its own step's gradients (``inputs=``): the same steps,
        # without the other group's gradient work
        a_opt.zero_grad()
        self.manual_backward(self._loss(self._next_valid(), "v_"), inputs=arch)
        a_opt.step()
        w_opt.zero_grad()
        self.manual_backward(self._loss(batch, ""), inputs=weights)
        torch.nn.utils.clip_grad_norm_(weights, self.grad_clip)
        w_opt.step()

    def record(self) -> dict[str, Any]:
        """This epoch's figures: losses and accuracies (percent) of the super-net on the
        training batches and on the architecture steps' validation batches, the architecture
        state, the derived cell (the space's string form) and whether it is exactly what the
        Engine-cells compute."""
        s, net = self._sums, self.supernet
        return {
            "epoch": self.epoch,
            "train_loss": s["loss"] / max(s["n"], 1),
            "train_acc": 100.0 * s["correct"] / max(s["n"], 1),
            "valid_loss": s["v_loss"] / max(s["v_n"], 1),
            "valid_acc": 100.0 * s["v_correct"] / max(s["v_n"], 1),
            "arch": net.arch_state(),
            "derived": net.space.to_string(net.derive()),
            "consistent": net.is_consistent(),
            "seconds": time.perf_counter() - self._start,
        }

    def on_train_epoch_end(self) -> None:
        assert self.scheduler is not None
        self.scheduler.step()
        rec = self.record()
        self.history.append(rec)
        if self.checkpoint is not None:
            save_checkpoint(self.checkpoint, checkpoint_state(self))
        if self.on_epoch is not None:
            self.on_epoch(rec)


def checkpoint_state(module: OneShotModule) -> dict[str, Any]:
    """What a checkpoint holds: tensors and plain Python values only (``weights_only`` loads)."""
    w_opt, a_opt = (o.optimizer if hasattr(o, "optimizer") else o for o in module.optimizers())
    assert module.scheduler is not None
    return {
        "format": _FORMAT,
        "config": module.config,
        "epoch": module.epoch,
        "model": module.supernet.state_dict(),
        "optimizers": [w_opt.state_dict(), a_opt.state_dict()],
        "scheduler": module.scheduler.state_dict(),
        "generator": module.generator.get_state(),
        "rng": torch.get_rng_state(),
        "history": module.history,
    }


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (a killed write leaves the previous file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, config: dict[str, Any]) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check it belongs to this search.

    Raises:
        ValueError: If the file is not a one-shot checkpoint or was written by a search with
            another configuration (naming the differences).
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ValueError(f"{path} is not a readable one-shot checkpoint: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a one-shot search checkpoint ({_FORMAT}).")
    diff = {k: (state["config"].get(k), v) for k, v in config.items()
            if state["config"].get(k) != v}
    if diff:
        raise ValueError(f"{path} was written by another search: (checkpoint, now) = {diff}. "
                         "Use a new checkpoint path or the same settings.")
    return state


def trainer_for(device: str | torch.device, epochs: int, progress: bool,
                steps_per_epoch: int | None) -> L.Trainer:
    """A quiet single-device Trainer for ``epochs`` epochs (no validation loop, no logger)."""
    dev = resolve_device(device)
    return L.Trainer(
        accelerator="gpu" if dev.type == "cuda" else "cpu",
        devices=[dev.index or 0] if dev.type == "cuda" else 1,
        precision="32-true", logger=False, enable_checkpointing=False,
        enable_progress_bar=progress, enable_model_summary=False, num_sanity_val_steps=0,
        limit_val_batches=0, use_distributed_sampler=False, max_epochs=epochs,
        limit_train_batches=steps_per_epoch if steps_per_epoch is not None else 1.0,
        callbacks=[CtrlC()],
    )


def run(module: OneShotModule, device: str | torch.device, epochs: int, progress: bool,
        steps_per_epoch: int | None) -> None:
    """Fit ``module`` for ``epochs`` epochs on ``device`` (:func:`trainer_for`), quietly unless
    ``progress`` (Lightning's messages and progress bar)."""
    with quiet_lightning(progress):
        trainer = trainer_for(device, epochs, progress, steps_per_epoch)
        with interruptible(trainer):
            trainer.fit(module)
