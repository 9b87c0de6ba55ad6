"""rai-audit: audit machine-learning models before they are deployed.

>>> import audit
>>> sorted(audit.__all__)
['AuditConfig', 'AuditError', 'AuditResult', '__version__', 'run']
"""

import os

# Before any numeric library loads: OpenMP threads that spin-wait for work take the CPU that
# other processes on a shared machine need, and a 0.3 s model fit then takes a minute when
# one other process is busy. Passive waiting costs nothing measurable here. A value the user
# set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
__all__ = ["AuditConfig", "AuditError", "AuditResult", "__version__", "run"]

# The public names are imported on first use (PEP 562), so `import audit` stays light and
# the wait policy above is set before numpy, scikit-learn or OpenMP load.
_PUBLIC = {
    "run": "audit.api",
    "AuditResult": "audit.result",
    "AuditConfig": "audit.config",
    "AuditError": "audit.errors",
}


def __getattr__(name: str):
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'audit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
