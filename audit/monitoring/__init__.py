"""Fairness over time: the evaluated rows cut into time windows, each audited by the same
metric engine, with an alert when a window's disparity leaves the reference window's
interval (``monitoring:``, ``--time-column``)."""
