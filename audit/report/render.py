"""HTML rendering of a result with the Jinja2 templates shipped in ``audit.templates``.

Autoescaping is on for every template: column names and group labels come from
user data and must show as text, never as markup.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from functools import cache, partial
from importlib import resources
from pathlib import PurePath
from typing import Any

import yaml
from jinja2 import Environment, FunctionLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from audit.report import fairness_plots, monitoring_plots, wrapping
from audit.report.background import in_background
from audit.report.explain_plots import (
    Job,
    annex_figures,
    annex_jobs,
    assemble_annex,
    body_figures,
    merge_figures,
)
from audit.report.findings import overall_verdict, top_findings
from audit.report.glossary import glossary
from audit.report.key_numbers import disparate_impact_shown, key_numbers
from audit.report.mitigation_plots import tradeoff_chart
from audit.report.template_cache import CompiledTemplates
from audit.report.tuning_plots import search_chart
from audit.text import (
    data_value_text,
    interval_text,
    number_text,
    p_value_text,
    printable,
    signed_text,
)
from audit.vocabulary.report import DEFAULT_DETAIL, REPORT_DETAILS, REPORT_FILES

# Column names and group labels are shown at most this long in the report (see _finalizer).
LABEL_LIMIT = 60
# Any other text: at most this long, and no unbroken "word" (a label inside a message) longer.
TEXT_LIMIT = 3000
WORD_LIMIT = 200
_LONG_WORD = re.compile(rf"\S{{{WORD_LIMIT + 1},}}")

TEMPLATE_PACKAGE = "audit.templates"
# (file in templates/fonts, CSS family, weight, style). Embedded so the report looks the same
# everywhere, offline, in the browser and in the PDF, whatever fonts the machine has.
FONTS = (
    ("DejaVuSans.woff", "Report Sans", "normal", "normal"),
    ("DejaVuSans-Bold.woff", "Report Sans", "bold", "normal"),
    ("DejaVuSans-Oblique.woff", "Report Sans", "normal", "italic"),
    ("DejaVuSansMono.woff", "Report Mono", "normal", "normal"),
)


def _load_template(name: str) -> str | None:
    resource = resources.files(TEMPLATE_PACKAGE).joinpath(*name.split("/"))
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


# How the PDF renderer asks for a bundled font (see audit/report/pdf.py): parsing the fonts
# as data: URIs inside the stylesheet costs WeasyPrint over a second per report.
FONT_SCHEME = "rai-font"


def font_bytes(file: str) -> bytes:
    if file not in {entry[0] for entry in FONTS}:
        raise ValueError(f"not a bundled font: {file}")
    return (resources.files(TEMPLATE_PACKAGE) / "fonts" / file).read_bytes()


@cache
def font_faces(embedded: bool = True) -> str:
    """@font-face rules: the bundled fonts as data: URIs (HTML), or by name for the PDF."""
    rules = []
    for file, family, weight, style in FONTS:
        if embedded:
            url = "data:font/woff;base64," + base64.b64encode(font_bytes(file)).decode("ascii")
        else:
            url = f"{FONT_SCHEME}:{file}"
        rules.append(
            f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
            f'font-style: {style}; src: url({url}) format("woff"); }}'
        )
    return "\n".join(rules)


@cache  # read and resolved once per process, not for each document of a report
def stylesheet(embedded_fonts: bool = True) -> str:
    """The report's CSS with its @font-face rules (see :func:`font_faces`): one look for the
    report and every other page rai-audit writes."""
    css = resolve_variables(_load_template("report.css") or "")
    return font_faces(embedded=embedded_fonts) + "\n" + css


_ROOT_RULE = re.compile(r":root\s*\{([^}]*)\}")
_DECLARATION = re.compile(r"(--[\w-]+)\s*:\s*([^;]+?)\s*(?:;|$)")
_VARIABLE = re.compile(r"var\(\s*(--[\w-]+)\s*\)")


def resolve_variables(css: str) -> str:
    """``css`` with each ``var(--name)`` replaced by the value its ``:root`` rule gives.

    The same look, and WeasyPrint no longer resolves a variable in every table cell it lays
    out (its cascade did so for each border and background: 1% of the annex's work, 1.6% of
    the main body's, counted in Python calls).
    """
    root = _ROOT_RULE.search(css)
    values = dict(_DECLARATION.findall(root.group(1))) if root else {}
    return _VARIABLE.sub(lambda variable: values.get(variable[1], variable[0]), css)


def _percent(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def _labels(result: dict[str, Any]) -> set[str]:
    """The column names and group labels of ``result``: values from the data."""
    data = result.get("data") or {}
    labels = {column.get("name") for column in data.get("columns", [])}
    labels.update(data.get("sensitive", []))
    for column, sizes in (data.get("group_sizes") or {}).items():
        labels.add(column)
        labels.update(sizes)
    for feature in (result.get("fairness") or {}).get("features", []):
        labels.update((feature.get("feature"), feature.get("reference_group")))
        labels.update(group.get("group") for group in feature.get("groups", []))
    return {label for label in labels if isinstance(label, str)}


def _finalizer(result: dict[str, Any]) -> Callable[[Any], Any]:
    """What every ``{{ value }}`` of the templates goes through before it is escaped.

    A column name or group label is shown shortened and printable wherever it is printed
    (the full value is in results.json and the CSV tables): a 100 kB group name would
    otherwise fill pages of every table. Any other text is cut at TEXT_LIMIT, and a word
    longer than WORD_LIMIT (a label quoted in a message) is cut too.
    """
    shown = {label: printable(label, LABEL_LIMIT) for label in _labels(result)}
    shown = {label: short for label, short in shown.items() if short != label}

    def finalize(value: Any) -> Any:
        if not isinstance(value, str) or isinstance(value, Markup):
            return value
        if value in shown:
            return shown[value]
        if value.startswith("data:"):  # a figure
            return value
        if len(value) > TEXT_LIMIT:
            value = value[: TEXT_LIMIT - 1] + "…"
        # A label inside a sentence (a message that names a group) is not one of `shown`.
        return _LONG_WORD.sub(lambda word: word[0][: WORD_LIMIT - 1] + "…", value)

    return finalize


COMPILED_TEMPLATES = CompiledTemplates()


def compile_templates() -> None:
    """Compile every template now rather than when it is first used (the process that lays
    the annex out does it while the other one draws: see audit/report/build.py)."""
    env = environment()
    root = resources.files(TEMPLATE_PACKAGE)
    for folder in (root, root / "sections"):
        prefix = "" if folder is root else "sections/"
        for entry in folder.iterdir():
            if entry.name.endswith(".j2"):
                env.get_template(prefix + entry.name)


def environment(result: dict[str, Any] | None = None) -> Environment:
    env = Environment(
        loader=FunctionLoader(_load_template),
        bytecode_cache=COMPILED_TEMPLATES,
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalizer(result or {}),
    )
    env.filters["num"] = number_text  # one number formatter with the terminal
    env.filters["pct"] = _percent
    env.filters["basename"] = lambda path: PurePath(str(path)).name
    env.filters["interval"] = interval_text
    env.filters["p_value"] = p_value_text
    env.filters["signed"] = signed_text  # one formatter with the figures
    env.filters["data_value"] = data_value_text
    env.filters["index_by"] = lambda items, key: {item[key]: item for item in items}
    env.globals["key_numbers"] = key_numbers
    env.globals["disparate_impact_shown"] = disparate_impact_shown
    return env


def figures(result: dict[str, Any], part: str = "all") -> dict[str, Any]:
    """The report's figures, drawn once and shared by the HTML and the PDF: ``all`` of them
    (the HTML keeps everything), or those of the main ``body`` or of the ``annex`` alone
    (the two PDFs of detail standard, made side by side: see audit/report/build.py).

    For ``all``, the annex's figures (about half of the drawing) are drawn in a second
    process while this one draws the body's.
    """
    if part == "annex":
        return {"explanations": annex_figures(result.get("explanations"), _z(result), BODY_CASES)}
    if part == "body":
        return _body_figures(result)
    if part != "all":
        raise ValueError(f"figures: part must be all, body or annex, not {part!r}")
    with in_background(partial(figures, part="annex"), result) as annex:
        return merged_figures(_body_figures(result), annex.result())


def annex_figure_jobs(result: dict[str, Any]) -> list[Job]:
    """The annex's figures (``figures(result, "annex")``) as one drawing job per figure."""
    return annex_jobs(result.get("explanations"), _z(result), BODY_CASES)


def assemble_annex_figures(
    result: dict[str, Any], jobs: list[Job], drawn: dict[tuple[Any, ...], Any]
) -> dict[str, Any]:
    """``figures(result, "annex")`` from its ``jobs`` drawn (job key -> figure)."""
    return {"explanations": assemble_annex(result.get("explanations"), jobs, drawn)}


def merged_figures(body: dict[str, Any], annex: dict[str, Any]) -> dict[str, Any]:
    """The body's and the annex's figures as the whole report's set."""
    return {
        **body,
        "explanations": merge_figures(body["explanations"], annex["explanations"]),
    }


def _z(result: dict[str, Any]) -> float:
    settings = result["fairness"].get("settings") or {}
    return settings.get("z_value") or 1.959964  # a result without it: 95%


def _body_figures(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "by_group": {
            feature["feature"]: fairness_plots.group_chart(feature)
            for feature in result["fairness"]["features"]
        },
        "explanations": body_figures(result.get("explanations"), _z(result), BODY_CASES),
        "mitigation": tradeoff_chart(result.get("mitigation") or {}),
        "monitoring": monitoring_plots.trend_chart(result.get("monitoring")),
        "tuning": search_chart(result.get("tuning")),
        "verdicts": fairness_plots.verdict_chart(result.get("verdicts", [])),
    }


# Individual explained cases shown in the main body (at most 2 fit the page budget of the
# demo: one does); the others go to the annex.
BODY_CASES = 1


def report_detail(result: dict[str, Any], detail: str | None = None) -> str:
    """The detail level to render: ``detail`` if given, else the one recorded in the result's
    configuration (``report.detail``), else ``standard`` (results written before it existed)."""
    if detail is None:
        detail = ((result.get("config") or {}).get("report") or {}).get("detail")
    detail = detail or DEFAULT_DETAIL
    if detail not in REPORT_DETAILS:
        raise ValueError(
            f"report detail must be one of {', '.join(REPORT_DETAILS)}, not {detail!r}"
        )
    return detail


def config_yaml(config: Any) -> str:
    """The resolved configuration as a reviewer reads it: YAML, in the config's own order,
    text as text (no JSON escapes)."""
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=88)


