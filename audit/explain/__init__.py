"""SHAP explanations: global, per group, proxies and individual decisions.

:func:`explain` is the one entry point (the pipeline's stage is
:func:`audit.explain.stage.explain_evaluation`); the modules are one concern each:
``explainers`` (which SHAP explainer, its cost), ``columns`` (encoded columns back to
input columns), ``sampling`` (the stratified, weighted sample), ``groups`` (per group
and the disparity decomposition), ``proxies``, ``cases`` (individual decisions),
``reasons`` (principal reasons for adverse decisions) and ``postprocessing``
(ThresholdOptimizer).
"""

from audit.explain.explanation import explain
from audit.explain.postprocessing import explain_threshold_optimizer, threshold_optimizer_rules

__all__ = ["explain", "explain_threshold_optimizer", "threshold_optimizer_rules"]
