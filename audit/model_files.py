"""Reading and writing model files safely: loading a model file runs none of its code.

An audit runs on files other people made, so a model file is untrusted input:

* ``.skops`` (scikit-learn models saved with ``skops.io.dump``) loads only when every type
  in it is one skops trusts by default or one of :data:`EXTRA_TRUSTED_TYPES` (exact names,
  see below), and only after the file's zip directory passed the size limits
  (:func:`check_zip_limits`). Tree models are then checked for indices in range
  (:mod:`audit.model_structure`), because scikit-learn's compiled prediction code does not
  check them.
* ``.onnx`` runs through onnxruntime, which executes no Python (:mod:`audit.onnx_model`).
* ``.pkl`` / ``.pickle`` / ``.joblib`` load only with ``trust=True`` (``--trust-model``):
  unpickling runs whatever code the file names.

``trust=True`` means the user vouches for the file: a skops file then loads with whatever
types it holds, unchecked. The audit records it (``model.trusted``) and the report says so.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from audit.errors import AuditError

SKOPS_SUFFIX = ".skops"
ONNX_SUFFIX = ".onnx"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
TRUST_HINT = (
    "If you made this file yourself or trust its source, re-run with --trust-model "
    "(model.trust: true); the report then states that the model was loaded unchecked."
)

# skops already trusts, by default and per kind of node, exact names that are safe where they
# appear: scikit-learn's estimator classes (sklearn.utils.all_estimators(), restored with
# __new__ + __setstate__, never called), numpy/scipy ufuncs (pure arithmetic) as function
# values, builtin primitives/containers and numpy dtypes as types, numpy random states and
# scipy sparse matrices. The types below are what the audit's own models add (found with
# skops.io.get_untrusted_types on every registry model, every mitigated model and
# fairlearn's CorrelationRemover; see tests/test_model_files.py). A type trusted here is
# trusted by every kind of node, including the one that *calls* the type with stored
# arguments, so each is a class whose constructor only stores its arguments. No function,
# method, functools.partial or operator.* callable is ever listed: skops would hand it to
# the model, and the model would call it.
EXTRA_TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        # The dtype of an array (np.dtype(...) only parses a type description).
        "numpy.dtype",
        # The registry's preprocessing selects columns by dtype (stores pattern/dtypes).
        "sklearn.compose._column_transformer.make_column_selector",
        # Node storage of decision trees / forests / gradient boosting and of histogram
        # gradient boosting. skops leaves them out of its defaults because a crafted file can
        # hold out-of-range node indices; audit.model_structure checks every index on load.
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        # Plain helper classes in the state of common scikit-learn classifiers
        # (VotingClassifier / StackingClassifier, CalibratedClassifierCV).
        "sklearn.utils._bunch.Bunch",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        # rai-audit's saved mitigated models (audit/mitigation/estimators.py) and fairlearn's
        # CorrelationRemover: sklearn-style estimators whose state is arrays, lists, dicts and
        # sklearn estimators. The rest of fairlearn (lambdas, pandas objects) is not listed.
        "audit.mitigation.estimators.GroupKeyEncoder",
        "audit.mitigation.estimators.GroupThresholdClassifier",
        "audit.mitigation.estimators.RandomizedMixtureClassifier",
        "fairlearn.preprocessing._correlation_remover.CorrelationRemover",
    }
)

# Limits read from the zip's central directory before anything is decompressed. skops reads
# each member whole into memory, so the declared sizes bound what loading can allocate (Python's
# zipfile never returns more bytes than a member declares). A real model's arrays barely
# compress; a file that inflates more than MAX_RATIO times (once past RATIO_APPLIES_ABOVE) is
# a zip bomb, not a model.
MAX_MEMBERS = 100_000
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
MAX_RATIO = 200
RATIO_APPLIES_ABOVE = 64 * 1024**2


def save_model(model: Any, path: Path) -> None:
    """Save ``model`` with skops (never pickle), so that loading it runs no code.

    Parameters
    ----------
    model : fitted estimator
    path : Path
        Destination file, normally ending in ``.skops``.
    """
    import skops.io as sio  # imported here: ~0.8 s, needed only to save or load a model

    sio.dump(model, path)


def model_bytes(model: Any) -> bytes:
    """The bytes of ``model`` saved as a skops file (never pickle).

    Raises
    ------
    AuditError
        The model holds something skops cannot save (e.g. an ONNX model).
    """
    import skops.io as sio  # imported here: ~0.8 s, needed only to save or load a model

    try:
        return sio.dumps(model)
    except TypeError as exc:
        raise AuditError(
            f"The {type(model).__name__} model cannot be saved as a skops file: {exc}. Do not "
            "ask to save it (--save-mitigated / mitigation.save)."
        ) from None


def load_model(path: Path, trust: bool = False) -> Any:
    """Load a model file, running none of its code unless ``trust`` is given.

    Parameters
    ----------
    path : Path
        A ``.skops``, ``.onnx``, or (only with ``trust``) ``.pkl`` / ``.pickle`` /
        ``.joblib`` file.
    trust : bool, default False
        The user vouches for the file (``--trust-model``): skops types are not checked and
        pickle files load.

    Returns
    -------
    model
        An object with ``predict`` (and usually ``predict_proba``).

    Raises
    ------
    AuditError
        The file is missing, damaged, too large, of an unknown kind, or holds types that are
        not loaded without ``trust``.
    """
    if not path.is_file():
        raise AuditError(f"Model file not found: {path}. Check --model-file / model.file.")
    suffix = path.suffix.lower()
    if suffix == SKOPS_SUFFIX:
        model = _load_skops(path, trust)
    elif suffix == ONNX_SUFFIX:
        from audit.onnx_model import load_onnx  # onnxruntime is imported only when needed

        model = load_onnx(path)
    elif suffix in PICKLE_SUFFIXES:
        model = _load_pickle(path, trust)
    else:
        raise AuditError(
            f"Model file {path} has the unknown suffix '{_shown(path.suffix)}'. rai-audit loads "
            ".skops (saved with skops.io.dump) and .onnx files, and .pkl/.pickle/.joblib only "
            "with --trust-model: save the model in one of those forms."
        )
    if not hasattr(model, "predict"):
        raise AuditError(
            f"The object in {path} ({type(model).__name__}) has no predict method. Give a "
            "fitted classifier (a pipeline ending in one)."
        )
    return model


def check_zip_limits(path: Path) -> None:
    """Refuse a skops file whose zip would inflate past the limits, before inflating any of it.

    Members that are zips themselves (scipy sparse matrices are stored as ``.npz``) are
    counted with their own members, since loading inflates those too; they are opened only
    once the outer directory has passed.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            members, inflated = len(infos), sum(info.file_size for info in infos)
            _check_limits(path, members, inflated)
            for info in infos:
                if info.filename.endswith(".npz"):
                    with zipfile.ZipFile(io.BytesIO(archive.read(info))) as inner:
                        members += len(inner.infolist())
                        inflated += sum(i.file_size for i in inner.infolist())
            _check_limits(path, members, inflated)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise AuditError(
            f"Model file {path} is corrupt or not a skops file ({type(exc).__name__}: "
            f"{_shown(str(exc))}). Re-save the model with skops.io.dump."
        ) from None


