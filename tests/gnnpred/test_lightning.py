"""quiet_lightning: Lightning's logs and hints are dropped inside the block, restored after."""

from __future__ import annotations

import logging
import warnings

import pytest

from gnnpred._lightning import quiet_lightning


@pytest.mark.parametrize("verbose", [False, True])
def test_quiet_lightning_drops_info_and_hints_unless_verbose(verbose, caplog):
    logger = logging.getLogger("lightning.pytorch")
    logger.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_lightning(verbose):
            logger.info("GPU available: False")
            warnings.warn("The 'train_dataloader' does not have many workers", UserWarning,
                          stacklevel=1)
    assert ("GPU available" in caplog.text) is verbose
    assert bool(caught) is verbose
    assert logger.level == logging.INFO  # restored on exit
    logger.setLevel(logging.NOTSET)
