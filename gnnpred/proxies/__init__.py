"""Zero-cost proxies: scores of untrained networks that correlate with trained accuracy.

Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021,
https://arxiv.org/abs/2101.08134. One file per proxy, each registered by name:
``synflow``, ``params``, ``flops`` (data-free) and ``snip``, ``grasp``, ``fisher``,
``grad_norm``, ``jacob_cov``, ``naswot`` (need a minibatch).

- :func:`compute` scores one network; :func:`score` scores many cells of a search space.
- :class:`ProxyFeatures` turns scores into cached per-cell features for the Assessor.
- :func:`graf_features` gives GRAF neural graph features of cells (no network needed).
"""

from gnnpred.proxies import (  # noqa: F401  (registers the proxies)
    fisher,
    flops,
    grad_norm,
    grasp,
    jacob_cov,
    naswot,
    params,
    snip,
    synflow,
)
from gnnpred.proxies.base import Proxy, available_proxies, get_proxy, register_proxy
from gnnpred.proxies.compute import DATA_FREE, compute, score
from gnnpred.proxies.data import digits_batch, random_batch
from gnnpred.proxies.features import ProxyFeatures
from gnnpred.proxies.graf import graf_feature_names, graf_features

__all__ = [
    "compute", "score", "ProxyFeatures", "Proxy", "register_proxy", "get_proxy",
    "available_proxies", "digits_batch", "random_batch", "DATA_FREE", "graf_features",
    "graf_feature_names",
]
