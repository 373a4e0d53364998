"""gnnpred: semi-supervised GNN performance predictors for neural architecture search."""

import logging

from gnnpred.spaces import get_space

__version__ = "0.1.0"
__all__ = ["get_space", "Assessor", "__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str):
    # Lazy: importing the assessor pulls lightning, which is slow; spaces alone stay light.
    if name == "Assessor":
        from gnnpred.assessor import Assessor

        return Assessor
    raise AttributeError(f"module 'gnnpred' has no attribute {name!r}")
