"""Teaching exercises with planted biases: list them, start one, check a student's answers.

The exercises live in ``examples/exercises/<name>/`` and ship inside the package as
``audit.exercise_files`` (as the report templates do). Each folder holds ``task.md``,
``exercise.ipynb``, the starter ``audit.yaml``, ``questions.yaml`` (the exercise's title,
time, what it teaches, the data to generate and the questions with their answer format) and
``answers.py``, the answer key: ``key() -> {question id: answer}`` computed from the planted
parameters (:mod:`audit.datasets.teaching`) and the audit itself, never typed in.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import yaml

from audit.errors import AuditError
from audit.text import parse_problem, printable, read_text

FILES_PACKAGE = "audit.exercise_files"
KEY_FILE = "answers.py"
NOT_COPIED = {KEY_FILE, "__pycache__", "data", "__init__.py"}  # the key is the teacher's
QUESTION_TYPES = ("number", "choice", "yesno", "set")
SEED = 0  # every exercise's data is generated from this seed: one key per exercise


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    type: str
    hint: str
    options: tuple[str, ...] = ()
    tolerance: float | None = None

    def answer_format(self) -> str:
        """How the answer is written, as the task sheet and the answers file say it."""
        if self.type == "number":
            return f"a number (right within ±{self.tolerance:g})"
        if self.type == "yesno":
            return "yes or no"
        if self.type == "set":
            return "a list of any of: " + ", ".join(self.options) + " ([] for none)"
        return "one of: " + ", ".join(self.options)


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    minutes: int
    order: int
    teaches: str
    data: dict[str, dict[str, Any]]  # file name -> {generator, seed, other arguments}
    questions: tuple[Question, ...] = field(default_factory=tuple)

    def question(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)


@dataclass(frozen=True)
class Mark:
    question: Question
    right: bool
    note: str  # why it is wrong (empty when right)


def _root() -> Path:
    return Path(str(resources.files(FILES_PACKAGE)))


def exercise_names() -> list[str]:
    """The exercises in their learning order."""
    names = [p.name for p in _root().iterdir() if (p / "questions.yaml").is_file()]
    return sorted(names, key=lambda name: (load_exercise(name).order, name))


def exercise_folder(name: str) -> Path:
    """The shipped folder of exercise ``name``; AuditError naming the known ones if unknown."""
    folder = _root() / name
    if (
        "/" in name
        or "\\" in name
        or name.startswith(".")
        or not (folder / "questions.yaml").is_file()
    ):
        known = ", ".join(exercise_names())
        raise AuditError(
            f"Unknown exercise '{printable(name)}'. Known: {known} (`rai-audit exercise list`)."
        )
    return folder


def load_exercise(name: str) -> Exercise:
    raw = yaml.safe_load((_root() / name / "questions.yaml").read_text(encoding="utf-8"))
    questions = tuple(
        Question(
            id=q["id"],
            text=q["question"],
            type=q["type"],
            hint=q["hint"],
            options=tuple(str(o) for o in q.get("options", ())),
            tolerance=q.get("tolerance"),
        )
        for q in raw["questions"]
    )
    return Exercise(
        name=name,
        title=raw["title"],
        minutes=int(raw["minutes"]),
        order=int(raw["order"]),
        teaches=raw["teaches"],
        data=raw["data"],
        questions=questions,
    )


# --- data -----------------------------------------------------------------------------


def exercise_data(name: str) -> dict[str, pd.DataFrame]:
    """The exercise's data files as frames, generated from its planted scenario."""
    from audit.datasets.teaching import GENERATORS

    frames = {}
    for file_name, spec in load_exercise(name).data.items():
        arguments = {k: v for k, v in spec.items() if k != "generator"}
        arguments.setdefault("seed", SEED)
        frames[file_name] = GENERATORS[spec["generator"]](**arguments)
    return frames


def write_data(name: str, folder: Path) -> list[Path]:
    """Write the exercise's data as CSV files into ``folder/data`` (what ``start`` does)."""
    target = Path(folder) / "data"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, frame in exercise_data(name).items():
        frame.to_csv(target / file_name, index=False)
        written.append(target / file_name)
    return written


def start(name: str, destination: Path) -> Path:
    """Copy exercise ``name`` (without its answer key) to ``destination`` with its data and an
    answers file to fill in. Refuses a non-empty destination; writes nothing on failure."""
    source = exercise_folder(name)
    destination = Path(destination)
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise AuditError(
            f"{printable(str(destination))} already exists and is not empty; choose another "
            "folder with --dir, or remove it first (nothing was written)."
        )
    parent = destination.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
    except OSError as exc:
        raise AuditError(
            f"Cannot create {printable(str(destination))}: {exc.strerror}; choose another "
            "folder with --dir."
        ) from None
    try:
        for item in source.iterdir():
            if item.name not in NOT_COPIED:
                copy = shutil.copytree if item.is_dir() else shutil.copy2
                copy(item, staging / item.name)
        write_data(name, staging)
        (staging / "answers.yaml").write_text(answers_template(name), encoding="utf-8")
        if destination.exists():
            destination.rmdir()  # empty: checked above
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def answers_template(name: str) -> str:
    """An answers file with every question id, its question and answer format as comments."""
    lines = [
        f"# Answers to the exercise '{name}'. Fill in each value, then run:",
        (f"#   rai-audit exercise check {name} answers.yaml"),
        "",
    ]
    for q in load_exercise(name).questions:
        lines += [f"# {line}" for line in textwrap.wrap(q.text.strip(), 88)]
        lines += [f"# Answer: {q.answer_format()}", f"{q.id}:", ""]
    return "\n".join(lines)


