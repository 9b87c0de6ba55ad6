"""Every figure of the report is readable at the size the PDF shows it.

Each figure is drawn from small hand-made inputs with large numbers (incomes of 20,000 to
400,000) and long labels, and the matplotlib Figure is inspected as it was saved: numbered
tick labels with thousands separators or a unit (50k), at most 8 ticks on a numbered axis,
no two tick labels overlapping, every legend inside the saved image and off the plotted
area, and an image of bounded size.
"""

from __future__ import annotations

import base64
import io
import math
import re
import struct

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.ticker import FixedLocator
from PIL import Image

from audit.report import explain_plots, fairness_plots, mitigation_plots, plots
from audit.text import data_value_text

LONG = "applicant's self-reported ethnic background as recorded on the form"
GROUPS = [f"{LONG} — group {i}" for i in range(12)]
# A number as a reader takes it in: 0.25, −1.5, 2,500, 400k, 1.5M; never 50000 or 1e5.
READABLE_NUMBER = re.compile(r"−?\d{1,3}(,\d{3})*(\.\d+)?[kMB]?")
NUMERIC = re.compile(r"[−\-+]?[\d.,]+(e[−\-+]?\d+)?[kMB]?")


@pytest.fixture
def drawn(monkeypatch) -> list[tuple[Figure, str]]:
    """Each figure drawn by the plotting modules, with the data: URI it was saved as."""
    shown: list[tuple[Figure, str]] = []

    def keep(figure: Figure) -> str:
        uri = plots.to_data_uri(figure)
        shown.append((figure, uri))
        return uri

    for module in (fairness_plots, explain_plots, mitigation_plots):
        monkeypatch.setattr(module, "to_data_uri", keep)
    return shown


def png_size(uri: str) -> tuple[int, int]:
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def shown_labels(axis) -> list:
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * ((high - low) or 1.0)
    return [
        tick.label1
        for tick in axis.get_major_ticks()
        if tick.get_visible()
        and tick.label1.get_visible()
        and tick.label1.get_text()
        and low - slack <= tick.get_loc() <= high + slack
    ]


def overlapping(labels, renderer) -> list[tuple[str, str]]:
    """Pairs of neighbouring tick labels whose drawn texts overlap or touch."""
    pairs = []
    for first, second in zip(labels, labels[1:], strict=False):
        angle = math.radians(first.get_rotation() % 180)
        if abs(math.sin(angle)) < 1e-6 or abs(math.cos(angle)) < 1e-6:
            # At least a third of a letter apart: "50000100000" touches without overlapping.
            pad = first.get_fontsize() * first.figure.dpi / 72 / 6
            boxes = [t.get_window_extent(renderer).padded(pad) for t in (first, second)]
            clash = boxes[0].overlaps(boxes[1])
        else:
            # Slanted labels are parallel strips one line high: apart when the distance
            # between their baselines is at least a line.
            (x1, y1), (x2, y2) = (
                t.get_transform().transform(t.get_unitless_position()) for t in (first, second)
            )
            apart = abs((x2 - x1) * math.sin(angle) - (y2 - y1) * math.cos(angle))
            clash = apart < first.get_fontsize() * first.figure.dpi / 72
        if clash:
            pairs.append((first.get_text(), second.get_text()))
    return pairs


def assert_readable(figure: Figure, uri: str, max_width: int = 1000) -> None:
    FigureCanvasAgg(figure).draw()  # a closed figure has lost its canvas
    renderer = figure.canvas.get_renderer()
    for axes in figure.axes:
        if not axes.get_visible():
            continue
        for axis in (axes.xaxis, axes.yaxis):
            labels = shown_labels(axis)
            texts = [label.get_text() for label in labels]
            if not isinstance(axis.get_major_locator(), FixedLocator):  # numbered
                assert len(labels) <= 8, texts
            for text in texts:
                if NUMERIC.fullmatch(text):
                    assert READABLE_NUMBER.fullmatch(text), texts
                else:  # a category, shortened (less along the x axis) but told apart
                    assert len(text) <= (30 if axis is axes.xaxis else 60), text
            assert not overlapping(labels, renderer), texts
            assert len(set(texts)) == len(texts), texts
    saved = figure.get_tightbbox(renderer).padded(0.1)  # inches, as savefig(bbox="tight")
    for legend in figure.findobj(Legend):
        entries = [text.get_text() for text in legend.get_texts()]
        assert len(set(entries)) == len(entries), entries
        box = legend.get_window_extent(renderer).transformed(figure.dpi_scale_trans.inverted())
        assert saved.x0 <= box.x0 and box.x1 <= saved.x1, (box, saved)
        assert saved.y0 <= box.y0 and box.y1 <= saved.y1, (box, saved)
        for axes in figure.axes:
            if axes.get_visible() and axes.get_label() != "<colorbar>":
                assert not legend.get_window_extent(renderer).overlaps(axes.bbox), "over data"
    width, height = png_size(uri)
    assert width <= max_width and height <= 2000, (width, height)


