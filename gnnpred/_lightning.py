"""Lightning helpers shared by the assessor, network training and the one-shot super-nets."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

__all__ = ["quiet_lightning"]

_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning")


@contextlib.contextmanager
def quiet_lightning(verbose: bool) -> Iterator[None]:
    """Silence Lightning's info logs and its hints about workers and logging intervals.

    Lightning logs every ``Trainer`` it builds and warns about data loaders and logging
    intervals that are deliberate in this library's short runs; unless ``verbose`` those
    messages are dropped inside the block. The loggers' levels and the warning filters are
    restored on exit.

    Args:
        verbose: Leave Lightning's output as it is.

    Yields:
        Nothing; the silencing lasts for the ``with`` block.
    """
    old = [logging.getLogger(n).level for n in _LOGGERS]
    with warnings.catch_warnings():
        if not verbose:
            for n in _LOGGERS:
                logging.getLogger(n).setLevel(logging.WARNING)
            warnings.filterwarnings("ignore", module=r"lightning\..*")
            warnings.filterwarnings(
                "ignore", message=r".*(num_workers|log_every_n_steps|does not have many workers).*"
            )
        try:
            yield
        finally:
            for n, level in zip(_LOGGERS, old, strict=True):
                logging.getLogger(n).setLevel(level)
