"""Lightning helpers shared by the assessor, network training and the one-shot super-nets."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import lightning as L

__all__ = ["quiet_lightning", "CtrlC", "interruptible"]

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


class CtrlC(L.Callback):
    """Ctrl-C during a Lightning run, delivered at the next batch boundary.

    Python raises ``KeyboardInterrupt`` wherever the main thread happens to be when SIGINT
    arrives; when that is a finalizer or a garbage-collector callback the exception is printed
    as "ignored" and training goes on, so a single Ctrl-C is occasionally lost. While
    :meth:`installed`, SIGINT only sets :attr:`requested` and this callback raises
    ``KeyboardInterrupt`` at the next batch start or end (training, validation or test), which
    Lightning handles as an interrupt. A second Ctrl-C raises at once.
    """

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[CtrlC]:
        """Route SIGINT to this callback inside the block (main thread only; elsewhere signals
        cannot be handled and the block changes nothing). The previous handler is restored on
        exit, and a Ctrl-C that arrived after the last batch is raised there."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        if self.requested:
            raise KeyboardInterrupt

    def _check(self, *args: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt

    on_train_batch_start = on_train_batch_end = _check
    on_validation_batch_start = on_validation_batch_end = _check
    on_test_batch_start = on_test_batch_end = _check


@contextlib.contextmanager
def interruptible(trainer: L.Trainer) -> Iterator[None]:
    """Run ``trainer``'s fit/validate/test calls in the block with Ctrl-C raised to the caller
    as ``KeyboardInterrupt``.

    On an interrupt Lightning tears down, ignores SIGINT from then on and calls ``sys.exit(1)``;
    here the SIGINT handler is restored and the interrupt handed to the caller, which decides
    how to stop. SIGINT is routed through the trainer's :class:`CtrlC` callback, so it is not
    lost when it lands in a finalizer.

    Raises:
        ValueError: If ``trainer`` has no :class:`CtrlC` callback.
        KeyboardInterrupt: On Ctrl-C inside the block.
    """
    ctrl_c = next((c for c in trainer.callbacks if isinstance(c, CtrlC)), None)
    if ctrl_c is None:
        raise ValueError("interruptible needs a Trainer built with a CtrlC() callback.")
    try:
        with ctrl_c.installed():  # restores the caller's handler on the way out
            yield
    except SystemExit as exc:
        if not trainer.interrupted:
            raise
        raise KeyboardInterrupt from exc