# -- inputs ----------------------------------------------------------------------------------


def group_feature(regression: bool = False, groups: list[str] = GROUPS) -> dict:
    rng = np.random.default_rng(1)
    rows = []
    for group in groups:
        if regression:  # incomes: large numbers on the rate axis
            mean = float(rng.uniform(20_000, 200_000))
            row = {"group": group, "n": 300, "mae": 9_000.0}
            row |= {"mean_prediction": mean, "mean_target": mean * 1.1}
            row["ci"] = {"mean_prediction": [mean - 5_000, mean + 5_000]}
        else:
            rate = float(rng.uniform(0.2, 0.9))
            row = {"group": group, "n": 300, "selection_rate": rate, "tpr": rate, "fpr": 0.1}
            row["ci"] = {"selection_rate": [rate - 0.05, min(rate + 0.05, 1.0)]}
        rows.append(row | {"insufficient": group == groups[-1]})
    return {"feature": LONG, "groups": rows}


def verdicts() -> list[dict]:
    return [
        {
            "feature": LONG,
            "group": group,
            "metric": "demographic_parity_ratio",
            "value": 0.7,
            "ci": [0.6, 0.95],
            "bound": 0.8,
            "verdict": "inconclusive",
        }
        for group in GROUPS[:6]
    ]


def mitigation() -> dict:
    stages = ["none", "pre-processing", "in-processing", "post-processing"]
    strategies = []
    for i in range(6):
        value = 0.05 + 0.07 * i
        strategies.append(
            {
                "name": "baseline" if i == 0 else f"s{i}",
                "label": f"Strategy {i}: {LONG}",
                "stage": stages[min(i, 3)],
                "disparity": {"value": value, "ci": [value - 0.03, value + 0.05]},
                "accuracy": 0.70 + 0.01 * i,
                "pareto_optimal": i % 2 == 0,
                "draws": {"disparity": [value - 0.01, value + 0.01], "accuracy": [0.69, 0.72]}
                if i == 5
                else None,
            }
        )
    return {
        "status": "ran",
        "strategies": strategies,
        "disparity": {
            "label": "demographic parity difference",
            "scope": "worst over " + LONG,
            "better": "lower",
        },
        "fitting": {"how": "training rows"},
    }


FEATURES = ["income", "loan_amount", "region of residence as written on the application", "age"]


def explanations(n: int = 200) -> dict:
    rng = np.random.default_rng(2)
    income = rng.uniform(20_000, 400_000, n).round()
    regions = [f"{LONG} {i}" for i in range(6)]
    sensitive = {"codes": rng.integers(0, 5, n).tolist(), "labels": GROUPS[:5]}
    rows = {
        "income": {
            "kind": "numeric",
            "values": income.tolist(),
            "shap": (income / 1e5 - 2).tolist(),
        },
        "loan_amount": {
            "kind": "numeric",
            "values": rng.uniform(1_000, 2_000_000, n).tolist(),
            "shap": rng.normal(0, 0.3, n).tolist(),
        },
        FEATURES[2]: {
            "kind": "categorical",
            "categories": regions,
            "values": rng.integers(0, 6, n).tolist(),
            "shap": rng.normal(0, 0.2, n).tolist(),
        },
        "age": {
            "kind": "numeric",
            "values": rng.integers(18, 90, n).tolist(),
            "shap": rng.normal(0, 0.1, n).tolist(),
        },
    }
    mean_abs = {name: 0.5 / (k + 1) for k, name in enumerate(FEATURES)}
    comparison = {
        "group": GROUPS[1],
        "gap": 0.4,
        "gap_se": 0.05,
        "contributions": {name: 0.1 for name in FEATURES},
        "contribution_se": {name: 0.02 for name in FEATURES},
    }
    return {
        "status": "explained",
        "output_space": "log-odds",
        "top_features": 4,
        "features": [{"feature": name} for name in FEATURES],
        "rows": {"n": n, "features": rows, "groups": {LONG: sensitive}},
        "proxies": {"associations": [{"feature": "income", "sensitive": LONG, "value": 0.3}]},
        "by_group": [
            {
                "sensitive": LONG,
                "groups": [
                    {"group": g, "n_explained": 1_234, "mean_abs_shap": mean_abs}
                    for g in GROUPS[:5]
                ],
            }
        ],
        "disparity": [
            {
                "sensitive": LONG,
                "reference": GROUPS[0],
                "largest": GROUPS[1],
                "comparisons": [comparison],
            }
        ],
        "cases": [
            {
                "id": "case-1",
                "base_value": -0.3,
                "output": 0.9,
                "threshold_output": 0.0,
                "values": {"income": 187_500.0, "loan_amount": 1_250_000, FEATURES[2]: LONG},
                "shap": {name: 0.3 for name in FEATURES},
            }
        ],
        "variants": [],
    }


