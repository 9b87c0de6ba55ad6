"""Model files load safely: crafted skops files run nothing, zip bombs are refused unread,
pickle needs --trust-model, every model the audit makes loads back, and ONNX models audit
to the same numbers as the scikit-learn model they were converted from."""

from __future__ import annotations

import importlib
import io
import json
import operator
import pickle
import shlex
import struct
import zipfile
from functools import partial
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from conftest import run_cli
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from audit import model_files, models
from audit.config import MitigationOptions
from audit.datasets import make_scenario
from audit.errors import AuditError
from audit.mitigation.estimators import group_key
from audit.mitigation.strategies import TrainingContext, fit_strategy

FEATURES = ["age", "income", "education", "region", "part_time"]
CLI_BASE = ["--target", "approved", "--sensitive", "sex", "--drop", "applicant_id", "--seed", "3"]


@pytest.fixture(scope="module")
def credit():
    frame = make_scenario("credit", n_rows=400, seed=3)
    return frame, models.as_model_input(frame, FEATURES), frame["approved"].to_numpy()


@pytest.fixture(scope="module")
def registry_file(credit, tmp_path_factory):
    """The registry's logistic regression pipeline, saved with skops: the file to tamper with."""
    _, X, y = credit
    path = tmp_path_factory.mktemp("legit") / "model.skops"
    model_files.save_model(models.train_model("logistic_regression", {}, 0, X, y), path)
    return path


@pytest.fixture(scope="module")
def nested_file(credit, tmp_path_factory):
    """A logistic regression three pipelines deep, all numeric."""
    _, X, y = credit
    inner = Pipeline([("model", LogisticRegression())])
    model = Pipeline([("outer", Pipeline([("inner", inner)]))]).fit(
        X[["age", "income"]].fillna(0), y
    )
    path = tmp_path_factory.mktemp("nested") / "nested.skops"
    model_files.save_model(model, path)
    return path


# --- crafted skops files ------------------------------------------------------------------
# A skops file is a zip of arrays plus schema.json, a tree of nodes naming a type and how to
# rebuild it. These helpers write the nodes an attacker would put into a legitimate file.


def json_node(value):
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


def node(value):
    return value if isinstance(value, dict) else json_node(value)


def tuple_node(*items):
    return {
        "__class__": "tuple",
        "__module__": "builtins",
        "__loader__": "TupleNode",
        "content": [node(i) for i in items],
    }


def call_node(module, name, *args):
    """skops rebuilds this by calling ``module.name(*args)``."""
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": tuple_node(*args),
    }


def dict_node(content, key_type):
    """A dict whose keys skops rebuilds by calling ``key_type(key)``."""
    return {
        "__class__": "dict",
        "__module__": "builtins",
        "__loader__": "DictNode",
        "content": {k: node(v) for k, v in content.items()},
        "key_types": {
            "__class__": "list",
            "__module__": "builtins",
            "__loader__": "ListNode",
            "content": [key_type] * len(content),
        },
    }


def attrs(obj_node):
    return obj_node["content"]["content"]


def step(pipeline_node, index):
    return attrs(pipeline_node)["steps"]["content"][index]["content"][1]


