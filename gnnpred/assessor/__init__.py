"""The semi-supervised GNN assessor (:class:`Assessor`) and the pieces it is made of.

Modules: :mod:`~gnnpred.assessor.estimator` (the scikit-learn estimator),
:mod:`~gnnpred.assessor.pool` (the cells the models see and their kNN graph),
:mod:`~gnnpred.assessor.heads` (GCN and regressor heads), :mod:`~gnnpred.assessor.targets`
(label transforms), :mod:`~gnnpred.assessor.params` (parameter constraints, input checks),
:mod:`~gnnpred.assessor.training` (Lightning runs) and :mod:`~gnnpred.assessor.io`
(save/load).
"""

from gnnpred.assessor.estimator import Assessor
from gnnpred.assessor.pool import Pool

__all__ = ["Assessor", "Pool"]
