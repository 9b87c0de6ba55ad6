"""Bias mitigation: pre-, in- and post-processing strategies, compared with the baseline.

The strategy names, constraints, default set and caveats are vocabulary
(:mod:`audit.vocabulary.strategies`), which the configuration validates against. Modules:

* :mod:`audit.mitigation.reweighing` — Kamiran & Calders sample weights;
* :mod:`audit.mitigation.estimators` — the small, skops-loadable classifiers a
  mitigated model is saved as (group thresholds, randomized mixtures, group key);
* :mod:`audit.mitigation.strategies` — fitting each strategy on the training rows;
* :mod:`audit.mitigation.compare` — Pareto front, ranking and recommendation, from
  plain measured results only;
* :mod:`audit.mitigation.crossfit` — the folds a strategy is cross-fitted on when the
  audit has no training rows (a loaded model audited on every row), and what they allow;
* :mod:`audit.mitigation.section` — the section of a stage that did not run, and the
  slim fairness entries kept per strategy (light: no scikit-learn);
* :mod:`audit.mitigation.stage` — the audit stage (the default set unless switched off):
  fit, predict the held-out rows (or every row, out of fold), measure every strategy with
  :func:`audit.metrics.measure` (randomized ones at their expected rates, with the
  spread of single draws), compare. The chosen model is saved like any other, by
  :mod:`audit.outputs` (skops, never pickle).
"""
