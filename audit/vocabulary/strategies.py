"""The mitigation strategies rai-audit offers: names, constraints, default set, caveats.

A strategy is named ``method`` (pre-processing) or ``method:constraint`` (in- and
post-processing), e.g. ``reweighing`` or ``threshold_optimizer:equalized_odds``.
Constraints also take short aliases (``dp``, ``eo``, ``equal_opportunity``/``tpr``,
``erp``). ``all`` is the default set and ``none`` switches mitigation off.

This module imports nothing heavy: the config validates names with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Constraint name -> (label, fairlearn reductions Moment class name, ThresholdOptimizer name).
CONSTRAINTS: dict[str, tuple[str, str, str | None]] = {
    "demographic_parity": ("demographic parity", "DemographicParity", "demographic_parity"),
    "equalized_odds": ("equalized odds", "EqualizedOdds", "equalized_odds"),
    "true_positive_rate_parity": (
        "equal opportunity (TPR parity)",
        "TruePositiveRateParity",
        "true_positive_rate_parity",
    ),
    # ThresholdOptimizer cannot enforce error-rate parity (fairlearn offers no such option).
    "error_rate_parity": ("error rate parity", "ErrorRateParity", None),
}
CONSTRAINT_ALIASES = {
    "dp": "demographic_parity",
    "eo": "equalized_odds",
    "equal_opportunity": "true_positive_rate_parity",
    "tpr": "true_positive_rate_parity",
    "tpr_parity": "true_positive_rate_parity",
    "erp": "error_rate_parity",
}


@dataclass(frozen=True)
class Method:
    stage: str
    label: str
    needs_constraint: bool
    randomized: bool
    sensitive_at_prediction: bool
    caveats: tuple[str, ...] = field(default_factory=tuple)


SENSITIVE_AT_PREDICTION = (
    "Needs the sensitive attribute of every person at prediction time: the deployed "
    "system must collect it and feed it to the model. Where law forbids using a protected "
    "attribute in the decision itself (e.g. disparate-treatment rules in US credit and "
    "employment law, such as the ban on group-specific cut-off scores in 42 U.S.C. "
    "§ 2000e-2(l), or direct discrimination under EU equality law), this option may be "
    "unlawful however fair its outcomes look; take legal advice before deploying it."
)
RANDOMIZED = (
    "Randomized: a person whose probability of a positive decision lies strictly between "
    "0 and 1 gets a random draw. rai-audit seeds the draws (config seed), so the same rows "
    "in the same order get the same decisions and the audit can be reproduced, but the same "
    "person scored again in a different batch may get a different decision. Explaining, "
    "contesting and logging a decision that is partly a lottery needs care (adverse-action "
    "notices, the right to an explanation)."
)
TRAINING_ONLY = (
    "Uses the sensitive attribute only when training; the deployed model does not take it "
    "as an input (it can still learn proxies of it from other columns)."
)

METHODS: dict[str, Method] = {
    "reweighing": Method(
        stage="pre-processing",
        label="Reweighing (Kamiran & Calders)",
        needs_constraint=False,
        randomized=False,
        sensitive_at_prediction=False,
        caveats=(
            TRAINING_ONLY,
            "Weights make group and label independent in the training data; they do not "
            "constrain the model, so the gap it removes on held-out rows can be small, "
            "especially when proxies of the attribute remain among the inputs.",
        ),
    ),
    "correlation_remover": Method(
        stage="pre-processing",
        label="Correlation remover",
        needs_constraint=False,
        randomized=False,
        sensitive_at_prediction=True,
        caveats=(
            SENSITIVE_AT_PREDICTION,
            "Removes only the linear correlation between the inputs and the group "
            "indicators. The correction shifts each input by a group-dependent amount, so a "
            "non-linear model (trees, boosting) can read group membership from the shifted "
            "values and learn the attribute itself; it suits linear models best. Check this "
            "strategy's gaps rather than assuming they shrank.",
        ),
    ),
    "exponentiated_gradient": Method(
        stage="in-processing",
        label="Exponentiated gradient",
        needs_constraint=True,
        randomized=True,
        sensitive_at_prediction=False,
        caveats=(RANDOMIZED, TRAINING_ONLY),
    ),
    "grid_search": Method(
        stage="in-processing",
        label="Grid search",
        needs_constraint=True,
        randomized=False,
        sensitive_at_prediction=False,
        caveats=(
            TRAINING_ONLY,
            "Deterministic: picks one retrained model from a grid of Lagrange multipliers; "
            "with many groups a small grid covers the trade-off only coarsely.",
        ),
    ),
    "threshold_optimizer": Method(
        stage="post-processing",
        label="Threshold optimizer",
        needs_constraint=True,
        randomized=True,
        sensitive_at_prediction=True,
        caveats=(
            SENSITIVE_AT_PREDICTION,
            RANDOMIZED,
            "Group thresholds are fitted on the baseline's scores of the training rows; "
            "a model fits its training rows better than new ones, so the parity reached on "
            "held-out rows can fall short of the target.",
        ),
    ),
}

# The default set (`all`), compared on every audit of a model unless `--mitigate none`: pre- and
# post-processing, fast enough to run by default. In-processing
# retrains the estimator 10-50 times (about 1-2 s each for boosted trees on 14k rows), so it is
# opt-in; `benchmarks/bench_mitigation.py` prints what each strategy costs.
DEFAULT_SET = (
    "reweighing",
    "correlation_remover",
    "threshold_optimizer:demographic_parity",
    "threshold_optimizer:equalized_odds",
    "threshold_optimizer:true_positive_rate_parity",
)
BASELINE = "baseline"
# Folds of the cross-fitting used when the audit has no training rows (a loaded model audited
# on every row; see audit/mitigation/crossfit.py); each strategy is then fitted FOLDS + 1 times.
# Three folds fit each strategy on 2/3 of the rows, about what a 70/30 split trains on, and keep
# the default set affordable: on the demo (20,000 rows, boosted trees) the stage takes ~28 s of
# CPU with 3 folds, ~41 s with 5, against ~10 s on a 70/30 split (measured on 2 cores).
DEFAULT_FOLDS = 3


def all_names() -> list[str]:
    """Every valid canonical strategy name."""
    names = []
    for method, spec in METHODS.items():
        if not spec.needs_constraint:
            names.append(method)
            continue
        for constraint, (_, _, threshold_name) in CONSTRAINTS.items():
            if method == "threshold_optimizer" and threshold_name is None:
                continue
            names.append(f"{method}:{constraint}")
    return names


def canonical(name: str) -> str:
    """The canonical form of one strategy name; ValueError naming what is allowed."""
    text = str(name).strip().lower().replace("-", "_")
    method, sep, constraint = text.partition(":")
    if method not in METHODS:
        raise ValueError(
            f"unknown mitigation strategy '{name}'. Methods: {', '.join(METHODS)} "
            "('all' = the default set, 'none' = no mitigation)"
        )
    spec = METHODS[method]
    if not spec.needs_constraint:
        if sep:
            raise ValueError(f"'{method}' takes no constraint; write just '{method}'")
        return method
    if not constraint:
        choices = ", ".join(f"{method}:{c}" for c in CONSTRAINTS if _allowed(method, c))
        raise ValueError(f"'{method}' needs a constraint, one of: {choices}")
    constraint = CONSTRAINT_ALIASES.get(constraint, constraint)
    if constraint not in CONSTRAINTS:
        raise ValueError(
            f"unknown constraint '{constraint}' in '{name}'; constraints: "
            f"{', '.join(CONSTRAINTS)} (aliases: {', '.join(CONSTRAINT_ALIASES)})"
        )
    if not _allowed(method, constraint):
        allowed = ", ".join(c for c in CONSTRAINTS if _allowed(method, c))
        raise ValueError(
            f"fairlearn's ThresholdOptimizer cannot enforce {constraint} (it supports "
            f"{allowed}); use exponentiated_gradient:{constraint} or "
            f"grid_search:{constraint} instead"
        )
    return f"{method}:{constraint}"


def _allowed(method: str, constraint: str) -> bool:
    return not (method == "threshold_optimizer" and CONSTRAINTS[constraint][2] is None)


def resolve(names: list[str]) -> list[str]:
    """Canonical, de-duplicated strategy names; ``all`` expands to the default set."""
    lowered = [str(n).strip().lower() for n in names]
    if "none" in lowered:
        if len(lowered) > 1:
            raise ValueError("'none' switches mitigation off and cannot be combined with others")
        return []
    resolved: list[str] = []
    for name in names:
        expanded = DEFAULT_SET if str(name).strip().lower() == "all" else (canonical(name),)
        resolved.extend(n for n in expanded if n not in resolved)
    return resolved


def method_of(name: str) -> str:
    return name.partition(":")[0]


def constraint_of(name: str) -> str | None:
    return name.partition(":")[2] or None


def label(name: str) -> str:
    """A human label such as 'Threshold optimizer — equalized odds'."""
    if name == BASELINE:
        return "Baseline (no mitigation)"
    method, _, constraint = name.partition(":")
    text = METHODS[method].label
    return f"{text} — {CONSTRAINTS[constraint][0]}" if constraint else text


def file_name(name: str) -> str:
    """File a saved mitigated model is written to (no ':' so it is valid on every OS)."""
    return f"mitigated-{name.replace(':', '-')}.skops"
