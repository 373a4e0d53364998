"""Training of real networks of the search spaces, following NAS-Bench-201's protocol.

NAS-Bench-201 (Dong & Yang, ICLR 2020, https://arxiv.org/abs/2001.00326) trained every cell with
SGD (momentum 0.9, Nesterov), weight decay 5e-4, a cosine learning-rate schedule from 0.1 and
batches of 256. :func:`train_network` runs that protocol for the caller's number of epochs on
any ``space.to_network(cell)`` and a data module:

- :class:`DigitsDataModule`: scikit-learn's 1,797 handwritten digits (no download);
- :class:`CIFAR10DataModule`: a ``cifar-10-batches-py`` folder already on disk;
- :class:`PlanetoidFolderDataModule`: a Planetoid-format graph (Cora, CiteSeer, PubMed ...) for
  the NAS-Bench-Graph GNNs.

Lightning drives training; :func:`train_network` builds its ``Trainer`` and passes the caller's
own options through ``trainer_kwargs``. A failed run (NaN loss) raises :class:`TrainingFailed`.

Example:
    >>> from gnnpred import get_space
    >>> from gnnpred.training import DigitsDataModule, train_network
    >>> space = get_space("nasbench201")
    >>> data = DigitsDataModule(batch_size=128, seed=0)
    >>> net = space.to_network(space.from_string(
    ...     "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|"
    ...     "nor_conv_3x3~2|"), **data.network_kwargs())
    >>> result = train_network(net, data, epochs=5, seed=0)  # doctest: +SKIP
    >>> result.valid_accuracy, result.test_accuracy  # doctest: +SKIP

Users who drive Lightning themselves use :class:`ClassifierModule` with any data module.
"""

from gnnpred.training.cifar10 import CIFAR10DataModule
from gnnpred.training.data import ImageDataModule, stratified_split
from gnnpred.training.digits import DigitsDataModule
from gnnpred.training.module import ClassifierModule, TrainingFailed
from gnnpred.training.planetoid import PlanetoidFolderDataModule
from gnnpred.training.train import TrainResult, train_network

__all__ = [
    "CIFAR10DataModule",
    "ClassifierModule",
    "DigitsDataModule",
    "ImageDataModule",
    "PlanetoidFolderDataModule",
    "TrainResult",
    "TrainingFailed",
    "stratified_split",
    "train_network",
]
