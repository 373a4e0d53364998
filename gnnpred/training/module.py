"""The Lightning module that trains a search space's network for classification.

:class:`ClassifierModule` trains any ``space.to_network(cell)`` with NAS-Bench-201's protocol
(Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search",
ICLR 2020, https://arxiv.org/abs/2001.00326, Section 2.3): cross-entropy, SGD with momentum 0.9
and Nesterov, weight decay 5e-4, learning rate 0.1 annealed to zero by a cosine schedule; the
epoch count is the caller's (the benchmark trained 200 epochs). The schedule steps every
optimiser step, so that a run of a few epochs still anneals smoothly.

Batches are either ``(images, labels)`` pairs (image networks: NAS-Bench-101 and -201) or one
PyTorch Geometric graph with ``train_mask`` / ``val_mask`` / ``test_mask`` (the NAS-Bench-Graph
GNNs, full-batch node classification), so one module serves every space. GNNs on Planetoid
graphs are usually trained with Adam (Kipf & Welling, ICLR 2017, https://arxiv.org/abs/1609.02907):
``optimizer="adam"`` swaps SGD for Adam and keeps the rest of the protocol.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ClassifierModule", "TrainingFailed", "OPTIMIZERS"]

#: Optimisers :class:`ClassifierModule` knows.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")


class TrainingFailed(RuntimeError):
    """Training diverged (a non-finite loss): the evaluation failed, its message says where."""


class ClassifierModule(L.LightningModule):
    """Train ``network`` for classification: SGD with Nesterov momentum, cosine schedule.

    Logs ``train_loss`` and ``train_acc`` (per epoch), ``val_acc`` and ``test_acc``, all
    accuracies in percent as NAS-Bench-201 reports them. After each epoch the same figures are
    in :attr:`metrics` (exact counts over the whole split, not means of batch means).

    Args:
        network: The model: ``network(images) -> logits`` for ``(images, labels)`` batches, or
            ``network(x, edge_index) -> logits`` for graph batches.
        lr: Initial learning rate (0.1 in NAS-Bench-201).
        momentum: SGD momentum (0.9).
        nesterov: Use Nesterov momentum (as the benchmark did).
        weight_decay: L2 weight decay on every parameter (5e-4).
        label_smoothing: Cross-entropy label smoothing in ``[0, 1)`` (0 in the benchmark).
        optimizer: ``"sgd"`` (NAS-Bench-201) or ``"adam"`` (``momentum`` and ``nesterov`` then
            unused; the usual choice for GNNs).

    Raises:
        ValueError: If a hyper-parameter is out of range (checked by :func:`check_hparams`).
    """

    def __init__(
        self,
        network: nn.Module,
        *,
        lr: float = 0.1,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 5e-4,
        label_smoothing: float = 0.0,
        optimizer: str = "sgd",
    ) -> None:
        super().__init__()
        check_hparams(lr=lr, momentum=momentum, weight_decay=weight_decay,
                      label_smoothing=label_smoothing)
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}. Got {optimizer!r} instead.")
        if optimizer == "sgd" and nesterov and momentum == 0:
            raise ValueError("nesterov=True needs a positive momentum. Got momentum=0.")
        self.optimizer = optimizer
        self.network = network
        self.lr, self.momentum, self.nesterov = float(lr), float(momentum), bool(nesterov)
        self.weight_decay, self.label_smoothing = float(weight_decay), float(label_smoothing)
        #: Latest epoch figures: train_loss, train_acc, val_acc, test_acc (when computed).
        self.metrics: dict[str, float] = {}
        self._sums: dict[str, list[float]] = {}  # stage -> [loss sum, correct, count]

    def forward(self, *inputs: Any) -> Tensor:
        """The network's logits."""
        return self.network(*inputs)

    def logits_and_targets(self, batch: Any, stage: str) -> tuple[Tensor, Tensor]:
        """The network's logits and the labels of one batch of split ``stage`` (``"train"``,
        ``"val"`` or ``"test"``; for a graph, the nodes of that split's mask)."""
        if hasattr(batch, "edge_index"):  # one graph, nodes of the split chosen by its mask
            mask = batch[f"{stage}_mask"]
            return self.network(batch.x, batch.edge_index)[mask], batch.y[mask]
        images, labels = batch
        return self.network(images), labels

    def _step(self, batch: Any, stage: str) -> Tensor:
        logits, y = self.logits_and_targets(batch, stage)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=self.label_smoothing)
        correct = (logits.argmax(dim=1) == y).sum()
        n = int(y.numel())
        sums = self._sums.setdefault(stage, [0.0, 0.0, 0.0])
        sums[0] += float(loss.detach()) * n
        sums[1] += float(correct)
        sums[2] += n
        self.log(f"{stage}_acc", 100.0 * correct.float() / max(n, 1), on_step=False,
                 on_epoch=True, batch_size=n)
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Cross-entropy of one batch.

        Raises:
            TrainingFailed: If the loss is NaN or infinite.
        """
        loss = self._step(batch, "train")
        if not math.isfinite(float(loss.detach())):
            raise TrainingFailed(
                f"The training loss is {float(loss.detach())} at epoch {self.current_epoch}, "
                f"batch {batch_idx}: training diverged (try a lower learning rate)."
            )
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=_size(batch))
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """Accuracy on one validation batch."""
        self._step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        """Accuracy on one test batch."""
        self._step(batch, "test")

    def on_train_epoch_start(self) -> None:
        self._sums.pop("train", None)

    def on_validation_epoch_start(self) -> None:
        self._sums.pop("val", None)

    def on_test_epoch_start(self) -> None:
        self._sums.pop("test", None)

    def on_train_epoch_end(self) -> None:
        self._summarise("train", with_loss=True)

    def on_validation_epoch_end(self) -> None:
        self._summarise("val")

    def on_test_epoch_end(self) -> None:
        self._summarise("test")

    def _summarise(self, stage: str, with_loss: bool = False) -> None:
        loss_sum, correct, count = self._sums.get(stage, [0.0, 0.0, 0.0])
        if count:
            self.metrics[f"{stage}_acc"] = 100.0 * correct / count
            if with_loss:
                self.metrics[f"{stage}_loss"] = loss_sum / count

    def configure_optimizers(self) -> dict[str, Any]:
        """SGD (momentum, Nesterov) or Adam, with weight decay and a per-step cosine decay to 0."""
        params = self.network.parameters()
        if self.optimizer == "adam":
            optimizer: torch.optim.Optimizer = torch.optim.Adam(
                params, lr=self.lr, weight_decay=self.weight_decay)
        else:
            optimizer = torch.optim.SGD(params, lr=self.lr, momentum=self.momentum,
                                        nesterov=self.nesterov, weight_decay=self.weight_decay)
        steps = max(int(self.trainer.estimated_stepping_batches), 1)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def _size(batch: Any) -> int:
    if hasattr(batch, "edge_index"):
        return int(batch["train_mask"].sum())
    return len(batch[1])


def check_hparams(*, lr: float, momentum: float, weight_decay: float,
                  label_smoothing: float) -> None:
    """Check the optimiser's hyper-parameters.

    Args:
        lr: Must be a finite float > 0.
        momentum: Must be in ``[0, 1)``.
        weight_decay: Must be a finite float >= 0.
        label_smoothing: Must be in ``[0, 1)``.

    Raises:
        ValueError: Naming the first bad value.
    """
    checks = (
        ("lr", lr, lambda v: v > 0 and math.isfinite(v), "a finite float > 0"),
        ("momentum", momentum, lambda v: 0 <= v < 1, "a float in [0, 1)"),
        ("weight_decay", weight_decay, lambda v: v >= 0 and math.isfinite(v),
         "a finite float >= 0"),
        ("label_smoothing", label_smoothing, lambda v: 0 <= v < 1, "a float in [0, 1)"),
    )
    for name, value, ok, what in checks:
        if isinstance(value, bool) or not isinstance(value, int | float) or not ok(value):
            raise ValueError(f"{name} must be {what}. Got {value!r} instead.")
