"""Sensitive features as integer group codes: binning, missing values, intersections.

Every sensitive column becomes one code per row (0..K-1) and a label per code.
Continuous columns are binned by config (edges or quantiles) and their bins are
kept for the report; a missing value becomes the explicit group ``(missing)`` or
an error, by config — never a silently dropped row. An *intersection* such as
``sex × race`` is one partition whose groups are the combinations that occur.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd

from audit.errors import AuditError
from audit.text import quoted_list
from audit.vocabulary.groups import MISSING_GROUP, SEPARATOR

# A numeric sensitive column with more distinct values than this must be binned by config.
MAX_UNBINNED_NUMERIC_GROUPS = 20


@dataclass
class EncodedColumn:
    """One sensitive column as codes: ``labels[codes[i]]`` is row i's group."""

    name: str
    labels: list[str]
    codes: np.ndarray
    bins: dict[str, Any] | None = None


@dataclass
class Partition:
    """A way of splitting the rows into groups: one sensitive feature or an intersection.

    Groups are combinations that occur in the data. ``fine_map`` maps each occurring group
    of the finest partition (all sensitive columns crossed) to a group of this one, so the
    counts of this partition are sums of the finest counts: one pass over the rows (and one
    bootstrap draw) serves every partition.
    """

    name: str
    kind: Literal["single", "intersection"]
    columns: list[str]
    labels: list[str]
    fine_map: np.ndarray
    bins: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    def row_codes(self, fine_rows: np.ndarray) -> np.ndarray:
        """Each row's group in this partition, from its finest-group index."""
        return self.fine_map[fine_rows]


