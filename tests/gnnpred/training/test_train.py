"""train_network and ClassifierModule: real networks train on digits, seeds decide the result."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from torch import nn

from gnnpred import get_space
from gnnpred.training import (
    ClassifierModule,
    DigitsDataModule,
    TrainingFailed,
    TrainResult,
    train_network,
)
from gnnpred.training.train import default_precision

NB201 = get_space("nasbench201")
CELL = NB201.make(ops=["nor_conv_3x3", "skip_connect", "nor_conv_1x1",
                       "nor_conv_3x3", "avg_pool_3x3", "skip_connect"])


def small_nb201(data: DigitsDataModule) -> nn.Module:
    return NB201.to_network(CELL, channels=8, cells_per_stage=1, **data.network_kwargs())


@pytest.fixture(scope="module")
def digits() -> DigitsDataModule:
    return DigitsDataModule(batch_size=64, image_size=16)


def test_nb201_network_learns_digits(digits: DigitsDataModule) -> None:
    result = train_network(small_nb201(digits), digits, epochs=2, lr=0.05, device="cpu")
    assert isinstance(result, TrainResult)
    assert result.epochs == 2
    assert result.train_loss < math.log(10)  # below the loss of a uniform guess
    assert result.valid_accuracy > 30.0  # chance is 10 %
    assert 0.0 <= result.test_accuracy <= 100.0
    assert result.seconds > 0


class _NoTestSplit(DigitsDataModule):
    """A user's data module with train and validation loaders only."""

    test_dataloader = L.LightningDataModule.test_dataloader


def test_a_data_module_without_a_test_split_trains_with_a_nan_test_accuracy() -> None:
    data = _NoTestSplit(batch_size=64, image_size=16)
    result = train_network(small_nb201(data), data, epochs=1, lr=0.05, device="cpu")
    assert 0.0 <= result.valid_accuracy <= 100.0 and math.isnan(result.test_accuracy)


def test_nb101_network_trains(digits: DigitsDataModule) -> None:
    space = get_space("nasbench101")
    cell = space.make(
        matrix=[[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
        ops=["input", "conv3x3-bn-relu", "maxpool3x3", "output"],
    )
    net = space.to_network(cell, stem_channels=8, num_stacks=2, cells_per_stack=1,
                           **digits.network_kwargs())
    result = train_network(net, digits, epochs=1, lr=0.05, device="cpu")
    assert result.epochs == 1
    assert math.isfinite(result.train_loss)
    assert 0.0 <= result.valid_accuracy <= 100.0


def test_same_seed_same_result_and_global_state_untouched(digits: DigitsDataModule) -> None:
    nets = [small_nb201(digits) for _ in range(3)]  # different initial weights
    before = torch.get_rng_state()
    runs = [train_network(net, digits, epochs=1, seed=s, device="cpu")
            for net, s in zip(nets, (3, 3, 4), strict=True)]
    assert torch.equal(torch.get_rng_state(), before)

    def figures(r: TrainResult) -> tuple[float, ...]:
        return r.valid_accuracy, r.test_accuracy, r.train_loss, r.train_accuracy

    assert figures(runs[0]) == figures(runs[1])
    assert figures(runs[0]) != figures(runs[2])


def test_weights_are_kept_without_reinitialise(digits: DigitsDataModule) -> None:
    net = small_nb201(digits)
    first = train_network(net, digits, epochs=1, seed=0, device="cpu")
    second = train_network(net, digits, epochs=1, seed=0, device="cpu", reinitialise=False)
    assert second.train_loss < first.train_loss  # it went on from the trained weights


class NaNNet(nn.Module):
    """Finite for one step, then NaN: a diverging network."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3 * 16 * 16, 10)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        out = self.lin(x.flatten(1))
        return out if self.calls == 1 else out * float("nan")


def test_nan_loss_raises_training_failed(digits: DigitsDataModule) -> None:
    with pytest.raises(TrainingFailed, match=r"loss is nan at epoch 0, batch 1"):
        train_network(NaNNet(), digits, epochs=1, device="cpu")


class EpochCounter(L.Callback):
    def __init__(self) -> None:
        self.epochs = 0

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.epochs += 1
        self.logged = dict(trainer.callback_metrics)


def test_trainer_kwargs_reach_the_trainer(digits: DigitsDataModule) -> None:
    counter = EpochCounter()
    train_network(small_nb201(digits), digits, epochs=2, device="cpu",
                  trainer_kwargs={"callbacks": [counter], "limit_train_batches": 2})
    assert counter.epochs == 2
    assert {"train_loss", "train_acc", "val_acc"} <= set(counter.logged)


def test_nothing_is_written_and_the_last_epoch_is_validated(
    digits: DigitsDataModule, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    result = train_network(small_nb201(digits), digits, epochs=1, device="cpu",
                           trainer_kwargs={"check_val_every_n_epoch": 5})
    assert math.isfinite(result.valid_accuracy)  # validated once after training
    assert list(tmp_path.iterdir()) == []  # no lightning_logs, no checkpoints
    assert capsys.readouterr().out == ""


def test_default_precision_is_mixed_on_cuda_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_precision(torch.device("cpu")) == "32-true"
    for bf16, expected in ((True, "bf16-mixed"), (False, "16-mixed")):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda bf16=bf16: bf16)
        assert default_precision(torch.device("cuda")) == expected


def test_batch_size_overrides_the_data_module() -> None:
    data = DigitsDataModule(batch_size=64, image_size=16)
    train_network(small_nb201(data), data, epochs=1, batch_size=500, device="cpu",
                  trainer_kwargs={"limit_train_batches": 1})
    assert data.batch_size == 500
    assert len(data.train_dataloader()) == math.ceil(len(data.indices["train"]) / 500)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be a positive int. Got 0"),
        ({"epochs": 1, "lr": -0.1}, "lr must be a finite float > 0. Got -0.1"),
        ({"epochs": 1, "momentum": 1.0}, r"momentum must be a float in \[0, 1\). Got 1.0"),
        ({"epochs": 1, "label_smoothing": 1.5}, "label_smoothing must be a float"),
        ({"epochs": 1, "seed": -1}, "seed must be a non-negative int. Got -1"),
        ({"epochs": 1, "trainer_kwargs": {"max_epochs": 3}}, "may not set"),
        ({"epochs": 1, "device": "tpu9"}, "device must be"),
        ({"epochs": 1, "optimizer": "rmsprop"}, "optimizer must be one of .*'rmsprop'"),
    ],
)
def test_bad_arguments_are_named(digits: DigitsDataModule, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train_network(small_nb201(digits), digits, **kwargs)


def test_the_module_runs_under_a_users_own_trainer(digits: DigitsDataModule) -> None:
    task = ClassifierModule(small_nb201(digits), lr=0.05, label_smoothing=0.1)
    trainer = L.Trainer(max_epochs=1, limit_train_batches=3, limit_val_batches=2,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu")
    trainer.fit(task, datamodule=digits)
    assert set(task.metrics) == {"train_loss", "train_acc", "val_acc"}
    assert "val_acc" in trainer.callback_metrics
