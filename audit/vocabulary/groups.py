"""How groups are named: the separator of an intersection and the label of missing values."""

# Between column names and between group labels of an intersection: "sex × race",
# "female × Black". One separator everywhere: metrics, quality checks, mitigation keys.
SEPARATOR = " × "
# The group of rows whose sensitive value is missing (fairness.missing: group).
MISSING_GROUP = "(missing)"