@dataclass
class SensitiveCodes:
    """All sensitive columns encoded; the finest group of a row is its mixed-radix code."""

    columns: list[EncodedColumn]

    @property
    def sizes(self) -> list[int]:
        return [len(c.labels) for c in self.columns]

    @property
    def n_fine(self) -> int:
        return int(np.prod(self.sizes, dtype=np.int64))

    def fine_codes(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Finest-group code (mixed radix over all columns) of rows ``start:stop``."""
        first = self.columns[0].codes[start:stop]
        key = first.astype(np.intp)
        for column in self.columns[1:]:
            key *= len(column.labels)
            key += column.codes[start:stop]
        return key


def group_labels(values: pd.Series) -> pd.Series:
    """Group labels as text; missing values become an explicit group, never dropped."""
    return values.astype(str).where(values.notna(), MISSING_GROUP)


def _number(value: float) -> str:
    return f"{value:g}"


def _bin_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the bins cut at interior ``edges``: "< a", "[a, b)", ..., ">= z"."""
    labels = [f"< {_number(edges[0])}"]
    labels += [f"[{_number(a)}, {_number(b)})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return labels + [f"≥ {_number(edges[-1])}"]


def bin_column(values: pd.Series, spec: dict[str, Any], name: str) -> tuple[pd.Series, dict]:
    """Bin a numeric column by ``{"edges": [...]}`` or ``{"quantiles": k}``.

    Bins are closed on the left, open on the right, and open-ended at both extremes
    (values below the first edge or above the last are kept, not dropped).

    Returns
    -------
    (codes as a float Series with NaN for missing values, bin description for the report)
    """
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise AuditError(
            f"fairness.bins.{name}: column '{name}' is not numeric ({values.dtype}); only "
            "numeric sensitive columns can be binned. Remove it from fairness.bins."
        )
    numbers = values.astype(float)
    present = numbers.dropna()
    if spec.get("edges") is not None:
        edges = sorted(float(e) for e in spec["edges"])
        method = "edges"
    else:
        k = int(spec["quantiles"])
        if present.empty:
            raise AuditError(f"fairness.bins.{name}: column '{name}' has no values to bin.")
        # Interior quantiles only: the outer bins are open-ended.
        edges = sorted(set(np.quantile(present.to_numpy(), np.linspace(0, 1, k + 1)[1:-1])))
        method = f"quantiles ({k})"
    if len(edges) != len(set(edges)):
        raise AuditError(f"fairness.bins.{name}.edges has repeated values: {edges}.")
    codes = pd.Series(np.searchsorted(edges, numbers.to_numpy(), side="right"), index=values.index)
    codes = codes.astype(float).where(numbers.notna(), np.nan)
    labels = _bin_labels(edges)
    return codes, {"method": method, "edges": edges, "labels": labels}


def encode_column(
    values: pd.Series,
    name: str,
    bins: dict[str, Any] | None,
    missing: Literal["group", "error"],
) -> EncodedColumn:
    """Codes and labels of one sensitive column (binned when ``bins`` is given)."""
    n_missing = int(values.isna().sum())
    if n_missing and missing == "error":
        raise AuditError(
            f"Sensitive column '{name}' has {n_missing} missing value(s). Fill them, or set "
            f"fairness.missing: group to audit them as an explicit '{MISSING_GROUP}' group."
        )
    description = None
    if bins is not None:
        codes_f, description = bin_column(values, bins, name)
        used = sorted(int(c) for c in codes_f.dropna().unique())
        labels = [description["labels"][c] for c in used]
        remap = np.full(len(description["labels"]), -1)
        remap[used] = np.arange(len(used))
        codes = np.where(codes_f.isna(), len(labels), remap[codes_f.fillna(0).astype(int)])
        description["empty_bins"] = [
            label for i, label in enumerate(description["labels"]) if i not in used
        ]
    else:
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric and values.nunique(dropna=True) > MAX_UNBINNED_NUMERIC_GROUPS:
            raise AuditError(
                f"Sensitive column '{name}' is numeric with {values.nunique()} distinct values: "
                f"bin it, e.g. fairness.bins.{name}: {{quantiles: 4}} or "
                f"{{edges: [25, 40, 60]}} in audit.yaml."
            )
        if isinstance(values.dtype, pd.CategoricalDtype):
            # Straight from the category codes, dropping unused categories with a small
            # lookup table (pandas' remove_unused_categories copies far more per row).
            raw = values.cat.codes.to_numpy()
            used = _used_codes(raw, len(values.cat.categories))
            labels = [str(values.cat.categories[c]) for c in used]
            lookup = np.full(len(values.cat.categories) + 1, len(labels), dtype=np.int64)
            lookup[used] = np.arange(len(used))  # lookup[-1] (missing) stays len(labels)
            codes = _remap(raw, _small_int(lookup, len(labels) + 1))
        else:
            text = values.astype(str)
            raw, uniques = pd.factorize(text.where(values.notna(), None), sort=True)
            labels = [str(u) for u in uniques]
            codes = np.where(raw < 0, len(labels), raw)
    if n_missing:
        labels = [*labels, MISSING_GROUP]
    return EncodedColumn(name, labels, _small_int(np.asarray(codes), len(labels)), description)


def _used_codes(raw: np.ndarray, n_categories: int, chunk: int = 1 << 19) -> np.ndarray:
    """Category codes that occur in ``raw`` (-1 = missing ignored), counted in chunks."""
    seen = np.zeros(n_categories + 1, dtype=np.int64)
    for start in range(0, len(raw), chunk):
        seen += np.bincount(raw[start : start + chunk].astype(np.intp) + 1, minlength=len(seen))
    return np.flatnonzero(seen[1:])


def _remap(raw: np.ndarray, lookup: np.ndarray, chunk: int = 1 << 19) -> np.ndarray:
    """``lookup[raw]`` in chunks, so the index temporaries stay small."""
    out = np.empty(len(raw), dtype=lookup.dtype)
    for start in range(0, len(raw), chunk):
        out[start : start + chunk] = lookup[raw[start : start + chunk]]
    return out


def _small_int(codes: np.ndarray, n: int) -> np.ndarray:
    dtype = np.int8 if n < 2**7 else np.int16 if n < 2**15 else np.int32
    return codes.astype(dtype, copy=False)


def intersection_sets(
    columns: Sequence[str], intersections: bool | list[list[str]]
) -> list[list[str]]:
    """Which column combinations to cross: all of size >= 2 (``True``), none, or a list."""
    if intersections is True:
        sizes = range(2, len(columns) + 1)
        return [list(combo) for size in sizes for combo in combinations(columns, size)]
    if intersections is False:
        return []
    out = []
    for combo in intersections:
        unknown = [c for c in combo if c not in columns]
        if unknown:
            raise AuditError(
                f"fairness.intersections names {quoted_list(unknown)}, which is not a "
                f"sensitive feature (sensitive: {', '.join(columns)}). Add it to data.sensitive, "
                "or remove it from fairness.intersections."
            )
        if len(set(combo)) < 2:
            raise AuditError(
                f"fairness.intersections entry {combo} needs at least two different columns."
            )
        out.append(list(dict.fromkeys(combo)))
    return out


def encode_sensitive(
    sensitive: pd.DataFrame,
    bins: dict[str, dict[str, Any]],
    missing: Literal["group", "error"],
) -> SensitiveCodes:
    """Encode every sensitive column (binning those named in ``bins``)."""
    columns = [str(c) for c in sensitive.columns]
    unknown = [c for c in bins if c not in columns]
    if unknown:
        raise AuditError(
            f"fairness.bins names {quoted_list(unknown)}, which is not a sensitive "
            f"feature (sensitive: {', '.join(columns)}). Add it to data.sensitive, or remove it "
            "from fairness.bins."
        )
    return SensitiveCodes([encode_column(sensitive[c], c, bins.get(c), missing) for c in columns])


def build_partitions(
    codes: SensitiveCodes, present: np.ndarray, intersections: bool | list[list[str]]
) -> list[Partition]:
    """Every partition to audit: each sensitive column alone, then the intersections.

    ``present`` lists the finest-group codes that occur in the data (ascending).
    """
    names = [c.name for c in codes.columns]
    sizes = codes.sizes
    digits = _digits(present, sizes)  # each column's code, per occurring finest group
    partitions = []
    for combo in [[c] for c in names] + intersection_sets(names, intersections):
        idx = [names.index(c) for c in combo]
        key = np.zeros(len(present), dtype=np.int64)
        for i in idx:
            key = key * sizes[i] + digits[:, i]
        used, first, fine_map = np.unique(key, return_index=True, return_inverse=True)
        labels = [
            SEPARATOR.join(codes.columns[i].labels[digits[row, i]] for i in idx) for row in first
        ]
        partitions.append(
            Partition(
                name=SEPARATOR.join(combo),
                kind="single" if len(combo) == 1 else "intersection",
                columns=list(combo),
                labels=labels,
                fine_map=fine_map,
                bins={names[i]: codes.columns[i].bins for i in idx if codes.columns[i].bins},
            )
        )
    return partitions


def _digits(keys: np.ndarray, sizes: Iterable[int]) -> np.ndarray:
    """Mixed-radix digits of ``keys`` (most significant first) for the given radices."""
    sizes = list(sizes)
    out = np.zeros((len(keys), len(sizes)), dtype=np.int64)
    rest = keys.astype(np.int64).copy()
    for j in range(len(sizes) - 1, -1, -1):
        out[:, j] = rest % sizes[j]
        rest //= sizes[j]
    return out