# --- the key and the check ----------------------------------------------------------------


def key_module(name: str) -> ModuleType:
    """The exercise's ``answers.py``, imported (the tests use its audits too)."""
    path = exercise_folder(name) / KEY_FILE
    spec = importlib.util.spec_from_file_location(f"_rai_audit_exercise_key_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def answer_key(name: str) -> dict[str, Any]:
    """The key of exercise ``name``: ``answers.py``'s ``key()``, which runs the audit."""
    key = key_module(name).key()
    missing = {q.id for q in load_exercise(name).questions} - set(key)
    if missing:  # a key that does not answer every question is a bug in the exercise
        raise RuntimeError(f"the key of {name} does not answer {sorted(missing)}")
    return key


def read_answers(name: str, path: Path) -> dict[str, Any]:
    """A student's answers file: a YAML mapping of question ids (AuditError otherwise)."""
    exercise = load_exercise(exercise_folder(name).name)
    text = read_text(Path(path), "the answers file")  # UTF-16 from an editor: named
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AuditError(
            f"The answers file {printable(str(path))} is not readable YAML "
            f"({parse_problem(exc)}); write one `question_id: answer` per line "
            f"(`rai-audit exercise start {name}` writes a template)."
        ) from None
    if raw is None or raw == {}:  # an empty file: most likely the wrong one, or unsaved
        raise AuditError(
            f"The answers file {printable(str(path))} is empty: write one "
            f"`question_id: answer` per line (`rai-audit exercise start {name}` writes an "
            "answers.yaml with every question id to fill in)."
        )
    if not isinstance(raw, dict):
        raise AuditError(
            f"The answers file {printable(str(path))} must be a mapping of question ids to "
            "answers (`question_id: answer` per line)."
        )
    known = [q.id for q in exercise.questions]
    unknown = [str(k) for k in raw if k not in known]
    if unknown:
        raise AuditError(
            f"The answers file {printable(str(path))} has unknown question ids: "
            f"{', '.join(printable(u, 40) for u in unknown)}. The questions of '{name}' are: "
            f"{', '.join(known)}."
        )
    return raw


def check(
    name: str, answers_path: Path, key: Callable[[str], dict[str, Any]] | None = None
) -> list[Mark]:
    """Mark every question of exercise ``name`` right or wrong against its key (``key``:
    a function giving it, by default :func:`answer_key`, which runs the exercise's audit)."""
    answers = read_answers(name, answers_path)  # checks the name and the ids first: fast
    exercise = load_exercise(name)
    expected = (key or answer_key)(name)
    return [mark(q, answers.get(q.id), expected[q.id]) for q in exercise.questions]


def mark(question: Question, given: Any, expected: Any) -> Mark:
    """One answer against the key, by the question's type."""
    if given is None or given == "":
        # YAML reads a blank value and null (or ~) alike: say so, for options such as none
        return Mark(question, False, "not answered: the value is blank or null")
    kind = question.type
    if kind == "number":
        try:
            if isinstance(given, bool):  # YAML reads yes/no/true as booleans: not numbers
                raise TypeError
            value = float(given)
        except (TypeError, ValueError):
            return Mark(question, False, f"not a number; expected {question.answer_format()}")
        right = math.isfinite(value) and abs(value - float(expected)) <= question.tolerance
        return Mark(question, right, "" if right else f"not within ±{question.tolerance:g}")
    if kind == "yesno":
        value = _yes_no(given)
        if value is None:
            return Mark(question, False, "expected yes or no")
        return Mark(question, value == bool(expected), "")
    if kind == "set":
        chosen = given if isinstance(given, list) else [given]
        values = {_option(question, v) for v in chosen}
        if None in values:
            return Mark(question, False, f"expected {question.answer_format()}")
        return Mark(question, values == {_option(question, v) for v in expected}, "")
    value = _option(question, given)
    if value is None:
        return Mark(question, False, f"expected {question.answer_format()}")
    return Mark(question, value == _option(question, expected), "")


def _yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"yes": True, "no": False, "true": True, "false": False}.get(str(value).strip().lower())


def _option(question: Question, value: Any) -> str | None:
    """The option ``value`` names (case and surrounding spaces ignored; numbers as text)."""
    text = str(value).strip().lower()
    for option in question.options:
        if option.lower() == text or _same_number(option, text):
            return option
    return None


def _same_number(option: str, text: str) -> bool:
    try:
        return math.isclose(float(option), float(text))
    except ValueError:
        return False
