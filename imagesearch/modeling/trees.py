"""XGBoost's trees evaluated with numpy, from the booster's JSON: scoring without importing xgboost.

Importing xgboost imports scikit-learn and scipy (~0.7 s of a query on the command line); the
model's prediction is a few hundred small trees, whose leaves numpy finds for all rows and trees at
once (``LeafMasks``; trees of more than 64 leaves are walked level by level).
The arithmetic is XGBoost's CPU predictor's, in its order and precision, so the scores are the same
bits (tests/test_trees.py compares them with ``xgboost.Booster.predict``): a row goes left where
``value < split_condition`` (float32) or, for a missing value, where ``default_left``; the margin
starts at the base score's margin and adds each tree's leaf in float32, in tree order; the
objective's transform comes last (``reg:logistic``, ``binary:logistic``: the float32 sigmoid
``1 / (1 + expf(-x))``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
import sys
from dataclasses import dataclass

import numpy as np

#: objectives whose prediction is the sigmoid of the margin, and those that predict the margin
SIGMOID = ("reg:logistic", "binary:logistic")
IDENTITY = ("reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "binary:logitraw")
ROWS_PER_BLOCK = 1024  # rows scored at once: their (rows x trees) leaf masks stay in the CPU cache
MASK_DTYPES = (np.uint8, np.uint16, np.uint32, np.uint64)  # the narrowest that holds a tree's leaves


class UnsupportedBooster(ValueError):
    """The JSON holds something this evaluator does not reproduce (a multi-output or categorical model)."""


@dataclass(frozen=True)
class LeafMasks:
    """Every tree's leaves as bits, left to right: a split that sends a row right clears the bits of
    its left subtree, and the row's leaf is its tree's lowest bit left (QuickScorer, Lucchese et al.,
    SIGIR 2015). A row's splits on one feature that go right are those whose threshold is at most its
    value, a prefix of the feature's thresholds sorted: ``table`` holds, per feature and prefix, the
    AND of their masks for every tree (row 0: none), found with ``searchsorted``, then one row for a
    missing value (the AND over the splits that send it right: not ``default_left``).
    """

    features: np.ndarray                # (used,) intp: the features some split reads
    thresholds: tuple[np.ndarray, ...]  # per used feature, its splits' float32 thresholds, sorted
    offsets: np.ndarray                 # (used, 1) intp: where each feature's rows start in ``table``
    table: np.ndarray                   # (sum of (splits + 2), trees) unsigned: the masks
    leaf: np.ndarray                    # (trees, leaves) float32 leaf values, left to right

    @classmethod
    def from_trees(cls, trees: list[dict]) -> "LeafMasks | None":
        """The masks of XGBoost's JSON ``trees``; None where a tree has more than 64 leaves."""
        shapes = [_leaf_spans(t["left_children"], t["right_children"]) for t in trees]
        width = max((len(order) for order, _ in shapes), default=0)
        dtype = next((d for d in MASK_DTYPES if np.iinfo(d).bits >= width), None)
        if dtype is None or not trees:
            return None
        full = int(np.iinfo(dtype).max)
        leaf = np.zeros((len(trees), width), np.float32)
        split_tree, split_feature, split_value, split_clear, split_right = [], [], [], [], []
        for row, (tree, (order, (first, end))) in enumerate(zip(trees, shapes)):
            value = tree["split_conditions"]
            leaf[row, :len(order)] = np.asarray([value[n] for n in order], np.float64).astype(np.float32)
            for node, left in enumerate(tree["left_children"]):
                if left != -1:
                    low, high = first[left], end[left]  # the left subtree's leaves
                    split_tree.append(row)
                    split_feature.append(tree["split_indices"][node])
                    split_value.append(value[node])
                    split_clear.append(full ^ (((1 << (high - low)) - 1) << low))
                    split_right.append(not tree["default_left"][node])
        split_tree, split_feature = np.asarray(split_tree, np.intp), np.asarray(split_feature, np.intp)
        split_value = np.asarray(split_value, np.float64).astype(np.float32)
        split_clear = np.asarray(split_clear, dtype)
        split_right = np.asarray(split_right, bool)
        features = np.unique(split_feature)
        thresholds, tables = [], []
        for feature in features:
            splits = np.flatnonzero(split_feature == feature)
            splits = splits[np.argsort(split_value[splits], kind="stable")]
            block = np.full((len(splits) + 2, len(trees)), full, dtype)
            block[np.arange(1, len(splits) + 1), split_tree[splits]] = split_clear[splits]
            np.bitwise_and.accumulate(block[:-1], axis=0, out=block[:-1])
            right = splits[split_right[splits]]
            np.bitwise_and.at(block[-1], split_tree[right], split_clear[right])
            thresholds.append(split_value[splits])
            tables.append(block)
        offsets = np.cumsum([0] + [len(t) for t in tables[:-1]], dtype=np.intp)[:, None]
        table = np.concatenate(tables) if tables else np.full((1, len(trees)), full, dtype)
        return cls(features, tuple(thresholds), offsets[:len(tables)], table, leaf)

    def leaves(self, rows: np.ndarray) -> np.ndarray:
        """Each tree's leaf value for each of ``rows``, (trees, rows) float32."""
        trees, width = self.leaf.shape
        if len(self.features):
            columns = np.ascontiguousarray(rows.T[self.features])  # (used, rows)
            index = np.empty(columns.shape, np.intp)
            for i, (column, thresholds) in enumerate(zip(columns, self.thresholds)):
                index[i] = np.searchsorted(thresholds, column, side="right")  # the splits that go right
            missing = np.isnan(columns)
            if missing.any():  # NaN compares false: it goes where default_left says
                ends = np.array([[len(t) + 1] for t in self.thresholds], np.intp)
                index = np.where(missing, ends, index)
            index += self.offsets
            # the indexes are in range by construction; mode="clip" lets take write into ``out``
            # without the buffer that mode="raise" copies through
            mask = self.table.take(index[0], axis=0, mode="clip")      # (rows, trees)
            rows_of_table = np.empty_like(mask)
            for feature_index in index[1:]:
                mask &= np.take(self.table, feature_index, axis=0, out=rows_of_table, mode="clip")
        else:
            mask = np.repeat(self.table[:1], len(rows), axis=0)
        lowest = mask & (~mask + mask.dtype.type(1))                 # a power of two: exact in float32
        position = lowest.astype(np.float32).view(np.int32) >> 23    # the bit's exponent + 127
        position += np.arange(trees, dtype=np.int32) * width - 127
        return self.leaf.reshape(-1).take(position.T, mode="clip")


