"""Reweighing (Kamiran & Calders, 2012): sample weights that make group and label independent.

Each training row of group ``a`` with label ``y`` gets the weight

    w(a, y) = P(A = a) · P(Y = y) / P(A = a, Y = y)

i.e. the count expected if group and label were independent divided by the count
observed. Under these weights every group has the overall positive rate, so a
learner no longer gains by using group membership (or its proxies) to predict the
label. Reference: F. Kamiran and T. Calders, "Data preprocessing techniques for
classification without discrimination", Knowledge and Information Systems 33 (2012).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def reweighing_weights(groups: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kamiran & Calders weights ``P(A=a) P(Y=y) / P(A=a, Y=y)``, one per row.

    Parameters
    ----------
    groups : numpy.ndarray
        Group label of each row (one sensitive feature, or an intersectional key).
    y : numpy.ndarray
        Binary label of each row.

    Returns
    -------
    numpy.ndarray
        One positive weight per row. The weights sum to the number of rows, and the
        weighted positive rate of every group equals the overall positive rate.
    """
    groups = np.asarray(groups)
    y = np.asarray(y)
    if len(groups) != len(y):
        raise ValueError(f"{len(groups)} group labels but {len(y)} labels.")
    n = len(y)
    # Counts of each (group, label) cell; every observed cell is non-empty, so no 0/0.
    frame = pd.DataFrame({"a": groups, "y": y})
    n_a = frame.groupby("a")["y"].transform("size").to_numpy(dtype=float)
    n_y = frame.groupby("y")["a"].transform("size").to_numpy(dtype=float)
    n_ay = frame.groupby(["a", "y"])["y"].transform("size").to_numpy(dtype=float)
    return (n_a / n) * (n_y / n) / (n_ay / n)
