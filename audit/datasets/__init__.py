"""Audit datasets: synthetic scenarios with planted problems and local public benchmarks."""

from audit.datasets.decision_log import make_decision_log
from audit.datasets.public import (
    PUBLIC_DATASETS,
    PublicDataset,
    load_adult,
    load_compas,
    load_german,
    load_public,
)
from audit.datasets.synthetic import (
    SCENARIOS,
    Scenario,
    make_credit,
    make_hiring,
    make_offers,
    make_scenario,
)

__all__ = [
    "PUBLIC_DATASETS",
    "SCENARIOS",
    "PublicDataset",
    "Scenario",
    "load_adult",
    "load_compas",
    "load_german",
    "load_public",
    "make_credit",
    "make_decision_log",
    "make_hiring",
    "make_offers",
    "make_scenario",
]