@dataclass(frozen=True)
class TreeEnsemble:
    """The trees of one single-output XGBoost model, padded to one (trees, nodes) table per field.

    A leaf's children are itself, so walking ``depth`` steps from the root ends on every row's leaf;
    where no tree has more than 64 leaves, ``masks`` finds the same leaves with fewer gathers.
    """

    feature: np.ndarray       # (trees, nodes) int32 split feature (0 at leaves)
    threshold: np.ndarray     # (trees, nodes) float32 split condition
    left: np.ndarray          # (trees, nodes) int32
    right: np.ndarray         # (trees, nodes) int32
    default_left: np.ndarray  # (trees, nodes) bool: where a missing value goes
    leaf: np.ndarray          # (trees, nodes) float32 leaf value (0 at split nodes)
    masks: LeafMasks | None
    depth: int
    base_margin: np.float32
    objective: str
    raw: bytes                # the JSON it was read from, written back by the model's save

    @classmethod
    def from_json(cls, raw: bytes) -> "TreeEnsemble":
        """Read ``Booster.save_raw("json")`` / a ``save_model("*.json")`` file's bytes."""
        learner = json.loads(raw)["learner"]
        objective = learner["objective"]["name"]
        params = learner["learner_model_param"]
        if int(params.get("num_target", "1")) != 1 or int(params.get("num_class", "0")) > 1:
            raise UnsupportedBooster("only single-output XGBoost models are evaluated here")
        if objective not in SIGMOID + IDENTITY:
            raise UnsupportedBooster(f"objective {objective!r} is not evaluated here")
        model = learner["gradient_booster"]["model"]
        if learner["gradient_booster"]["name"] != "gbtree" or any(model.get("tree_info", [])):
            raise UnsupportedBooster("only gbtree single-output models are evaluated here")
        trees = model["trees"]
        if any(t.get("categories_nodes") for t in trees):
            raise UnsupportedBooster("categorical splits are not evaluated here")
        width = max((len(t["left_children"]) for t in trees), default=1)
        table = {name: np.zeros((len(trees), width), dtype) for name, dtype in
                 (("feature", np.int32), ("threshold", np.float32), ("left", np.int32),
                  ("right", np.int32), ("default_left", bool), ("leaf", np.float32))}
        for row, tree in enumerate(trees):
            left = np.asarray(tree["left_children"], np.int32)
            right = np.asarray(tree["right_children"], np.int32)
            value = np.asarray(tree["split_conditions"], np.float64).astype(np.float32)
            is_leaf = left == -1
            nodes = np.arange(len(left), dtype=np.int32)
            table["feature"][row, :len(left)] = np.where(is_leaf, 0, tree["split_indices"])
            table["threshold"][row, :len(left)] = np.where(is_leaf, 0, value)
            table["left"][row, :len(left)] = np.where(is_leaf, nodes, left)
            table["right"][row, :len(left)] = np.where(is_leaf, nodes, right)
            table["default_left"][row, :len(left)] = np.asarray(tree["default_left"], bool)
            table["leaf"][row, :len(left)] = np.where(is_leaf, value, 0)
        depth = max((_depth(np.asarray(t["left_children"]), np.asarray(t["right_children"])) for t in trees),
                    default=0)
        base = np.float32(float(params["base_score"].strip("[]")))
        return cls(**table, masks=LeafMasks.from_trees(trees), depth=depth,
                   base_margin=_base_margin(base, objective), objective=objective, raw=bytes(raw))

    def __len__(self) -> int:
        return len(self.leaf)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """XGBoost's prediction (n,) float32 for rows of ``features`` (n, f); NaN is missing."""
        features = np.ascontiguousarray(features, dtype=np.float32)
        margin = np.empty(len(features), np.float32)
        for start in range(0, len(features), ROWS_PER_BLOCK):
            margin[start:start + ROWS_PER_BLOCK] = self._margin(features[start:start + ROWS_PER_BLOCK])
        if self.objective in SIGMOID:  # XGBoost's common::Sigmoid, in float32
            return np.float32(1.0) / (expf(-margin) + np.float32(1.0))
        return margin

    def _margin(self, rows: np.ndarray) -> np.ndarray:
        """The base margin plus each tree's leaf, added in float32 in tree order."""
        leaves = self.masks.leaves(rows) if self.masks is not None else self._walk(rows)
        if leaves.shape[1] == 1:  # one row: the reduction would run along the trees, adding pairwise
            return np.add.reduce(np.repeat(leaves, 2, axis=1), axis=0, initial=self.base_margin)[:1]
        return np.add.reduce(leaves, axis=0, initial=self.base_margin)  # along axis 0: in order

    def _walk(self, rows: np.ndarray) -> np.ndarray:
        """Every tree walked for every row at once, on flat (tree, node) indexes, tree-major; the
        rows feature-major, so that one tree's rows read a few features' contiguous columns."""
        trees, width = self.leaf.shape
        offsets = np.arange(trees, dtype=np.int32)[:, None] * width
        node = np.repeat(offsets, len(rows), axis=1)                          # (trees, rows)
        columns, missing = np.ascontiguousarray(rows.T).reshape(-1), bool(np.isnan(rows).any())
        # where each node's feature column starts in ``columns``; the row is added per step
        start = (self.feature.astype(np.int64) * len(rows)).reshape(-1)
        row = np.arange(len(rows), dtype=np.int64)
        threshold = self.threshold.reshape(-1)
        # child[2k] / child[2k + 1]: node k's left / right child, as flat indexes
        child = np.stack([self.left + offsets, self.right + offsets], axis=-1).reshape(-1)
        for _ in range(self.depth):
            value = columns.take(start.take(node) + row)
            if missing:  # NaN compares false: it goes where default_left says
                go_right = np.where(np.isnan(value), ~self.default_left.reshape(-1).take(node),
                                    ~(value < threshold.take(node)))
            else:
                go_right = value >= threshold.take(node)
            node = child.take(node * 2 + go_right)
        return self.leaf.reshape(-1).take(node)