def rewrite(source: Path, target: Path, edit) -> Path:
    """A copy of ``source`` with its schema.json edited in place by ``edit(schema)``."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "schema.json":
                schema = json.loads(data)
                edit(schema)
                data = json.dumps(schema).encode()
            out.writestr(item.filename, data)
    return target


def write_marker(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('ran')"


def exec_in_memory(schema, marker, tmp):
    attrs(schema)["memory"] = call_node("builtins", "exec", write_marker(marker))
    return ["builtins.exec"]


def eval_in_an_estimator_attribute(schema, marker, tmp):
    attrs(step(schema, 1))["C"] = call_node("builtins", "eval", write_marker(marker) + " and 1.0")
    return ["builtins.eval"]


def numpy_load_of_a_pickle(schema, marker, tmp):
    class Payload:
        def __reduce__(self):
            return open, (str(marker), "w")

    pickled = tmp / "weights.bin"
    pickled.write_bytes(pickle.dumps(Payload()))
    attrs(step(schema, 1))["tol"] = call_node("numpy", "load", str(pickled), None, True)
    return ["numpy.load"]


def exec_as_a_dict_key_type(schema, marker, tmp):
    exec_type = {"__class__": "exec", "__module__": "builtins", "__loader__": "TypeNode"}
    attrs(step(schema, 1))["class_weight"] = dict_node({write_marker(marker): 1}, exec_type)
    return ["builtins.exec"]


def getattr_chain_to_os_system(schema, marker, tmp):
    system = call_node("builtins", "getattr", call_node("builtins", "__import__", "os"), "system")
    command = f"touch {shlex.quote(str(marker))}"
    attrs(step(schema, 1))["class_weight"] = dict_node({command: 1}, system)
    return ["builtins.__import__", "builtins.getattr"]


def os_system_directly(schema, marker, tmp):
    attrs(schema)["memory"] = call_node("os", "system", f"touch {shlex.quote(str(marker))}")
    return ["os.system"]


def exec_in_a_nested_pipeline(schema, marker, tmp):
    innermost = step(step(step(schema, 0), 0), 0)
    attrs(innermost)["C"] = call_node("builtins", "exec", write_marker(marker))
    return ["builtins.exec"]


PAYLOADS = [
    ("registry", exec_in_memory),
    ("registry", eval_in_an_estimator_attribute),
    ("registry", numpy_load_of_a_pickle),
    ("registry", exec_as_a_dict_key_type),
    ("registry", getattr_chain_to_os_system),
    ("registry", os_system_directly),
    ("nested", exec_in_a_nested_pipeline),
]


def run_unchecked(path: Path, X: pd.DataFrame) -> None:
    """Load as skops does when every type in the file is trusted (as the old prefix rule
    trusted all of builtins.* and numpy.*), then predict: what the payload does when live."""
    try:
        sio.load(path, trusted=sio.get_untrusted_types(file=path)).predict_proba(X)
    except Exception:
        pass  # the payload has run (or not) by now; a broken model is beside the point


@pytest.mark.parametrize(("base", "payload"), PAYLOADS, ids=[p.__name__ for _, p in PAYLOADS])
def test_a_crafted_skops_file_runs_nothing(
    base, payload, credit, registry_file, nested_file, tmp_path
):
    _, X, _ = credit
    marker = tmp_path / "pwned"
    source = registry_file if base == "registry" else nested_file
    holder = {}
    evil = rewrite(
        source, tmp_path / "evil.skops", lambda s: holder.update(t=payload(s, marker, tmp_path))
    )
    run_unchecked(evil, X)
    assert marker.exists(), "the payload must be live for its absence below to mean anything"
    marker.unlink()

    with pytest.raises(AuditError) as caught:
        model_files.load_model(evil)
    assert not marker.exists()
    message = str(caught.value)
    assert "\n" not in message and "--trust-model" in message
    for type_name in holder["t"]:
        assert type_name in message


def fitted_with_function(credit, func):
    """The registry pipeline behind a FunctionTransformer whose function is set after fitting."""
    _, X, y = credit
    model = Pipeline([("hook", FunctionTransformer()), ("model", LogisticRegression())])
    model.fit(X[["age", "income"]].fillna(0), y)
    model.steps[0][1].func = func
    return model


@pytest.mark.filterwarnings("ignore::UserWarning")  # from predicting with the live payload
@pytest.mark.parametrize("kind", ["methodcaller", "partial"])
def test_callables_that_act_when_predicting_are_refused(kind, credit, tmp_path):
    # Nothing runs at load here: the model would call these on the audited rows. Both write the
    # rows to a file of the attacker's choosing.
    _, X, _ = credit
    marker = tmp_path / "stolen.npy"
    if kind == "methodcaller":
        func, names = operator.methodcaller("to_csv", str(marker)), ["operator.methodcaller"]
    else:
        func, names = partial(np.save, str(marker)), ["functools.partial", "numpy.save"]
    evil = tmp_path / "evil.skops"
    sio.dump(fitted_with_function(credit, func), evil)
    run_unchecked(evil, X[["age", "income"]].fillna(0))
    assert marker.exists()
    marker.unlink()

    with pytest.raises(AuditError) as caught:
        model_files.load_model(evil)
    assert not marker.exists()
    assert all(name in str(caught.value) for name in names)


def test_attrgetter_is_refused(credit, tmp_path):
    evil = tmp_path / "getter.skops"
    sio.dump(fitted_with_function(credit, operator.attrgetter("values")), evil)
    with pytest.raises(AuditError, match=r"operator\.attrgetter"):
        model_files.load_model(evil)


@pytest.mark.parametrize("payload", [exec_in_memory, getattr_chain_to_os_system])
def test_the_cli_refuses_a_crafted_file_cleanly(payload, registry_file, tmp_path):
    data = tmp_path / "credit.csv"
    make_scenario("credit", n_rows=300, seed=3).to_csv(data, index=False)
    marker = tmp_path / "pwned"
    evil = rewrite(registry_file, tmp_path / "evil.skops", lambda s: payload(s, marker, tmp_path))
    out = tmp_path / "out"
    result = run_cli(
        "run",
        "--data",
        data,
        *CLI_BASE,
        "--model-file",
        evil,
        "--format",
        "json",
        "--resamples",
        "200",
        "--out",
        out,
        "--quiet",
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "--trust-model" in result.output
    assert "builtins." in result.output
    assert not marker.exists()
    assert not out.exists() or not any(out.iterdir())


def test_every_trusted_name_is_a_class_or_a_ufunc():
    # A function skops hands to a model gets called by it; only classes (rebuilt from state or
    # from stored arguments) and numpy/scipy ufuncs (arithmetic) may be trusted. This guards the
    # defaults of future skops versions too.
    from skops.io import _trusted_types as defaults

    classes = [
        *model_files.EXTRA_TRUSTED_TYPES,
        *defaults.SKLEARN_ESTIMATOR_TYPE_NAMES,
        *defaults.SKLEARN_INTERNAL_TYPE_NAMES,
        *defaults.PRIMITIVE_TYPE_NAMES,
        *defaults.CONTAINER_TYPE_NAMES,
        *defaults.NUMPY_DTYPE_TYPE_NAMES,
    ]
    for name in classes:
        module, _, attribute = name.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module), attribute), type), name
    for name in defaults.NUMPY_UFUNC_TYPE_NAMES + defaults.SCIPY_UFUNC_TYPE_NAMES:
        assert name.startswith(("numpy.", "scipy.special.")), name
        module, _, attribute = name.rpartition(".")
        assert not isinstance(getattr(importlib.import_module(module), attribute), type), name
    forbidden = {"builtins.exec", "builtins.eval", "builtins.getattr", "numpy.load"}
    assert not forbidden & set(classes + defaults.NUMPY_UFUNC_TYPE_NAMES)


# --- crafted tree structures ----------------------------------------------------------------


def edit_array(path: Path, target: Path, class_name: str, field: str, change) -> Path:
    """A copy of ``path`` in which ``change`` edited the ``field`` array of the first
    ``class_name`` object (as an attacker edits the .npy file it points to)."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            if value.get("__class__") == class_name:
                found.append(value)
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    with zipfile.ZipFile(path) as zin:
        walk(json.loads(zin.read("schema.json")))
        member = found[0]["content"]["content"][field]["file"]
        array = np.load(io.BytesIO(zin.read(member)))
        change(array)
        buffer = io.BytesIO()
        np.save(buffer, array)
        with zipfile.ZipFile(target, "w") as out:
            for item in zin.infolist():
                out.writestr(item, buffer.getvalue() if item.filename == member else zin.read(item))
    return target


