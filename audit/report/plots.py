"""Shared ground for the report's figures: matplotlib (Agg), palette, style, data: URIs.

Figures are drawn once from the result alone (fairness_plots, explain_plots,
mitigation_plots) and shared by the HTML and the PDF.

Each figure is returned as a ``data:`` URI so the HTML is self-contained and the
PDF renderer never needs to fetch anything.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib
import numpy as np
from PIL import Image

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axis import Axis  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FixedFormatter,
    FixedLocator,
    Formatter,
    MaxNLocator,
    ScalarFormatter,
)

from audit.text import printable, printable_lines  # noqa: E402

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
STYLE = {
    # Group names come from user data: never let "$...$" in them be read as mathtext.
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "svg.hashsalt": "rai-audit",
    # Glyph outlines as drawn, not snapped to the pixel grid: matplotlib 3.11's default
    # hinting made its text layout the largest part of drawing a figure (the demo annex's
    # 23 figures: 3.3 s -> 2.9 s of CPU), and at 110 dpi the letters look the same.
    "text.hinting": "no_hinting",
}


# Figures are drawn at this resolution, for the HTML and the PDF alike.
FIGURE_DPI = 110
# No line of text in a figure is longer than this, whatever a label forgot to shorten: a
# 100 kB group name would otherwise make a figure of a hundred million pixels.
LINE_LIMIT = 120


# At most this many numbered ticks on an axis (fewer when their labels would touch).
MAX_TICKS = 8
# Category labels that would touch are turned this far, then upright if they still would.
SLANT = 30
MINUS = "\u2212"  # as matplotlib writes negative tick labels


class NumberFormatter(Formatter):
    """Tick labels a reader takes in at a glance: ``0.25``, ``2,500``, ``50k``, ``1.5M``.

    Matplotlib's default writes ``50000`` and ``100000`` side by side (and runs them together
    on a narrow axis); here every label of an axis shares one unit (k from 10,000, M from a
    million, B from a billion) and the fewest decimals that tell its ticks apart.
    """

    def __init__(self) -> None:
        self.scale, self.suffix, self.decimals = 1.0, "", 0

    def set_locs(self, locs: Sequence[float]) -> None:
        super().set_locs(locs)
        values = [float(v) for v in locs if math.isfinite(v)]
        largest = max((abs(v) for v in values), default=0.0)
        self.scale, self.suffix = 1.0, ""
        for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e4, "k")):
            if largest >= scale:
                self.scale, self.suffix = (1e3 if suffix == "k" else scale), suffix
                break
        self.decimals = _decimals(values, self.scale)
        if self.scale > 1 and (self.decimals is None or self.decimals > 2):
            # A narrow range of large numbers (1,000,000.5 to 1,000,002.5): written in full.
            self.scale, self.suffix = 1.0, ""
            self.decimals = _decimals(values, 1.0)
        if self.decimals is None:
            self.decimals = 6

    def __call__(self, x: float, pos: int | None = None) -> str:
        return number_text(x, self.scale, self.suffix, self.decimals)


def _decimals(values: Sequence[float], scale: float) -> int | None:
    """The fewest decimals (at most 6) that write every one of ``values / scale`` exactly."""
    for decimals in range(7):
        if all(
            abs(round(v / scale, decimals) - v / scale) < 1e-9 * max(1.0, abs(v / scale))
            for v in values
        ):
            return decimals
    return None


def number_text(value: float, scale: float = 1.0, suffix: str = "", decimals: int = 0) -> str:
    """``value / scale`` with thousands separators, ``decimals`` places and a unit suffix."""
    text = f"{value / scale:,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")  # no "-0"
    return text.replace("-", MINUS) + (suffix if text.strip("0.,") else "")


def readable_axes(axes: plt.Axes, max_ticks: int = MAX_TICKS) -> None:
    """Numbered axes of ``axes``: at most ``max_ticks`` ticks, labelled by NumberFormatter.

    Axes labelled by hand (categories, a colour bar's "low"/"high") are left alone.
    """
    for axis in (axes.xaxis, axes.yaxis):
        if axis.get_scale() != "linear":
            continue
        if isinstance(axis.get_major_formatter(), ScalarFormatter):
            axis.set_major_formatter(NumberFormatter())
        locator = axis.get_major_locator()
        if isinstance(locator, MaxNLocator) and not isinstance(locator, _FewTicks):
            axis.set_major_locator(_FewTicks(max_ticks - 1))


class _FewTicks(MaxNLocator):
    """MaxNLocator with round steps (1, 2, 2.5, 5) and a cap of ``nbins + 1`` ticks."""

    def __init__(self, nbins: int) -> None:
        super().__init__(nbins=nbins, steps=[1, 2, 2.5, 5, 10])
        self.most = nbins


def legend_below(figure: plt.Figure, handles: Iterable[Any] | None = None, **options: Any):
    """The figure's key under its axes, outside them: it never hides data nor is cut off.

    Its entries go side by side in ``ncols`` columns, fewer when that would be wider than
    the figure. Needs the figure laid out by the constrained layout engine (it makes room).
    """
    options = {"loc": "outside lower center", "frameon": False, "fontsize": 8} | options
    if handles is not None:
        options["handles"] = list(handles)
    columns = options.pop("ncols", 1)
    while True:
        legend = figure.legend(ncols=columns, **options)
        if columns == 1:
            return legend
        _lay_out(figure)
        if legend.get_window_extent().width <= figure.bbox.width:
            return legend
        legend.remove()
        columns -= 1


def keep_inside(axes: plt.Axes, texts: Sequence[Text], rounds: int = 3) -> None:
    """Widen the x range of ``axes`` until every one of ``texts`` (value labels written at
    the end of bars) lies inside it, clear of the spines and of the tick labels."""
    if not texts:
        return
    figure = axes.figure
    # A layout engine places the axes when it runs: run it once. Without one the axes are
    # where they were made. Either way a text's extent then follows the x range without
    # laying out again, so the rounds are arithmetic.
    if figure.get_layout_engine() is not None:
        _lay_out(figure)
    renderer = figure.canvas.get_renderer()
    margin = figure.dpi / 12  # a twelfth of an inch clear of the spines
    box = axes.bbox.padded(-margin)
    for _ in range(rounds):
        left = min(text.get_window_extent(renderer).x0 for text in texts)
        right = max(text.get_window_extent(renderer).x1 for text in texts)
        if left >= box.x0 and right <= box.x1:
            return
        low, high = axes.get_xlim()
        per_pixel = (high - low) / box.width
        axes.set_xlim(
            low - 1.5 * max(0.0, box.x0 - left) * per_pixel,
            high + 1.5 * max(0.0, right - box.x1) * per_pixel,
        )


def shown_tick_labels(axis: Axis) -> list[Text]:
    """The tick labels of ``axis`` that are drawn (inside the view, non-empty, visible)."""
    low, high = sorted(axis.get_view_interval())
    span = (high - low) or 1.0
    shown = []
    for tick in axis.get_major_ticks():
        label = tick.label1
        if not (tick.get_visible() and label.get_visible() and label.get_text()):
            continue
        if low - 1e-9 * span <= tick.get_loc() <= high + 1e-9 * span:
            shown.append(label)
    return shown


def labels_touch(labels: list[Text], renderer: Any) -> bool:
    """Whether any two neighbouring labels of one axis overlap, or nearly, as drawn.

    Upright labels are compared by their boxes, which must be apart by half a letter;
    slanted ones (all turned alike, as tick labels are) by the distance between their
    parallel baselines against the line height.
    """
    for first, second in zip(labels, labels[1:], strict=False):
        angle = math.radians(first.get_rotation() % 180)
        if abs(math.sin(angle)) < 1e-6 or abs(math.cos(angle)) < 1e-6:
            space = first.get_fontsize() * first.figure.dpi / 72 * 0.5
            box = first.get_window_extent(renderer).padded(space / 2)
            if box.overlaps(second.get_window_extent(renderer).padded(space / 2)):
                return True
            continue
        (x1, y1), (x2, y2) = (
            label.get_transform().transform(label.get_unitless_position())
            for label in (first, second)
        )
        gap = abs((x2 - x1) * math.sin(angle) - (y2 - y1) * math.cos(angle))
        height = first.get_fontsize() * first.figure.dpi / 72 * 1.2  # one line
        if gap < height:
            return True
    return False


def untangle_ticks(figure: plt.Figure) -> None:
    """No two tick labels of an axis touch: fewer numbered ticks, category labels turned."""
    _lay_out(figure)
    renderer = figure.canvas.get_renderer()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            if not labels_touch(shown_tick_labels(axis), renderer):
                continue
            locator = axis.get_major_locator()
            if isinstance(locator, _FewTicks):
                while locator.most > 1:
                    locator.most -= 1
                    locator.set_params(nbins=locator.most)
                    _lay_out(figure)
                    if not labels_touch(shown_tick_labels(axis), renderer):
                        break
            elif isinstance(locator, FixedLocator) and axis is axes.xaxis:
                slanted = {"rotation": SLANT, "ha": "right", "rotation_mode": "anchor"}
                upright = {"rotation": 90, "ha": "center", "rotation_mode": "default"}
                for style in (slanted, upright):
                    axis.set_tick_params(labelrotation=style["rotation"])
                    for label in axis.get_ticklabels():
                        label.set(**style)
                    _lay_out(figure)
                    if not labels_touch(shown_tick_labels(axis), renderer):
                        break


def _lay_out(figure: plt.Figure) -> None:
    """Bring tick labels (and, with a layout engine, the axes' places) up to date for
    measuring. A layout engine places things only when it runs: it is run alone, not through
    a drawing of the whole figure, which would also draw every artist (the dependence plot's
    thousands of points: three drawings took 0.5 s, one takes 0.3 s); it measures the tick
    labels as it goes. Without one the axes stay where they were made and updating the ticks
    is enough."""
    if (engine := figure.get_layout_engine()) is not None:
        engine.execute(figure)
        return
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            axis.get_majorticklabels()  # sets the ticks and their labels for the view


def to_data_uri(figure: plt.Figure) -> str:
    """The figure as a PNG ``data:`` URI; every text in it made printable first.

    Labels are shortened where they are made (:func:`shorten`); this pass is the one place
    every figure goes through, so no label escapes it: control characters never reach
    matplotlib's renderer (its missing-glyph warnings would print them) and no line is long.
    """
    for text in figure.findobj(Text):
        content = text.get_text()
        safe = printable_lines(content, LINE_LIMIT)
        if safe != content:
            text.set_text(safe)
    for axes in figure.axes:
        # Tick labels are re-made from the axis' formatter at drawing time: clean them there.
        for axis in (axes.xaxis, axes.yaxis):
            for formatter in (axis.get_major_formatter(), axis.get_minor_formatter()):
                if isinstance(formatter, FixedFormatter):
                    formatter.seq = [printable_lines(s, LINE_LIMIT) for s in formatter.seq]
        readable_axes(axes)
    untangle_ticks(figure)
    # The layout untangle_ticks made is final: the tight box is measured here rather than by
    # a second drawing inside savefig, and a layout engine's positions are kept as they are.
    renderer = figure.canvas.get_renderer()
    bbox = figure.get_tightbbox(renderer).padded(plt.rcParams["savefig.pad_inches"])
    _freeze_layout(figure)
    figure.savefig(io.BytesIO(), format="rgba", dpi=FIGURE_DPI, bbox_inches=bbox)
    pixels = np.asarray(figure.canvas.renderer.buffer_rgba())  # what savefig just drew
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(_opaque_png(pixels)).decode("ascii")


def _opaque_png(pixels: np.ndarray) -> bytes:
    """An RGB PNG of the RGBA ``pixels``, laid on white where they are not opaque.

    Every figure has an opaque background, and a PNG without an alpha channel costs
    WeasyPrint one encoding per figure instead of two (the colours, and the alpha as a
    mask); no metadata (no date, no software), so the same figure gives the same bytes.
    """
    if pixels[..., 3].min() < 255:
        white = Image.new("RGBA", (pixels.shape[1], pixels.shape[0]), "white")
        pixels = np.asarray(Image.alpha_composite(white, Image.fromarray(pixels)))
    buffer = io.BytesIO()
    image = Image.fromarray(np.ascontiguousarray(pixels[..., :3]))
    # zlib level 3 rather than Pillow's 6: for the demo's 32 figures, 40% less time and 6%
    # fewer bytes (flat colours and text compress no better with more effort).
    image.save(buffer, format="png", dpi=(FIGURE_DPI, FIGURE_DPI), compress_level=3)
    return buffer.getvalue()


def _freeze_layout(figure: plt.Figure) -> None:
    """Keep the axes where the last drawing's layout engine put them: without an engine,
    savefig draws once, not twice (a layout pass first). None removes the engine, as our
    style sets neither figure.autolayout nor constrained_layout.use."""
    if figure.get_layout_engine() is not None:
        figure.set_layout_engine(None)


def shorten(text: str, limit: int = 22) -> str:
    """A label from data, printable (control characters escaped) and at most ``limit`` long."""
    return printable(text, limit)


def shorten_all(texts: Iterable[Any], limit: int = 22) -> list[str]:
    """Labels shortened as by :func:`shorten`, still told apart: those that would read
    alike (``applicant's self-…`` twice) lose their middle instead of their end."""
    texts = [str(text) for text in texts]
    short = [shorten(text, limit) for text in texts]
    if len(set(short)) == len(short):
        return short
    head = (limit - 1) // 2
    tail = limit - 1 - head
    alike = {text for text in short if short.count(text) > 1}
    for index, text in enumerate(texts):
        full = printable(text, None)
        if short[index] in alike and len(full) > limit:
            short[index] = full[:head] + "…" + full[-tail:]
    return short
