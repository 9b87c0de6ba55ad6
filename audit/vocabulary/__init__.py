"""The audit's vocabulary: names and grammar that configuration validation needs.

Metric and disparity names with their definitions (:mod:`~audit.vocabulary.metrics`),
data-quality check ids (:mod:`~audit.vocabulary.checks`), mitigation strategy names
(:mod:`~audit.vocabulary.strategies`), the policy rule grammar
(:mod:`~audit.vocabulary.rules`), how groups are named (:mod:`~audit.vocabulary.groups`)
and the report's detail levels (:mod:`~audit.vocabulary.report`).
This package is the ground floor: it imports no stage, so the config can validate a file
before any data is read, and the stages share one spelling of every name.
"""