def report_layout(
    result: dict[str, Any],
    detail: str | None = None,
    for_pdf: bool = False,
    document: str = "report",
) -> dict[str, Any]:
    """What the templates need to lay the report out at a detail level.

    ``inline``: everything in the main body (``full``). ``annex``: the rest goes to an annex
    (``standard``; the HTML always has it, collapsed after a divider, since it keeps all
    content). With neither (a ``summary`` PDF), the body only.

    ``document``: ``report`` is the whole report in one document (the HTML; a summary or
    full PDF, or a standard one with the annex after a divider page); ``body`` the main body
    whose annex is a file of its own, named in ``annex_file``; ``annex`` that annex alone.
    """
    if document not in ("report", "body", "annex"):
        raise ValueError(f"document must be report, body or annex, not {document!r}")
    level = report_detail(result, detail)
    return {
        "detail": level,
        "inline": level == "full",
        "annex": level == "standard" or (level == "summary" and not for_pdf),
        "document": document,
        "annex_file": REPORT_FILES["annex"] if document == "body" else None,
        "for_pdf": for_pdf,
        "body_cases": BODY_CASES,
        "config_yaml": config_yaml(result.get("config") or {}),
    }


def render_html(
    result: dict[str, Any],
    figs: dict[str, Any] | None = None,
    for_pdf: bool = False,
    detail: str | None = None,
    document: str = "report",
) -> str:
    """The report as HTML; ``for_pdf`` names the fonts for the PDF renderer to load instead of
    embedding them (the HTML file itself always embeds them). ``detail`` (summary, standard,
    full) overrides the level recorded in the result; ``document`` picks the whole report,
    the main body or the annex (see :func:`report_layout`)."""
    env = environment(result)
    css = stylesheet(embedded_fonts=not for_pdf)
    html = env.get_template("report.html.j2").render(
        result=result,
        figures=figs if figs is not None else figures(result),
        css=css,
        verdict=overall_verdict(result),
        findings=top_findings(result),
        glossary=glossary(result),
        **report_layout(result, detail, for_pdf, document),
    )
    return wrapping.break_identifiers(html, for_pdf)  # breaks between identifiers' parts


def render_summary(result: dict[str, Any]) -> str:
    """The report's first page alone (verdict, key numbers, top findings), small enough for
    a notebook cell: no fonts, no figures."""
    return (
        environment()
        .get_template("notebook.html.j2")
        .render(result=result, verdict=overall_verdict(result), findings=top_findings(result))
    )
