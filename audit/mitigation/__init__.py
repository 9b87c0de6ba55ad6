"""Bias mitigation: pre-, in- and post-processing strategies, compared with the baseline.

Modules (kept import-light, because ``audit.config`` reads the catalogue while it is
itself being imported):

* :mod:`audit.mitigation.catalogue` — strategy names, constraints, the default set,
  and the honest caveats of each method;
* :mod:`audit.mitigation.reweighing` — Kamiran & Calders sample weights;
* :mod:`audit.mitigation.estimators` — the small, skops-loadable classifiers a
  mitigated model is saved as (group thresholds, randomized mixtures, group key);
* :mod:`audit.mitigation.strategies` — fitting each strategy on the training rows;
* :mod:`audit.mitigation.compare` — Pareto front, ranking and recommendation, from
  plain measured results only;
* :mod:`audit.mitigation.crossfit` — the folds a strategy is cross-fitted on when the
  audit has no training rows (a loaded model audited on every row), and what they allow;
* :mod:`audit.mitigation.stage` — the audit stage (the default set unless switched off):
  fit, predict the held-out rows (or every row, out of fold), measure every strategy with
  :func:`audit.metrics.measure` (randomized ones at their expected rates, with the
  spread of single draws), compare;
* :mod:`audit.mitigation.saving` — the chosen model as skops bytes, for the CLI to write.
"""