@pytest.mark.parametrize(
    ("name", "column", "value"),
    [
        ("random_forest", "left_child", 10**6),
        ("random_forest", "right_child", 0),
        ("random_forest", "feature", 999),
        ("hist_gradient_boosting", "left", 0),
        ("hist_gradient_boosting", "feature_idx", 999),
    ],
    ids=["child-out-of-range", "cycle", "feature-out-of-range", "hgb-cycle", "hgb-feature"],
)
def test_trees_with_out_of_range_indices_are_refused(name, column, value, credit, tmp_path):
    # scikit-learn's compiled tree walk does not check these indices: predicting with such a
    # model reads out of bounds or loops forever. The loader refuses it instead.
    _, X, y = credit
    params = {"n_estimators": 3} if name == "random_forest" else {"max_iter": 3}
    legit = tmp_path / "legit.skops"
    model_files.save_model(models.train_model(name, params, 0, X, y), legit)
    holder = "Tree" if name == "random_forest" else "TreePredictor"
    crafted = edit_array(
        legit,
        tmp_path / "crafted.skops",
        holder,
        "nodes",
        lambda a: a[column].__setitem__(0, value),
    )
    with pytest.raises(AuditError, match="damaged or crafted"):
        model_files.load_model(crafted)
    assert model_files.load_model(crafted, trust=True) is not None  # skops itself loads it


