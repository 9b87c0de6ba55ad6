"""Checks that a model loaded from a file is internally consistent where compiled code trusts it.

scikit-learn's tree code (decision trees, forests, gradient boosting, histogram gradient
boosting) walks node arrays in C without bounds checks: a crafted file whose node indices
point outside the arrays, or back up the tree, loads fine and then reads out of bounds,
crashes or loops forever at the first prediction (skops says so when it refuses these types
by default; scikit-learn/scikit-learn#34558). These checks run once after loading, on
numpy arrays, so a crafted model is refused with a message instead:

* every ``Tree``: node count within capacity; each inner node's children lie after it and
  inside the tree (so every walk ends at a leaf), its feature below the tree's feature count;
  a tree owner's feature count equals its ``n_features_in_``; an ensemble's trees take as
  many features as the ensemble checks its input for; gradient boosting has one column of
  trees per output;
* every histogram-boosting ``TreePredictor``: the same for its nodes, and categorical
  splits only on features the model's binner knows as categorical, with a bitset that exists;
* a saved ``GroupThresholdClassifier`` scores with ``predict_proba`` or
  ``decision_function`` only (it calls its estimator's method of that name).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
    RandomTreesEmbedding,
)
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.tree._tree import Tree

from audit.mitigation.estimators import GroupThresholdClassifier

GRADIENT_BOOSTING = (GradientBoostingClassifier, GradientBoostingRegressor)
# Ensembles that hand their rows to their trees without the trees checking them again (other
# ensembles call each tree's public predict, which checks the width itself).
UNCHECKED_ENSEMBLES = (
    *GRADIENT_BOOSTING,
    RandomForestClassifier,
    RandomForestRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomTreesEmbedding,
    IsolationForest,
)
HIST_GRADIENT_BOOSTING = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)
SCORE_METHODS = ("predict_proba", "decision_function")


def check_structure(model: Any) -> str | None:
    """The first inconsistency found in ``model``'s object graph, or None when it is sound."""
    for obj in _objects(model):
        problem = _check(obj)
        if problem:
            return problem
    return None


