"""oneshot_search end to end on a few digits batches; checkpoint and resume."""

import pytest
import torch

from gnnpred import get_space
from gnnpred.supernets import oneshot_search
from gnnpred.training import DigitsDataModule


def _data():
    return DigitsDataModule(batch_size=8, image_size=8, seed=0)


def _search(space, algorithm, **kw):
    kw.setdefault("epochs", 1)
    return oneshot_search(space, algorithm, _data(), channels=2,
                          cells=1 if space == "nasbench201" else 3, steps_per_epoch=2,
                          device="cpu", **kw)


@pytest.mark.parametrize("space", ["nasbench201", "darts"])
@pytest.mark.parametrize("algorithm", ["entrannas", "darts"])
def test_one_epoch_search_runs_end_to_end(space, algorithm, tmp_path):
    seen = []
    result = _search(space, algorithm, on_epoch=seen.append, checkpoint=tmp_path / "ck.pt")
    assert len(result.history) == 1 and seen == result.history
    record = result.history[0]
    assert record["derived"] == result.arch_string
    assert set(record["arch"]["weights"]) == ({"cell"} if space == "nasbench201"
                                              else {"normal", "reduce"})
    get_space(space).validate(result.arch)
    assert get_space(space).from_string(result.arch_string) == result.arch
    state = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert state["epoch"] == 1 and state["history"] == result.history


class _Killed(Exception):
    pass


def _kill(record):
    raise _Killed


def test_resume_after_a_kill_ends_as_an_uninterrupted_search(tmp_path):
    whole = _search("nasbench201", "entrannas", epochs=2, checkpoint=tmp_path / "a.pt")
    with pytest.raises(_Killed):
        _search("nasbench201", "entrannas", epochs=2, checkpoint=tmp_path / "b.pt",
                on_epoch=_kill)
    assert torch.load(tmp_path / "b.pt", weights_only=True)["epoch"] == 1
    seen = []
    resumed = _search("nasbench201", "entrannas", epochs=2, checkpoint=tmp_path / "b.pt",
                      on_epoch=seen.append)
    assert [r["epoch"] for r in seen] == [1]  # only the epoch that still had to run
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in whole.history]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history] == strip
    for name, value in whole.supernet.state_dict().items():
        assert torch.equal(value, resumed.supernet.state_dict()[name]), name


def test_a_finished_search_resumes_without_training(tmp_path):
    first = _search("nasbench201", "entrannas", checkpoint=tmp_path / "c.pt")
    again = _search("nasbench201", "entrannas", checkpoint=tmp_path / "c.pt",
                    on_epoch=_kill)
    assert again.arch == first.arch and again.history == first.history


def test_a_checkpoint_of_another_search_is_refused(tmp_path):
    _search("nasbench201", "entrannas", checkpoint=tmp_path / "d.pt")
    with pytest.raises(ValueError, match="another search"):
        _search("nasbench201", "darts", checkpoint=tmp_path / "d.pt")


@pytest.mark.parametrize(("kw", "match"), [({"epochs": 0}, "epochs"),
                                           ({"algorithm": "gdas"}, "algorithm"),
                                           ({"space_name": "nasbench101"}, "No super-net")])
def test_bad_arguments_are_refused(kw, match):
    args = {"space_name": "nasbench201", "algorithm": "entrannas", "epochs": 1, **kw}
    with pytest.raises(ValueError, match=match):
        oneshot_search(args.pop("space_name"), args.pop("algorithm"), _data(), **args)


class _MarkingDigits(DigitsDataModule):
    """Digits whose batch hook records whether the trainer was training (as CIFAR-10's does)."""

    def __init__(self):
        super().__init__(batch_size=8, image_size=8, seed=0)
        self.calls = []

    def on_after_batch_transfer(self, batch, dataloader_idx):
        self.calls.append(self.trainer is not None and self.trainer.training)
        return batch


def test_the_data_module_hook_runs_on_weight_and_architecture_batches():
    data = _MarkingDigits()
    oneshot_search("nasbench201", "darts", data, epochs=1, channels=2, cells=1,
                   steps_per_epoch=3, device="cpu")
    assert data.calls == [True] * 6  # 3 training batches and 3 validation batches
    assert data.trainer is None