def test_a_threshold_model_that_would_call_another_method_is_refused(credit, baselines, tmp_path):
    # GroupThresholdClassifier scores rows with getattr(estimator, score_method_): a crafted
    # name ("fit", "set_params", ...) would make predicting call that method instead.
    frame, _, y = credit
    context = TrainingContext(
        train_frame=frame, y_train=y, groups_train=group_key(frame, ["sex"]),
        feature_columns=FEATURES, sensitive_columns=["sex"],
        baseline=baselines["logistic_regression"], options=MitigationOptions(), seed=0,
    )  # fmt: skip
    legit = tmp_path / "thresholds.skops"
    legit.write_bytes(
        model_files.model_bytes(
            fit_strategy("threshold_optimizer:demographic_parity", context).model
        )
    )
    assert model_files.load_model(legit).score_method_ == "predict_proba"
    crafted = rewrite(
        legit, tmp_path / "crafted.skops", lambda s: attrs(s).update(score_method_=json_node("fit"))
    )
    with pytest.raises(AuditError, match="score_method_ is 'fit'"):
        model_files.load_model(crafted)


# --- zip bombs ----------------------------------------------------------------------------


def declare_size(data: bytes, member: str, size: int) -> bytes:
    """``data`` (a zip) with ``member``'s uncompressed size in the central directory set to
    ``size``: what a bomb declares, without writing gigabytes."""
    data = bytearray(data)
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + name_length] == member.encode():
            struct.pack_into("<I", data, start + 24, size)
            return bytes(data)
        start += 4
    raise AssertionError(member)