def _objects(root: Any):
    """Every object reachable from ``root`` through attributes and containers, once each."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack.extend(obj.ravel().tolist())
        elif hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())


def _check(obj: Any) -> str | None:
    if isinstance(obj, Tree):
        return _check_tree(obj)
    if isinstance(obj, TreePredictor):
        return _check_nodes(obj.nodes, "left", "right", "is_leaf", "a histogram-boosting tree")
    if isinstance(obj, GroupThresholdClassifier):
        method = getattr(obj, "score_method_", None)
        if method is not None and method not in SCORE_METHODS:
            return (
                f"GroupThresholdClassifier.score_method_ is {method!r}, not one of {SCORE_METHODS}"
            )
        return None
    tree = getattr(obj, "tree_", None)
    if isinstance(tree, Tree) and getattr(obj, "n_features_in_", None) != tree.n_features:
        # The owner checks its input's width against n_features_in_ (when it has one), then
        # hands the rows to the tree.
        return f"a {type(obj).__name__}'s input width does not match its tree's"
    if isinstance(obj, HIST_GRADIENT_BOOSTING):
        return _check_hist_gradient_boosting(obj)
    return _check_ensemble(obj)


def _check_tree(tree: Tree) -> str | None:
    if not 0 < tree.node_count <= tree.capacity:
        return f"a tree has {tree.node_count} nodes for a capacity of {tree.capacity}"
    problem = _check_children(tree.children_left, tree.children_right, leaf=None, what="a tree")
    if problem:
        return problem
    inner = tree.children_left != -1
    features = tree.feature[inner]
    if features.size and (features.min() < 0 or features.max() >= tree.n_features):
        return f"a tree splits on a feature outside 0..{tree.n_features - 1}"
    return None


def _check_nodes(nodes: np.ndarray, left: str, right: str, is_leaf: str, what: str) -> str | None:
    if not isinstance(nodes, np.ndarray) or nodes.ndim != 1 or nodes.size == 0:
        return f"{what} has no node array"
    leaf = nodes[is_leaf].astype(bool)
    return _check_children(nodes[left], nodes[right], leaf=leaf, what=what)


def _check_children(
    left: np.ndarray, right: np.ndarray, leaf: np.ndarray | None, what: str
) -> str | None:
    """Inner nodes' children lie after them and inside the tree; scikit-learn's trees store
    a leaf as children -1 (``leaf`` None) or flag it (histogram boosting)."""
    n = len(left)
    index = np.arange(n)
    inner = (left != -1) if leaf is None else ~leaf
    if leaf is None and np.any((left == -1) != (right == -1)):
        return f"{what} has a node with only one child"
    for children in (left[inner], right[inner]):
        if children.size and (
            np.any(children <= index[inner]) or np.any(children >= n) or np.any(children < 0)
        ):
            return f"{what} has a child index outside the tree or pointing back up it"
    return None


def _check_hist_gradient_boosting(model: Any) -> str | None:
    predictors = getattr(model, "_predictors", None)
    if predictors is None:
        return None  # not fitted: it will refuse to predict
    n_features = getattr(model, "n_features_in_", None)
    if n_features is None:
        return f"a {type(model).__name__} holds trees but records no input width"
    flags = getattr(getattr(model, "_bin_mapper", None), "is_categorical_", None)
    categorical = np.zeros(0, dtype=bool) if flags is None else np.asarray(flags, dtype=bool)
    for predictor in _flat(predictors):
        if not isinstance(predictor, TreePredictor):
            return f"{type(model).__name__} holds a {type(predictor).__name__} as a tree"
        nodes = predictor.nodes
        inner = ~nodes["is_leaf"].astype(bool)
        features = nodes["feature_idx"][inner]
        if features.size and (features.min() < 0 or features.max() >= n_features):
            return f"a histogram-boosting tree splits on a feature outside 0..{n_features - 1}"
        split = inner & nodes["is_categorical"].astype(bool)
        if split.any():
            bitsets = predictor.raw_left_cat_bitsets
            on = nodes["feature_idx"][split]
            if (
                not isinstance(bitsets, np.ndarray)
                or bitsets.ndim != 2
                or bitsets.shape[1] != 8
                or nodes["bitset_idx"][split].max() >= len(bitsets)
                or on.max() >= categorical.size
                or not categorical[on].all()
            ):
                return "a histogram-boosting tree has an inconsistent categorical split"
    return None


def _check_ensemble(obj: Any) -> str | None:
    members = getattr(obj, "estimators_", None)
    if not isinstance(obj, UNCHECKED_ENSEMBLES) or not isinstance(members, (list, np.ndarray)):
        return None
    trees = [e for e in _flat(members) if isinstance(getattr(e, "tree_", None), Tree)]
    if not trees:
        return None
    name = type(obj).__name__
    n_features = getattr(obj, "n_features_in_", None)
    if n_features is None:
        return f"a {name} holds trees but records no input width"
    widths = [getattr(t, "n_features_in_", None) for t in trees]
    if isinstance(obj, GRADIENT_BOOSTING):
        per_iteration = getattr(obj, "n_trees_per_iteration_", None)
        if not isinstance(members, np.ndarray) or members.ndim != 2:
            return f"a {name}'s trees are not a grid"
        if members.shape[1] != per_iteration:
            return f"a {name}'s tree grid does not match its outputs"
        # It checks its input against its first tree, then feeds every tree that input.
        expected = [widths[0]] * len(trees)
    elif hasattr(obj, "estimators_features_"):
        # An isolation forest feeds each tree its own subset of the columns.
        expected = [len(columns) for columns in obj.estimators_features_]
    else:
        expected = [n_features] * len(trees)
    if expected != widths:
        return f"a {name}'s trees take another number of features than it gives them"
    return None


def _flat(items: Any):
    """The leaves of nested lists / tuples / arrays (an ensemble's grid of estimators)."""
    if isinstance(items, (list, tuple, np.ndarray)):
        for item in items:
            yield from _flat(item)
    else:
        yield items
