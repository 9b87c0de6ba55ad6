"""rai-audit: audit machine-learning models before they are deployed."""

import os

# Before any numeric library loads: OpenMP threads that spin-wait for work take the CPU that
# other processes on a shared machine need, and a 0.3 s model fit then takes a minute when
# one other process is busy. Passive waiting costs nothing measurable here. A value the user
# set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