def _check_limits(path: Path, members: int, inflated: int) -> None:
    stored = max(path.stat().st_size, 1)
    problem = None
    if members > MAX_MEMBERS:
        problem = f"{members:,} entries (at most {MAX_MEMBERS:,} are read)"
    elif inflated > MAX_UNCOMPRESSED_BYTES:
        problem = (
            f"{inflated / 1024**3:,.1f} GiB uncompressed (at most "
            f"{MAX_UNCOMPRESSED_BYTES / 1024**3:,.0f} GiB are read)"
        )
    elif inflated > RATIO_APPLIES_ABOVE and inflated / stored > MAX_RATIO:
        problem = f"a compression ratio of {inflated / stored:,.0f}:1 (a zip bomb, not a model)"
    if problem:
        raise AuditError(
            f"Model file {path} is refused before decompression: its zip declares {problem}. "
            "If it is a genuine model, re-save the model with skops.io.dump."
        )


def _load_skops(path: Path, trust: bool) -> Any:
    import skops.io as sio  # imported here: ~0.8 s, needed only to save or load a model

    check_zip_limits(path)
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises zipfile/json/key/type errors on damaged files
        raise AuditError(
            f"Model file {path} is corrupt or not a skops file ({type(exc).__name__}: "
            f"{_shown(str(exc))}). Re-save the model with skops.io.dump."
        ) from None
    refused = sorted(set(untrusted) - EXTRA_TRUSTED_TYPES)
    if refused and not trust:
        shown = ", ".join(_shown(name) for name in refused[:5])
        more = f" and {len(refused) - 5} more" if len(refused) > 5 else ""
        raise AuditError(
            f"Model file {path} holds type(s) rai-audit does not load from a file it cannot "
            f"vouch for: {shown}{more}. Loading would let the file call them. {TRUST_HINT}"
        )
    try:
        model = sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise AuditError(f"Could not load model file {path}: {_shown(str(exc))}") from None
    if not trust:
        from audit.model_structure import check_structure

        problem = check_structure(model)
        if problem:
            raise AuditError(
                f"Model file {path} is damaged or crafted: {problem}. Re-save the model from "
                f"the fitted estimator. {TRUST_HINT}"
            )
    return model


def _load_pickle(path: Path, trust: bool) -> Any:
    if not trust:
        raise AuditError(
            f"Model file {path} is a pickle/joblib file, and unpickling runs whatever code the "
            "file names, so rai-audit does not load it by default. Save the model with "
            f"skops.io.dump (.skops) or convert it to ONNX (.onnx); or, if you made this file "
            "yourself or trust its source, re-run with --trust-model (model.trust: true)."
        )
    import joblib  # reads plain pickle files as well as joblib's own

    try:
        return joblib.load(path)
    except Exception as exc:
        raise AuditError(
            f"Could not load model file {path} (--trust-model): {type(exc).__name__}: "
            f"{_shown(str(exc))}"
        ) from None


def _shown(text: str, limit: int = 120) -> str:
    """A name or message from the file, safe to print: escaped, one line, bounded length."""
    escaped = text.encode("unicode_escape").decode("ascii")
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"
