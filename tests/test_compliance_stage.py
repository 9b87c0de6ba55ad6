"""The compliance stage in the pipeline: the EEOC analysis gets one group label per evaluated
row for every sensitive feature and intersection, named as the fairness section names them,
with the rows of an unknown group left out (counted by hand from the hiring file)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_compliance_ll144 import CELLS, hiring_frame

import audit
from audit.compliance.stage import eeoc_groups
from audit.config import config_from_dict


def test_eeoc_runs_on_every_feature_and_intersection_of_the_audit():
    frame = hiring_frame()
    result = audit.run(
        data=frame,
        target="hired",
        sensitive=["sex", "race"],
        predictions="decision",
        compliance=["eeoc_uniform_guidelines"],
        fairness={"bootstrap": {"resamples": 0}},
        explain={"enabled": False},
        quality={"allow_errors": True},
    )
    section = result.compliance.eeoc_uniform_guidelines
    assert section["rule"] == "eeoc_uniform_guidelines"
    assert [f["feature"] for f in section["features"]] == ["sex", "race", "sex × race"]
    assert [f.feature for f in result.fairness.features] == ["sex", "race", "sex × race"]
    by_feature = {f["feature"]: f for f in section["features"]}
    # sex: 10 rows without a sex are left out; M 97 rows (45 selected), F 93 (33).
    sex = by_feature["sex"]
    assert (sex["rows"], sex["rows_without_group"]) == (190, 10)
    groups = {g["group"]: (g["n"], g["selected"]) for g in sex["groups"]}
    assert groups == {"M": (97, 45), "F": (93, 33)}
    both = {g["group"]: (g["n"], g["selected"]) for g in by_feature["sex × race"]["groups"]}
    expected = {f"{s} × {r}": (n, k) for s, r, n, k in CELLS if s is not None}
    assert both == expected
    assert by_feature["sex × race"]["rows_without_group"] == 10
    assert result.compliance.nyc_ll144 is None and result.compliance.eu_ai_act is None


def test_binned_sensitive_columns_are_grouped_as_the_fairness_section_bins_them():
    frame = pd.DataFrame({"age": [20.0, 30.0, np.nan, 50.0], "sex": ["F", "M", "F", None]})
    config = config_from_dict(
        {"fairness": {"bins": {"age": {"edges": [25, 40]}}, "intersections": True}}
    )
    groups = eeoc_groups(frame, ["age", "sex"], config)
    assert list(groups) == ["age", "sex", "age × sex"]
    assert groups["age"].tolist()[:2] == ["< 25", "[25, 40)"] and pd.isna(groups["age"][2])
    assert groups["age"][3] == "≥ 40"
    joined = groups["age × sex"].tolist()
    assert joined[:2] == ["< 25 × F", "[25, 40) × M"]
    assert pd.isna(joined[2]) and pd.isna(joined[3])  # a missing part leaves the row out