# -- the figures -----------------------------------------------------------------------------


def test_the_number_formatter_writes_thousands_and_units():
    formatter = plots.NumberFormatter()
    cases = {
        (0, 50_000, 100_000, 150_000): ["0", "50k", "100k", "150k"],
        (0, 2_500, 5_000, 7_500): ["0", "2,500", "5,000", "7,500"],
        (0.0, 0.25, 0.5): ["0.00", "0.25", "0.50"],
        (-2.0, 0.0, 2.0): ["−2", "0", "2"],
        (0, 1_500_000, 3_000_000): ["0.0", "1.5M", "3.0M"],
        (1_000_000.5, 1_000_001.0, 1_000_001.5): ["1,000,000.5", "1,000,001.0", "1,000,001.5"],
        (100_125, 100_250): ["100,125", "100,250"],
    }
    for locs, expected in cases.items():
        formatter.set_locs(locs)
        assert [formatter(v) for v in locs] == expected
    assert data_value_text(45_197) == "45,197" and data_value_text(0.158) == "0.158"


@pytest.mark.parametrize("regression", [False, True])
def test_group_chart(drawn, regression):
    fairness_plots.group_chart(group_feature(regression))
    ((figure, uri),) = drawn
    assert_readable(figure, uri)


def test_group_chart_with_few_short_groups_keeps_them_upright(drawn):
    fairness_plots.group_chart(group_feature(groups=["a", "b", "c"]))
    ((figure, uri),) = drawn
    assert_readable(figure, uri)
    assert all(label.get_rotation() == 0 for label in figure.axes[0].get_xticklabels())


def test_verdict_chart(drawn):
    fairness_plots.verdict_chart(verdicts())
    ((figure, uri),) = drawn
    assert_readable(figure, uri)


def test_tradeoff_chart(drawn):
    mitigation_plots.tradeoff_chart(mitigation())
    ((figure, uri),) = drawn
    assert_readable(figure, uri)


def test_explanation_figures(drawn):
    figures = explain_plots.explanation_figures(explanations())
    assert set(figures) >= {"summary", "dependence", "by_group", "disparity", "cases"}
    assert len(drawn) == 5  # beeswarm, dependence, by group, disparity, one waterfall
    for figure, uri in drawn:
        assert_readable(figure, uri)


def test_every_annex_job_is_a_figure_and_none_is_planned_that_would_not_be_drawn(drawn):
    """The annex's PDF is laid out from placeholders, one per job, before the jobs run: a
    job that draws nothing would leave a placeholder WeasyPrint cannot fill."""
    ex = explanations()
    jobs = explain_plots.annex_jobs(ex)
    assert all(isinstance(draw(), str) for _, draw in jobs)
    assert len(drawn) == len(jobs) and ("dependence",) in [key for key, _ in jobs]
    ex["features"] = []  # nothing to plot against: no dependence plot, and no job for one
    assert explain_plots.dependence(ex) is None
    assert ("dependence",) not in [key for key, _ in explain_plots.annex_jobs(ex)]