def with_member(source: Path, name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in zin.infolist():
            out.writestr(item.filename, zin.read(item))
        out.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def no_skops(monkeypatch):
    """Fail the test if skops is asked to read the file: the refusal must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("skops read a file that should have been refused unread")

    monkeypatch.setattr("skops.io.get_untrusted_types", refuse)  # imported when used


def test_a_declared_huge_member_is_refused_unread(registry_file, tmp_path, no_skops):
    bomb = tmp_path / "bomb.skops"
    bomb.write_bytes(declare_size(with_member(registry_file, "x.npy", b"0" * 10), "x.npy", 3 << 30))
    with pytest.raises(AuditError, match=r"refused before decompression.*GiB uncompressed"):
        model_files.load_model(bomb)


def test_a_highly_compressed_member_is_refused(registry_file, tmp_path, no_skops):
    bomb = tmp_path / "zeros.skops"
    bomb.write_bytes(with_member(registry_file, "zeros.npy", bytes(80 * 1024**2)))
    assert bomb.stat().st_size < 1024**2  # 80 MiB of zeros deflate to ~80 kB
    with pytest.raises(AuditError, match="compression ratio of .*zip bomb"):
        model_files.load_model(bomb)


def test_a_bomb_inside_a_nested_npz_is_refused(registry_file, tmp_path, no_skops):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as npz:
        npz.writestr("data.npy", b"0" * 10)
    nested = declare_size(inner.getvalue(), "data.npy", 3 << 30)
    bomb = tmp_path / "sparse.skops"
    bomb.write_bytes(with_member(registry_file, "matrix.npz", nested))
    with pytest.raises(AuditError, match="GiB uncompressed"):
        model_files.load_model(bomb)


def test_too_many_members_are_refused(registry_file, tmp_path, monkeypatch, no_skops):
    monkeypatch.setattr(model_files, "MAX_MEMBERS", 6)
    crowded = tmp_path / "crowded.skops"
    buffer = with_member(registry_file, "a.npy", b"")
    crowded.write_bytes(buffer)
    count = len(zipfile.ZipFile(crowded).infolist())
    assert count > 6
    with pytest.raises(AuditError, match=f"{count} entries"):
        model_files.load_model(crowded)


# --- everything the audit saves loads back -------------------------------------------------

SMALL = {"random_forest": {"n_estimators": 10}, "hist_gradient_boosting": {"max_iter": 5}}
STRATEGIES = [
    None,
    "reweighing",
    "correlation_remover",
    "exponentiated_gradient:demographic_parity",
    "grid_search:equalized_odds",
    "threshold_optimizer:demographic_parity",
]


@pytest.fixture(scope="module")
def baselines(credit):
    _, X, y = credit
    return {
        name: models.train_model(name, SMALL.get(name, {}), 0, X, y) for name in models.REGISTRY
    }


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s or "baseline")
@pytest.mark.parametrize("name", sorted(models.REGISTRY))
def test_every_model_the_audit_saves_loads_with_the_allow_list(
    name, strategy, credit, baselines, tmp_path
):
    frame, X, y = credit
    model = baselines[name]
    inputs = X
    if strategy:
        options = MitigationOptions(
            exponentiated_gradient={"max_iter": 3}, grid_search={"grid_size": 3}
        )
        context = TrainingContext(
            train_frame=frame,
            y_train=y,
            groups_train=group_key(frame, ["sex"]),
            feature_columns=FEATURES,
            sensitive_columns=["sex"],
            baseline=model,
            options=options,
            seed=0,
        )
        model = fit_strategy(strategy, context).model
        inputs = models.as_model_input(frame, FEATURES + ["sex"])
    path = tmp_path / "m.skops"
    path.write_bytes(model_files.model_bytes(model))
    assert set(sio.get_untrusted_types(file=path)) <= model_files.EXTRA_TRUSTED_TYPES
    loaded = model_files.load_model(path)
    np.testing.assert_array_equal(loaded.predict(inputs), model.predict(inputs))
    if hasattr(model, "predict_proba"):
        # (Probabilities equal to 1e-12: a float sum need not be bitwise reproducible.)
        np.testing.assert_allclose(
            loaded.predict_proba(inputs), model.predict_proba(inputs), rtol=0, atol=1e-12
        )


@pytest.mark.parametrize(
    "kind", ["gradient_boosting", "extra_trees", "bagging", "adaboost", "hgb_categorical"]
)
def test_other_tree_models_pass_the_structure_checks(kind, credit, tmp_path):
    from sklearn import ensemble, tree

    _, X, y = credit
    numbers = X[["age", "income"]].fillna(0).assign(band=X["age"] // 20 % 5)
    model = {
        "gradient_boosting": lambda: ensemble.GradientBoostingClassifier(n_estimators=5),
        "extra_trees": lambda: ensemble.ExtraTreesClassifier(n_estimators=5),
        "bagging": lambda: ensemble.BaggingClassifier(
            tree.DecisionTreeClassifier(), n_estimators=3, max_features=2
        ),
        "adaboost": lambda: ensemble.AdaBoostClassifier(n_estimators=3),
        "hgb_categorical": lambda: ensemble.HistGradientBoostingClassifier(
            max_iter=5, categorical_features=[2]
        ),
    }[kind]().fit(numbers, y)
    path = tmp_path / "m.skops"
    model_files.save_model(model, path)
    # (Native categorical support stores functools.partial(check_array): that needs trust.)
    loaded = model_files.load_model(path, trust=kind == "hgb_categorical")
    from audit.model_structure import check_structure

    assert check_structure(loaded) is None
    np.testing.assert_allclose(loaded.predict_proba(numbers), model.predict_proba(numbers))


def test_fairlearns_correlation_remover_loads(tmp_path):
    from fairlearn.preprocessing import CorrelationRemover

    matrix = np.random.default_rng(0).normal(size=(50, 3))
    remover = CorrelationRemover(sensitive_feature_ids=[0]).fit(matrix)
    path = tmp_path / "remover.skops"
    model_files.save_model(
        Pipeline([("decorrelate", remover), ("model", LogisticRegression())]).fit(
            matrix, matrix[:, 1] > 0
        ),
        path,
    )
    loaded = model_files.load_model(path)
    np.testing.assert_array_equal(loaded[0].transform(matrix), remover.transform(matrix))


def test_voting_and_calibrated_classifiers_load(credit, tmp_path):
    # The helper classes these keep (Bunch, _CalibratedClassifier, _SigmoidCalibration) are on
    # the allow-list.
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import VotingClassifier
    from sklearn.naive_bayes import GaussianNB

    _, X, y = credit
    numbers = X[["age", "income"]].fillna(0)
    for model in (
        VotingClassifier([("lr", LogisticRegression()), ("nb", GaussianNB())], voting="soft"),
        CalibratedClassifierCV(LogisticRegression(), cv=3),
    ):
        path = tmp_path / f"{type(model).__name__}.skops"
        model_files.save_model(model.fit(numbers, y), path)
        loaded = model_files.load_model(path)
        np.testing.assert_allclose(loaded.predict_proba(numbers), model.predict_proba(numbers))


# --- pickle, unknown kinds -------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".joblib"])
def test_pickle_needs_trust(suffix, baselines, credit, tmp_path):
    _, X, _ = credit
    model = baselines["logistic_regression"]
    path = tmp_path / f"model{suffix}"
    joblib.dump(model, path) if suffix == ".joblib" else path.write_bytes(pickle.dumps(model))
    with pytest.raises(AuditError, match="unpickling runs whatever code.*--trust-model"):
        model_files.load_model(path)
    loaded = model_files.load_model(path, trust=True)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_an_unknown_suffix_is_refused(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n")
    with pytest.raises(AuditError, match=r"unknown suffix '\.h5'.*\.skops.*\.onnx"):
        model_files.load_model(path)


def test_trusted_pickle_through_the_cli_is_recorded(tmp_path):
    frame = make_scenario("credit", n_rows=300, seed=3)
    data = tmp_path / "credit.csv"
    frame.to_csv(data, index=False)
    features = [c for c in frame.columns if c not in ("approved", "sex", "applicant_id")]
    model = models.train_model(
        "logistic_regression", {}, 0, models.as_model_input(frame, features), frame["approved"]
    )
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    config = tmp_path / "audit.yaml"
    config.write_text("explain: {enabled: false}\nfairness: {bootstrap: {resamples: 200}}\n")
    args = ["run", config, "--data", data, *CLI_BASE, "--model-file", path]

    refused = run_cli(*args, "--format", "json", "--out", tmp_path / "no", "--quiet")
    assert refused.exit_code == 2 and "--trust-model" in refused.output
    assert not (tmp_path / "no").exists() or not any((tmp_path / "no").iterdir())

    out = tmp_path / "yes"
    done = run_cli(*args, "--trust-model", "--format", "json", "--format", "html", "--out", out)
    assert done.exit_code in (0, 1), done.output
    result = json.loads((out / "results.json").read_text())
    assert result["model"]["trusted"] is True and result["config"]["model"]["trust"] is True
    html = (out / "report.html").read_text()
    assert "unchecked (--trust-model)" in html and "loaded unchecked" in html


# --- ONNX --------------------------------------------------------------------------------------


def column_pipeline(X: pd.DataFrame, y) -> Pipeline:
    """The registry's preprocessing as skl2onnx can convert it: numeric columns imputed and
    scaled, text columns one-hot encoded. (skl2onnx converts no SimpleImputer of text whose
    missing marker is NaN, which the registry's text branch has; the credit data has no
    missing text, so the two preprocessings compute the same.)"""
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    text = [c for c in X.columns if c not in numeric]
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False),
                text,
            ),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("model", LogisticRegression(max_iter=1000))]).fit(
        X, y
    )


def to_onnx_file(model, X: pd.DataFrame, path: Path, zipmap: bool = True) -> Path:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    numeric = {c: pd.api.types.is_numeric_dtype(X[c]) for c in X.columns}
    inputs = [
        (c, FloatTensorType([None, 1]) if numeric[c] else StringTensorType([None, 1]))
        for c in X.columns
    ]
    options = None if zipmap else {id(model): {"zipmap": False}}
    path.write_bytes(
        convert_sklearn(model, initial_types=inputs, options=options).SerializeToString()
    )
    return path


@pytest.mark.parametrize("zipmap", [True, False], ids=["zipmap", "tensor"])
def test_onnx_pipeline_gives_the_sklearn_probabilities(zipmap, credit, tmp_path):
    frame, X, y = credit
    X = X.copy()
    X.loc[X.index[:5], "region"] = np.nan  # missing text is fed as "": unseen, like NaN
    model = column_pipeline(X.iloc[5:], y[5:])
    loaded = model_files.load_model(to_onnx_file(model, X, tmp_path / "m.onnx", zipmap))
    assert list(loaded.feature_names_in_) == FEATURES
    assert loaded.classes_.tolist() == [0, 1]
    # float32 inside the graph: probabilities agree to ~1e-7.
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_onnx_single_tensor_input(credit, tmp_path):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    _, X, y = credit
    numbers = X[["age", "income"]].fillna(0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(numbers.to_numpy(), y)
    graph = convert_sklearn(model, initial_types=[("X", FloatTensorType([None, 2]))])
    path = tmp_path / "tensor.onnx"
    path.write_bytes(graph.SerializeToString())
    loaded = model_files.load_model(path)
    assert not hasattr(loaded, "feature_names_in_") and loaded.n_features_in_ == 2
    np.testing.assert_allclose(
        loaded.predict_proba(numbers), model.predict_proba(numbers.to_numpy()), atol=1e-6
    )
    with pytest.raises(
        AuditError, match="of 2 columns, but the data's feature list has 3.*data.features"
    ):
        loaded.predict_proba(X[["age", "income", "part_time"]].assign(part_time=1))


def test_onnx_inputs_that_cannot_hold_the_data_are_refused(credit, tmp_path):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import Int64TensorType

    _, X, y = credit
    ages = X[["age"]]
    model = LogisticRegression().fit(ages, y)
    path = tmp_path / "int.onnx"
    path.write_bytes(
        convert_sklearn(
            model, initial_types=[("age", Int64TensorType([None, 1]))]
        ).SerializeToString()
    )
    loaded = model_files.load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(ages), model.predict_proba(ages), atol=1e-6)
    holes = ages.astype(float)
    holes.iloc[0, 0] = np.nan
    with pytest.raises(AuditError, match="Column 'age' has 1 missing"):
        loaded.predict_proba(holes)
    with pytest.raises(AuditError, match="Column 'age' holds text"):
        loaded.predict_proba(ages.astype(str).astype(object))


def test_an_onnx_model_takes_post_processing_only(credit, tmp_path):
    frame, X, y = credit
    onnx_model = model_files.load_model(to_onnx_file(column_pipeline(X, y), X, tmp_path / "m.onnx"))
    context = TrainingContext(
        train_frame=frame, y_train=y, groups_train=group_key(frame, ["sex"]),
        feature_columns=FEATURES, sensitive_columns=["sex"], baseline=onnx_model,
        options=MitigationOptions(), seed=0,
    )  # fmt: skip
    thresholds = fit_strategy("threshold_optimizer:demographic_parity", context).model
    rows = models.as_model_input(frame, FEATURES + ["sex"])
    assert set(np.unique(thresholds.predict(rows))) <= {0, 1}
    with pytest.raises(AuditError, match="cannot be saved as a skops file.*--save-mitigated"):
        model_files.model_bytes(thresholds)
    with pytest.raises(AuditError, match="cannot be retrained"):
        fit_strategy("reweighing", context)


def plain_graph(path: Path, output_values, external: Path | None = None) -> Path:
    """A one-operator graph: y = x + W, with W inline or in an external data file."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.asarray(output_values, np.float32).reshape(1, -1), "W")
    if external is not None:
        weights.ClearField("raw_data")
        weights.data_location = TensorProto.EXTERNAL
        for key, value in {"location": external.name, "offset": "0", "length": "8"}.items():
            entry = weights.external_data.add()
            entry.key, entry.value = key, value
    width = weights.dims[1]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, width])
    y = helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, width])
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "W"], ["scores"])], "g", [x], [y], [weights]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(model.SerializeToString())
    assert onnx.load_model_from_string(path.read_bytes()).graph.node
    return path


