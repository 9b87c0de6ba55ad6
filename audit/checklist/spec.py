"""Reading a checklist (the default one or a custom file) and the user's answers file.

Both are validated up front, before any data is read, so a typo in an item id or
a status fails fast with a message that names the file, the item and what is
allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from audit.checklist.evidence import SOURCES
from audit.config import AuditConfig
from audit.errors import AuditError
from audit.text import key_list, parse_problem, printable, quoted_list, read_text, shown_key

STATUSES = ("yes", "no", "not applicable", "open")
ITEM_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
DEFAULT_RESOURCE = ("audit.checklist", "default.yaml")

# Spellings accepted in an answers file. YAML 1.1 reads a bare yes/no as a boolean.
_STATUS_SPELLINGS = {
    "yes": "yes",
    "y": "yes",
    "true": "yes",
    "no": "no",
    "n": "no",
    "false": "no",
    "not applicable": "not applicable",
    "not_applicable": "not applicable",
    "n/a": "not applicable",
    "na": "not applicable",
    "open": "open",
    "": "open",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemDef(_Strict):
    id: str = Field(pattern=ITEM_ID)
    question: str = Field(min_length=1)
    guidance: str | None = None
    evidence: list[str] = Field(default_factory=list)

    @field_validator("evidence")
    @classmethod
    def _known_sources(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in SOURCES]
        if unknown:
            raise ValueError(
                f"unknown evidence source(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(SOURCES)}"
            )
        return value


class SectionDef(_Strict):
    id: str = Field(pattern=ITEM_ID)
    title: str
    items: list[ItemDef] = Field(min_length=1)


class ChecklistDef(_Strict):
    """A checklist: sections of items, each item with an id, a question and evidence links."""

    id: str = Field(pattern=ITEM_ID)
    title: str
    version: str | int = 1
    description: str | None = None
    sections: list[SectionDef] = Field(min_length=1)

    def items(self) -> list[ItemDef]:
        return [item for section in self.sections for item in section.items]


def normalise_status(value: Any, where: str) -> str:
    """yes / no / not applicable / open from what a person may type (or YAML may parse)."""
    if value is None:
        return "open"
    text = str(value).strip().lower()
    if isinstance(value, bool):
        text = "yes" if value else "no"
    if text not in _STATUS_SPELLINGS:
        raise AuditError(
            f"{where}: status '{printable(value)}' is not one of {', '.join(STATUSES)}."
        )
    return _STATUS_SPELLINGS[text]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _evidence_list(value: Any) -> list[str]:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if v is not None and str(v).strip()]


def _date(value: Any, where: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise AuditError(
            f"{where}: date '{printable(value)}' is not a date in YYYY-MM-DD form."
        ) from None


@dataclass
class Answer:
    status: str = "open"
    rationale: str | None = None
    owner: str | None = None
    evidence: list[str] = field(default_factory=list)
    answered: bool = False


@dataclass
class PreparedChecklist:
    """A validated checklist with the user's answers, ready to be evaluated against a result."""

    definition: ChecklistDef
    source: str
    answers: dict[str, Answer]
    answers_file: str | None
    sign_off: dict[str, Any]


def _read_yaml(path: Path, what: str) -> Any:
    if not path.is_file():
        raise AuditError(f"{what} not found: {path}. Check the path in the `checklist:` config.")
    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AuditError(
            f"{what} {path} is not valid YAML: {parse_problem(exc)}. Correct it there and re-run."
        ) from None


def _validation_message(exc: ValidationError, shown: int = 8) -> str:
    """The first few problems, each naming its key only if it looks like one (see text.py)."""
    errors = exc.errors()
    lines = []
    for error in errors[:shown]:
        loc = ".".join(str(p) for p in error["loc"])
        where = shown_key(loc) if loc else "(top level)"
        lines.append(f"{where}: {printable(error['msg'], 160)}")
    if len(errors) > shown:
        lines.append(f"and {len(errors) - shown} more problems")
    return "; ".join(lines)