def _leaf_spans(left: list[int], right: list[int]) -> tuple[list[int], tuple[list[int], list[int]]]:
    """The leaves left to right, and each node's leaves as a [first, end) range of that order."""
    order, first, end, stack = [], [0] * len(left), [0] * len(left), [0]
    while stack:
        node = stack.pop()
        if node < 0:  # ~node, whose children are done
            first[~node], end[~node] = first[left[~node]], end[right[~node]]
        elif left[node] == -1:
            first[node] = len(order)
            order.append(node)
            end[node] = len(order)
        else:
            stack += (~node, right[node], left[node])
    return order, (first, end)


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    """Edges on the longest root-to-leaf path."""
    depth, level, frontier = 0, [0], True
    while frontier:
        children = [c for n in level for c in (left[n], right[n]) if c != -1]
        frontier = bool(children)
        depth += frontier
        level = children
    return depth


def _base_margin(base_score: np.float32, objective: str) -> np.float32:
    """The margin XGBoost starts from: ``-logf(1 / p - 1)`` for the logistic objectives."""
    if objective in SIGMOID:
        return np.float32(-_libm().logf(np.float32(1.0) / base_score - np.float32(1.0)))
    return np.float32(base_score)


def expf(values: np.ndarray) -> np.ndarray:
    """The C library's ``expf`` of float32 ``values``, XGBoost's exponential, elementwise.

    glibc's expf is within 0.502 ulp, not always the correctly rounded value that numpy's float64
    exp rounded to float32 gives: the two differ only where the exact value lies within ~0.002 ulp
    of halfway between two float32s, so only values near such a midpoint go to the C function.
    """
    exact = np.exp(values.astype(np.float64))
    rounded = exact.astype(np.float32)
    below = np.nextafter(rounded, np.float32(-np.inf)).astype(np.float64)
    above = np.nextafter(rounded, np.float32(np.inf)).astype(np.float64)
    here = rounded.astype(np.float64)
    near = np.minimum(np.abs(exact - (here + below) / 2) / (here - below),
                      np.abs(exact - (here + above) / 2) / (above - here)) < NEAR_HALFWAY
    if near.any():
        libm = _libm()
        rounded[near] = [libm.expf(float(v)) for v in values[near]]
    return rounded


NEAR_HALFWAY = 0.01  # in float32 ulps: glibc's expf may round the other way within 0.002


@functools.cache
def _libm() -> ctypes.CDLL:
    """The process's C math library (the one XGBoost's predictor calls), float32 functions typed."""
    libm = ctypes.CDLL(None) if sys.platform != "win32" else ctypes.CDLL(ctypes.util.find_library("m"))
    for name in ("expf", "logf"):
        function = getattr(libm, name)
        function.restype, function.argtypes = ctypes.c_float, [ctypes.c_float]
    return libm