def test_onnx_external_data_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"TOPSECRT")  # two float32 values a crafted model would read as weights
    path = plain_graph(tmp_path / "leak.onnx", [0.0, 0.0], external=secret)
    with pytest.raises(AuditError, match="external data") as caught:
        model_files.load_model(path)
    assert "TOPSECRT" not in str(caught.value)


def test_onnx_outputs_that_are_not_probabilities_are_refused(tmp_path):
    path = plain_graph(tmp_path / "logits.onnx", [3.0, -1.0])
    loaded = model_files.load_model(path)
    assert loaded.classes_.tolist() == [0, 1]  # no labels in the graph: columns are classes 0, 1
    rows = pd.DataFrame({"a": [0.0, 0.1], "b": [0.0, 0.2]})
    with pytest.raises(AuditError, match="not probabilities"):
        loaded.predict_proba(rows)
    probabilities = model_files.load_model(plain_graph(tmp_path / "p.onnx", [0.25, 0.75]))
    np.testing.assert_allclose(probabilities.predict_proba(rows * 0), [[0.25, 0.75]] * 2)


def test_onnx_custom_operators_are_refused(tmp_path):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])
    node = helper.make_node("RunShell", ["x"], ["y"], domain="com.example.custom")
    graph = helper.make_graph([node], "g", [x], [y])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example.custom", 1)]
    path = tmp_path / "custom.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=opsets).SerializeToString())
    with pytest.raises(AuditError, match="onnxruntime cannot run model file .*custom.onnx"):
        model_files.load_model(path)