def test_the_income_dependence_axis_reads_in_thousands_and_its_labels_stay_apart(drawn):
    short = explanations()
    short["rows"]["groups"][LONG]["labels"] = ["A", "B", "C", "D", "E"]
    explain_plots.dependence(short)
    ((figure, uri),) = drawn
    # Was 50000100000150000…: eight labels of six digits, touching, on a 3-inch axis.
    assert_readable(figure, uri)
    income = next(a for a in figure.axes if a.get_xlabel() == "income")
    texts = [label.get_text() for label in shown_labels(income.xaxis)]
    assert "100k" in texts and not any("00000" in text for text in texts), texts


def test_waterfall_values_have_thousands_separators_and_fit_inside(drawn):
    explain_plots.case_figures(explanations())
    ((figure, uri),) = drawn
    assert_readable(figure, uri)
    axes = figure.axes[0]
    renderer = figure.canvas.get_renderer()
    # The steps' names are written left of the axes, the values at the bars' ends inside.
    left = [t for t in axes.texts if t.get_window_extent(renderer).x1 <= axes.bbox.x0]
    values = [t for t in axes.texts if t not in left]
    names = [text.get_text() for text in left]
    assert "income = 187,500" in names and "loan_amount = 1,250,000" in names, names
    assert len(names) == len(values) == len(explanations()["cases"][0]["shap"]), names
    # One name per bar, bottom to top, each level with its bar and clear of its neighbours.
    bars = sorted(axes.patches, key=lambda bar: bar.get_y())
    for text, bar in zip(sorted(left, key=lambda t: t.get_position()[1]), bars, strict=True):
        assert abs(text.get_position()[1] - (bar.get_y() + bar.get_height() / 2)) < 1e-9
    assert not overlapping(sorted(left, key=lambda t: t.get_position()[1]), renderer), names
    for text in values:
        box = text.get_window_extent(renderer)
        assert axes.bbox.x0 <= box.x0 and box.x1 <= axes.bbox.x1, text.get_text()


def test_many_groups_turn_their_labels_and_stay_apart(drawn):
    fairness_plots.group_chart(group_feature(groups=[f"{LONG} {i}" for i in range(40)]))
    ((figure, uri),) = drawn
    assert_readable(figure, uri, max_width=1400)  # wider only when upright labels would touch
    assert {label.get_rotation() for label in figure.axes[0].get_xticklabels()} == {90}


def _bars(transparent: bool = False) -> Figure:
    figure = plots.plt.figure(figsize=(3, 2))
    if transparent:
        figure.patch.set_alpha(0.0)
    axes = figure.add_subplot()
    axes.bar([0, 1, 2], [1, 3, 2], color=plots.PALETTE[:3])
    axes.text(0.2, 2.5, "label")
    axes.set_axis_off()
    return figure


def test_figures_are_opaque_rgb_pngs_with_the_pixels_matplotlib_draws():
    # RGB, no alpha: WeasyPrint would encode an alpha channel a second time, as a mask.
    with plots.plt.rc_context(plots.STYLE):
        ours = Image.open(io.BytesIO(base64.b64decode(plots.to_data_uri(_bars()).split(",")[1])))
        reference = _bars()
        reference.canvas.draw()  # the view limits are set when drawn
        renderer = reference.canvas.get_renderer()
        bbox = reference.get_tightbbox(renderer).padded(plots.plt.rcParams["savefig.pad_inches"])
        buffer = io.BytesIO()
        reference.savefig(buffer, format="png", dpi=plots.FIGURE_DPI, bbox_inches=bbox)
        plots.plt.close(reference)
    theirs = np.asarray(Image.open(buffer))
    assert ours.mode == "RGB" and theirs.shape[2] == 4 and (theirs[..., 3] == 255).all()
    assert ours.size == (theirs.shape[1], theirs.shape[0])
    assert np.array_equal(np.asarray(ours), theirs[..., :3])
    # PNG keeps dots per metre, in whole numbers: 110 dpi reads back as 110.0074.
    assert ours.info.get("dpi") == pytest.approx((plots.FIGURE_DPI,) * 2, abs=0.01)


def test_a_transparent_figure_is_laid_on_white():
    with plots.plt.rc_context(plots.STYLE):
        uri = plots.to_data_uri(_bars(transparent=True))
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",")[1]))))
    assert pixels.shape[2] == 3
    assert (pixels[0, 0] == 255).all() and (pixels[-1, -1] == 255).all()  # not black
    assert (pixels < 250).any()  # the bars are drawn