def parse_checklist(raw: Any, source: str) -> ChecklistDef:
    """Validate a checklist definition; item ids must be unique."""
    if not isinstance(raw, dict):
        raise AuditError(f"Checklist {source} must be a mapping with id, title and sections.")
    try:
        definition = ChecklistDef.model_validate(raw)
    except ValidationError as exc:
        raise AuditError(
            f"Invalid checklist {source}: {_validation_message(exc)}. Correct it and re-run."
        ) from None
    seen: set[str] = set()
    repeated = sorted({i.id for i in definition.items() if i.id in seen or seen.add(i.id)})
    if repeated:
        raise AuditError(f"Checklist {source}: item id(s) used twice: {quoted_list(repeated)}.")
    return definition


def load_definition(path: Path | None = None) -> tuple[ChecklistDef, str]:
    """The checklist at ``path``, or the default one shipped with rai-audit."""
    if path is None:
        text = (
            resources.files(DEFAULT_RESOURCE[0])
            .joinpath(DEFAULT_RESOURCE[1])
            .read_text(encoding="utf-8")
        )
        return parse_checklist(yaml.safe_load(text), "default"), "default (shipped with rai-audit)"
    return parse_checklist(_read_yaml(path, "Checklist file"), str(path)), str(path)


def read_answers(path: Path, definition: ChecklistDef) -> tuple[dict[str, Answer], dict[str, Any]]:
    """The answers and sign-off in ``path``, checked against the checklist's item ids."""
    raw = _read_yaml(path, "Checklist answers file")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise AuditError(f"Checklist answers file {path} must be a mapping (answers:, sign_off:).")
    unknown_keys = set(raw) - {"checklist", "sign_off", "answers"}
    if unknown_keys:
        raise AuditError(
            f"Checklist answers file {path} has {key_list(unknown_keys)}; allowed: checklist, "
            "sign_off, answers. Write a template with `rai-audit checklist init`."
        )
    made_for = raw.get("checklist")
    if made_for is not None and str(made_for) != definition.id:
        raise AuditError(
            f"Checklist answers file {path} was written for checklist '{printable(made_for)}', "
            f"but the audit uses '{definition.id}'. Write a new template with "
            "`rai-audit checklist init`."
        )
    ids = [item.id for item in definition.items()]
    answers_raw = raw.get("answers") or {}
    if not isinstance(answers_raw, dict):
        raise AuditError(f"{path}: 'answers' must map item ids to their answers.")
    answers: dict[str, Answer] = {}
    for item_id, entry in answers_raw.items():
        item_id = str(item_id)
        if item_id not in ids:
            close = difflib.get_close_matches(item_id, ids, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise AuditError(
                f"{path}: answer for unknown checklist item '{printable(item_id)}'.{hint}"
            )
        where = f"{path}, item '{printable(item_id)}'"
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            entry = {"status": entry}  # shorthand: `item.id: yes`
        extra = set(entry) - {"status", "rationale", "owner", "evidence"}
        if extra:
            raise AuditError(
                f"{where}: {key_list(extra)}; allowed: status, rationale, owner, evidence. "
                "Remove the others."
            )
        status = normalise_status(entry.get("status"), where)
        answers[item_id] = Answer(
            status=status,
            rationale=_text(entry.get("rationale")),
            owner=_text(entry.get("owner")),
            evidence=_evidence_list(entry.get("evidence")),
            answered=status != "open",
        )
    sign_raw = raw.get("sign_off") or {}
    if not isinstance(sign_raw, dict):
        raise AuditError(f"{path}: 'sign_off' must hold reviewer, role and date.")
    extra = set(sign_raw) - {"reviewer", "role", "date", "notes"}
    if extra:
        raise AuditError(
            f"{path}: sign_off has {key_list(extra)}; allowed: reviewer, role, date, notes. "
            "Remove the others."
        )
    sign_off = {
        "reviewer": _text(sign_raw.get("reviewer")),
        "role": _text(sign_raw.get("role")),
        "date": _date(sign_raw.get("date"), f"{path}, sign_off"),
        "notes": _text(sign_raw.get("notes")),
    }
    return answers, sign_off


def prepare_checklist(config: AuditConfig) -> PreparedChecklist:
    """Load and validate the checklist and the answers named in the config."""
    definition, source = load_definition(config.checklist.file)
    answers: dict[str, Answer] = {}
    sign_off: dict[str, Any] = {"reviewer": None, "role": None, "date": None, "notes": None}
    answers_file = None
    if config.checklist.answers is not None:
        answers, sign_off = read_answers(config.checklist.answers, definition)
        answers_file = str(config.checklist.answers)
    return PreparedChecklist(definition, source, answers, answers_file, sign_off)