def test_a_damaged_onnx_file_is_refused(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07\x12\x03abc garbage")
    with pytest.raises(AuditError, match="broken.onnx"):
        model_files.load_model(path)


def numbers_of(section):
    """(path, value) for every number in a results.json section."""
    if isinstance(section, dict):
        for key, value in section.items():
            for path, number in numbers_of(value):
                yield (key, *path), number
    elif isinstance(section, list):
        for index, value in enumerate(section):
            for path, number in numbers_of(value):
                yield (index, *path), number
    elif isinstance(section, (int, float)) and not isinstance(section, bool):
        yield (), section


def test_an_onnx_model_audits_to_the_numbers_of_its_skops_original(tmp_path):
    frame = make_scenario("credit", n_rows=1200, seed=3)
    data = tmp_path / "credit.csv"
    frame.to_csv(data, index=False)
    features = [c for c in frame.columns if c not in ("approved", "sex", "applicant_id")]
    X = models.as_model_input(frame, features)
    model = column_pipeline(X, frame["approved"])
    # Decisions are score >= 0.5; a score within float32 rounding of it could flip. None is.
    assert np.abs(model.predict_proba(X)[:, 1] - 0.5).min() > 1e-5
    skops_file = tmp_path / "model.skops"
    model_files.save_model(model, skops_file)
    onnx_file = to_onnx_file(model, X, tmp_path / "model.onnx")
    # The ONNX model is explained (permutation explainer on the raw columns, the slow part);
    # the original's explanation is not compared, so it is skipped.
    settings = "fairness: {bootstrap: {resamples: 200}}\nexplain: "
    explain = {".skops": "{enabled: false}", ".onnx": "{sample_size: 50, background_size: 10}"}
    results = {}
    for path in (skops_file, onnx_file):
        config = tmp_path / f"audit{path.suffix}.yaml"
        config.write_text(settings + explain[path.suffix] + "\n")
        out = tmp_path / path.suffix[1:]
        done = run_cli(
            "run", config, "--data", data, *CLI_BASE, "--model-file", path,
            "--format", "json", "--out", out, "--quiet",
        )  # fmt: skip
        assert done.exit_code in (0, 1), done.output
        results[path.suffix] = json.loads((out / "results.json").read_text())

    original, onnx = results[".skops"], results[".onnx"]
    assert onnx["model"]["estimator"] == "OnnxModel" and onnx["model"]["trusted"] is False
    for section in ("performance", "fairness", "verdicts"):
        expected = dict(numbers_of(original[section]))
        got = dict(numbers_of(onnx[section]))
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            # ONNX runs in float32: scores agree to ~1e-7, every metric to 1e-6.
            assert got[key] == pytest.approx(value, abs=1e-6), key
    explained = onnx["explanations"]
    assert explained["status"] == "explained", explained.get("reason")
    assert explained["explainer"] == "permutation" and explained["output_space"] == "probability"
    assert [f["feature"] for f in explained["features"]]
    assert explained["additivity_max_error"] < 1e-6  # values add up to the ONNX model's output
