"""Train one network on one data module and report its accuracies: :func:`train_network`.

The protocol is NAS-Bench-201's, scaled down to the caller's epoch count (Dong & Yang, ICLR
2020, https://arxiv.org/abs/2001.00326): see :class:`~gnnpred.training.ClassifierModule`. The
Lightning ``Trainer`` is built here, quiet and writing nothing to disk unless the caller's
``trainer_kwargs`` ask for it (a logger, checkpoint callbacks, another precision ...).

A seed decides the whole run: the weights are re-initialised from it and the shuffling and
augmentation draw from torch's default generator seeded with it, inside
:func:`torch.random.fork_rng` so that the caller's global random state is left as it was. On a
CPU the same seed gives the same result, bit for bit.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import nn

from gnnpred._common import check_positive_int, resolve_device
from gnnpred._lightning import CtrlC, interruptible, quiet_lightning
from gnnpred.training.module import ClassifierModule, TrainingFailed

__all__ = ["TrainResult", "train_network"]

#: Trainer options that :func:`train_network` sets from its own arguments.
_OWN_OPTIONS = ("max_epochs", "min_epochs", "max_steps")


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train_network` (accuracies in percent, as NAS-Bench-201 reports them).

    Attributes:
        valid_accuracy: Accuracy on the validation split after the last epoch (the value a
            search compares).
        test_accuracy: Accuracy on the test split after the last epoch (for reports only).
        train_loss: Mean training cross-entropy of the last epoch.
        train_accuracy: Training accuracy of the last epoch (on augmented batches, if any).
        epochs: Epochs completed (fewer than asked if a callback stopped training early).
        seconds: Wall time of training and evaluation.
    """

    valid_accuracy: float
    test_accuracy: float
    train_loss: float
    train_accuracy: float
    epochs: int
    seconds: float


def default_precision(device: torch.device) -> str:
    """Mixed precision on CUDA (bf16 where the GPU supports it, else fp16), 32-bit on CPU."""
    if device.type == "cuda":
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "32-true"


def _reinitialise(network: nn.Module) -> None:
    for m in network.modules():
        if hasattr(m, "reset_parameters") and m is not network:
            m.reset_parameters()


def train_network(
    network: nn.Module,
    datamodule: L.LightningDataModule,
    *,
    epochs: int,
    batch_size: int | None = None,
    lr: float = 0.1,
    weight_decay: float = 5e-4,
    momentum: float = 0.9,
    nesterov: bool = True,
    label_smoothing: float = 0.0,
    optimizer: str = "sgd",
    seed: int = 0,
    reinitialise: bool = True,
    device: str | torch.device = "auto",
    trainer_kwargs: dict[str, Any] | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train ``network`` on ``datamodule`` and measure its validation and test accuracy.

    Args:
        network: The model, e.g. ``space.to_network(cell, **datamodule.network_kwargs())``.
            It is trained in place (and left on ``device``).
        datamodule: A data module yielding ``(images, labels)`` batches or a masked graph
            (:class:`DigitsDataModule`, :class:`CIFAR10DataModule`,
            :class:`PlanetoidFolderDataModule`, or the caller's own), with train and
            validation loaders, and a test loader (without one, ``test_accuracy`` is NaN).
        epochs: Training epochs (200 in NAS-Bench-201).
        batch_size: Overrides the data module's ``batch_size`` attribute when given (the data
            module keeps the new value).
        lr: Initial learning rate, annealed to zero by a cosine schedule.
        weight_decay: L2 weight decay.
        momentum: SGD momentum.
        nesterov: Nesterov momentum.
        label_smoothing: Cross-entropy label smoothing in ``[0, 1)``.
        optimizer: ``"sgd"`` (NAS-Bench-201's) or ``"adam"`` (the usual one for GNNs).
        seed: Seed of the initial weights, the shuffling and the augmentation.
        reinitialise: Re-initialise the weights from ``seed`` (every submodule's
            ``reset_parameters``); ``False`` keeps the network's current weights.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        trainer_kwargs: Extra :class:`lightning.Trainer` options (``callbacks``, ``logger``,
            ``precision``, ``accelerator``, ``devices`` ...), overriding the defaults: one
            device, mixed precision on CUDA, no logger, no checkpoints, no progress bar.
        progress: Show Lightning's progress bar and messages.

    Returns:
        The accuracies, final training loss, epochs run and wall time.

    Raises:
        ValueError: If an argument is out of range, ``trainer_kwargs`` sets ``max_epochs``
            (use ``epochs``), or ``batch_size`` is given for a data module without one.
        TrainingFailed: If the training loss becomes NaN or infinite.
        KeyboardInterrupt: On Ctrl-C (taken at the next batch boundary), after Lightning's
            teardown, instead of Lightning's ``sys.exit(1)``.
    """
    check_positive_int("epochs", epochs)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int. Got {seed!r} instead.")
    options = dict(trainer_kwargs or {})
    clash = sorted(set(options) & set(_OWN_OPTIONS))
    if clash:
        raise ValueError(
            f"trainer_kwargs may not set {clash}: pass the number of epochs as epochs=. "
            f"Got trainer_kwargs={trainer_kwargs!r}."
        )
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
        if not hasattr(datamodule, "batch_size"):
            raise ValueError(
                f"{type(datamodule).__name__} has no batch_size to override (full-batch data?). "
                f"Got batch_size={batch_size}; pass batch_size=None."
            )
        datamodule.batch_size = batch_size
    task = ClassifierModule(network, lr=lr, momentum=momentum, nesterov=nesterov,
                            weight_decay=weight_decay, label_smoothing=label_smoothing,
                            optimizer=optimizer)
    dev = resolve_device(device)
    defaults: dict[str, Any] = {
        "accelerator": "gpu" if dev.type == "cuda" else "cpu",
        "devices": [dev.index or 0] if dev.type == "cuda" else 1,
        "precision": default_precision(dev),
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": progress,
        "enable_model_summary": progress,
        "num_sanity_val_steps": 0,
    }
    options = {**defaults, **options, "max_epochs": int(epochs)}
    callbacks = options.get("callbacks") or []
    options["callbacks"] = [*(callbacks if isinstance(callbacks, list | tuple) else [callbacks]),
                            CtrlC()]
    cuda = list(range(torch.cuda.device_count()))  # forked too, whichever one trains
    start = time.perf_counter()
    with quiet_lightning(progress), torch.random.fork_rng(devices=cuda):
        torch.manual_seed(int(seed))
        if reinitialise:
            _reinitialise(network)
        trainer = L.Trainer(**options)
        with interruptible(trainer):
            trainer.fit(task, datamodule=datamodule)
            epochs_run = trainer.current_epoch
            every = trainer.check_val_every_n_epoch
            if "val_acc" not in task.metrics or not every or epochs_run % every:
                # the last epoch was not validated (validation every few epochs or by steps)
                trainer.validate(task, datamodule=datamodule, verbose=False)
            if is_overridden("test_dataloader", datamodule):  # else test_accuracy is NaN
                trainer.test(task, datamodule=datamodule, verbose=False)
    seconds = time.perf_counter() - start
    metrics = task.metrics
    if "train_loss" not in metrics:
        raise TrainingFailed(f"No training batch ran in {epochs} epoch(s): is the training split "
                             f"of {type(datamodule).__name__} empty?")
    return TrainResult(
        valid_accuracy=metrics.get("val_acc", math.nan),
        test_accuracy=metrics.get("test_acc", math.nan),
        train_loss=metrics["train_loss"],
        train_accuracy=metrics["train_acc"],
        epochs=int(epochs_run),
        seconds=seconds,
    )
