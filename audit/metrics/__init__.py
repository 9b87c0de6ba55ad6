"""Performance and fairness metrics: overall, per group, and disparities between groups."""
