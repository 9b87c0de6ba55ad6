"""The answers template written by ``rai-audit checklist init``.

The template is YAML that the audit reads back as it is (every item open, no
sign-off); each item carries its question and its linked audit evidence as
comments, so the file can be filled in without the report at hand.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from audit.checklist.evidence import SOURCES
from audit.checklist.spec import ChecklistDef, load_definition
from audit.outputs import write_file_atomically

WIDTH = 92


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(" ".join(text.split()), WIDTH)]


def answers_template(definition: ChecklistDef, custom: bool = False) -> str:
    """YAML text of an answers file for ``definition``: all items open, sign-off empty."""
    lines = [
        f"# Answers to the checklist '{definition.title}' (id {definition.id}, version "
        f"{definition.version}).",
        "#",
        "# For each item set status to one of: yes | no | not applicable | open",
        "# (open = not answered yet), and say why (rationale), who is responsible (owner)",
        "# and where the proof is (evidence: a document, a link, a report section).",
        "# The audit never answers for you: it links items to its own evidence in the report",
        "# and flags answers that evidence contradicts. 'no' and 'not applicable' need a",
        "# rationale. Then point the audit at this file:",
        "#   checklist:",
        "#     answers: <this file>",
        *(["#     file: <your checklist file>"] if custom else []),
        "# or: rai-audit run audit.yaml --checklist-answers <this file>",
        f"checklist: {definition.id}",
        "sign_off:",
        "  reviewer: ''",
        "  role: ''",
        "  date: ''   # YYYY-MM-DD",
        "  notes: ''",
        "answers:",
    ]
    for section in definition.sections:
        lines += ["", f"  # ---- {section.title} " + "-" * max(0, 70 - len(section.title))]
        for item in section.items:
            lines.append("")
            lines += _comment(item.question, "  ")
            if item.evidence:
                titles = ", ".join(SOURCES[s].title for s in item.evidence)
                lines += _comment(f"Audit evidence: {titles}.", "  ")
            lines += [
                f"  {item.id}:",
                "    status: open",
                "    rationale: ''",
                "    owner: ''",
                "    evidence: ''",
            ]
    return "\n".join(lines) + "\n"


def write_template(out: Path, checklist_file: Path | None = None) -> tuple[int, int]:
    """Write the template for the default (or a custom) checklist to ``out``, atomically.

    Returns the number of sections and items written.
    """
    definition, _ = load_definition(checklist_file)
    text = answers_template(definition, custom=checklist_file is not None)
    write_file_atomically(out, text.encode("utf-8"))
    return len(definition.sections), len(definition.items())
