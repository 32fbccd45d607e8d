"""The relevance model: joint-space pair features + XGBoost, a score in [0, 1] per (image, text).

The same object serves training, evaluation and search: ``fit`` on labelled pairs, ``score`` for
aligned pairs, ``score_grid`` for every (query, catalog image), ``save``/``load`` to a folder.
Fitting uses scikit-learn and XGBoost; a fitted or loaded model scores with numpy alone (the
space's learned arrays, the trees through :mod:`.trees`, the same bits as XGBoost's), so a query
imports neither. The folder holds ``config.json``, ``space.npz`` (plain arrays) and ``booster.json``
(XGBoost's JSON model).

Leakage control: XGBoost's training rows get their features from joint spaces that never saw
either image of the row (the paired image and the caption's own image): images are split into
``feature_folds`` folds and, for each pair of folds, a space is fitted on the other folds only. At
prediction time the space is fitted on all training images, and the queries and catalog images it
meets are, like in training, ones it has not seen.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imagesearch.atomic import atomic_path
from imagesearch.embedding.encoders.vl_common import shares_vision_language_model
from imagesearch.embedding.vectors import VectorSet, write_npz
from imagesearch.modeling.joint_space import SPACES, VisionLanguageSpace
from imagesearch.modeling.space_files import fitted_arrays, restore_arrays
from imagesearch.modeling.trees import TreeEnsemble

if TYPE_CHECKING:  # fitting needs them; scoring a saved model imports none of them
    import pandas as pd
    import xgboost as xgb

    from imagesearch.modeling.distributed_fit import DistributedFit
    from imagesearch.params import TrainParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelConfig:
    """What the model reads: the train section of params.yaml (its one source of values, see
    :meth:`from_params`), plus two runtime choices that are not params (``space``, ``n_jobs``)."""

    ridge_alpha: float
    n_products: int
    knn_temperature: float
    csls_k: int
    softmax_temperature: float
    feature_folds: int
    negatives_per_caption: int        # sampled (caption, other training image) pairs, target 0
    monotone: bool                    # similarity features may only raise the score
    early_stopping_fraction: float
    seed: int
    weights: dict[str, float]
    xgb: dict[str, Any]
    space: str = "joint"              # "joint", or "raw" for the ablation (dataclasses.replace)
    n_jobs: int = 1                   # XGBoost threads; 1 is fastest on a shared 2-core machine

    @classmethod
    def from_params(cls, train: TrainParams, **runtime: Any) -> "ModelConfig":
        """The config of the validated train section; ``runtime`` may set ``space`` and ``n_jobs``."""
        unknown = set(runtime) - set(RUNTIME_FIELDS)
        if unknown:
            raise TypeError(f"not runtime fields of ModelConfig: {sorted(unknown)}")
        return cls(**train.model_dump(include=set(param_fields())), **runtime)

    def make_space(self, vision_language: bool = False) -> Any:
        """The space to fit; ``vision_language`` (both vector files from one CLIP/SigLIP model)
        makes a joint space the :class:`VisionLanguageSpace`, with the model's own cosine."""
        if self.space == "joint":
            space_type = VisionLanguageSpace if vision_language else SPACES["joint"]
            return space_type(alpha=self.ridge_alpha, n_products=self.n_products,
                                   knn_temperature=self.knn_temperature, csls_k=self.csls_k,
                                   softmax_temperature=self.softmax_temperature)
        return SPACES[self.space]()


RUNTIME_FIELDS = ("space", "n_jobs")


def param_fields() -> list[str]:
    """The ModelConfig fields that come from params.yaml's train section, by name."""
    return [f.name for f in fields(ModelConfig) if f.name not in RUNTIME_FIELDS]


@dataclass
class TrainingSet:
    """Labelled pairs resolved to rows of one image matrix and one caption matrix."""

    images: np.ndarray        # (n_i, di) every image that appears in a pair
    texts: np.ndarray         # (n_t, dt) every caption that appears in a pair
    own_image: np.ndarray     # (n_t,) row in ``images`` of each caption's own image
    pair_image: np.ndarray    # (n,) row in ``images`` of each pair's image
    pair_text: np.ndarray     # (n,) row in ``texts`` of each pair's caption
    target: np.ndarray        # (n,) in [0, 1]
    weight: np.ndarray        # (n,)

    @staticmethod
    def rows_at_most(pairs: pd.DataFrame, negatives_per_caption: int = 0) -> int:
        """An upper bound of :meth:`build`'s row count, without building (sampled negatives that
        hit a judged pair or the caption's own image are dropped there)."""
        return len(pairs) + negatives_per_caption * int(pairs["query_id"].nunique())

    @classmethod
    def build(cls, pairs: pd.DataFrame, image_set: VectorSet, text_set: VectorSet,
              weights: dict[str, float], negatives_per_caption: int = 0, seed: int = 0) -> "TrainingSet":
        """Resolve pairs to rows; add ``negatives_per_caption`` sampled negatives per caption.

        A sampled negative is a caption with a training image other than its own that no judged
        pair links to it, target 0, weight ``weights["sampled"]``: the retrieval task ranks a
        query against arbitrary images, while the judged pairs are mostly near misses.
        """
        image_ids = sorted(set(pairs["image"]) | set(pairs["query_image"]))
        captions = pairs.drop_duplicates("query_id").sort_values("query_id")
        image_row = {name: row for row, name in enumerate(image_ids)}
        text_row = {qid: row for row, qid in enumerate(captions["query_id"])}
        own_image = captions["query_image"].map(image_row).to_numpy()
        pair_image = pairs["image"].map(image_row).to_numpy()
        pair_text = pairs["query_id"].map(text_row).to_numpy()
        target = pairs["target"].to_numpy(dtype=np.float32)
        weight = pairs["source"].map(lambda s: weights.get(s, 1.0)).to_numpy(dtype=np.float32)
        if negatives_per_caption > 0 and len(image_ids) > 1:
            rng = np.random.default_rng(seed)
            n_images = len(image_ids)
            neg_text = np.repeat(np.arange(len(own_image)), negatives_per_caption)
            neg_image = rng.integers(0, n_images, size=len(neg_text))
            known = set(zip(pair_image.tolist(), pair_text.tolist()))
            keep = np.array([(i, t) not in known for i, t in zip(neg_image.tolist(), neg_text.tolist())])
            keep &= neg_image != own_image[neg_text]
            neg_text, neg_image = neg_text[keep], neg_image[keep]
            pair_image = np.concatenate([pair_image, neg_image])
            pair_text = np.concatenate([pair_text, neg_text])
            target = np.concatenate([target, np.zeros(len(neg_text), dtype=np.float32)])
            weight = np.concatenate([weight, np.full(len(neg_text), weights.get("sampled", 1.0),
                                                     dtype=np.float32)])
        return cls(images=image_set.take(image_ids), texts=text_set.take(list(captions["query_id"])),
                   own_image=own_image, pair_image=pair_image, pair_text=pair_text, target=target,
                   weight=weight)


def _take(side: Any, rows: np.ndarray) -> Any:
    """Rows of a space's image or text side: an ImageSide/TextSide, or a plain matrix (raw space)."""
    return side[rows] if isinstance(side, np.ndarray) else side.take(rows)


class RelevanceModel:
    """score(image, text) in [0, 1]: how well the text describes the image."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.space: Any = None
        self.booster: xgb.XGBRegressor | None = None  # set by fit; a loaded model has only trees
        self.trees: TreeEnsemble | None = None
        self.vision_language = False  # spaces with the VL cosine (saved with the space)

    # ---- training -------------------------------------------------------------------------
    def fit(self, pairs: pd.DataFrame, image_set: VectorSet, text_set: VectorSet,
            callbacks: Sequence[xgb.callback.TrainingCallback] = (),
            distributed: DistributedFit | None = None,
            vision_language: bool | None = None) -> "RelevanceModel":
        """Fit on pairs (image, query_id, query_image, source, target) and their vectors.

        ``callbacks`` ride on the early-stopping fit, which evaluates the training part and the
        held-out images each iteration (the training curve of :mod:`.curves`); ``distributed``
        says from how many pair rows the booster is fitted on globally binned features, and on
        which cluster (:mod:`.distributed_fit`). ``vision_language``: whether the model's own
        image–text cosine is a feature; None (the pipeline): where both vector files' encoder
        records name one CLIP/SigLIP model (False: the ablation of that feature)."""
        if vision_language is None:
            vision_language = shares_vision_language_model(image_set.encoder or {}, text_set.encoder or {})
        self.vision_language = vision_language and self.config.space == "joint"
        if self.vision_language:
            log.info("image and text vectors of one vision-language model: its cosine is a feature")
        data = TrainingSet.build(pairs, image_set, text_set, self.config.weights,
                                 self.config.negatives_per_caption, self.config.seed + 2)
        features = self._out_of_fold_features(data)
        self.booster = self._fit_booster(features, data, callbacks, distributed)
        self.trees = TreeEnsemble.from_json(self.booster.get_booster().save_raw("json"))
        self.space = self._make_space().fit(data.images, data.texts, data.own_image)
        return self

    def _make_space(self) -> Any:
        return self.config.make_space(self.vision_language)

    def _out_of_fold_features(self, data: TrainingSet) -> np.ndarray:
        k = self.config.feature_folds
        fold = np.random.default_rng(self.config.seed).integers(0, k, size=len(data.images))
        first = np.minimum(fold[data.pair_image], fold[data.own_image[data.pair_text]])
        second = np.maximum(fold[data.pair_image], fold[data.own_image[data.pair_text]])
        features: np.ndarray | None = None
        for a in range(k):
            for b in range(a, k):
                rows = np.flatnonzero((first == a) & (second == b))
                if len(rows) == 0:
                    continue
                keep_images = np.flatnonzero((fold != a) & (fold != b))
                keep_texts = np.flatnonzero(np.isin(data.own_image, keep_images))
                remap = np.full(len(data.images), -1)
                remap[keep_images] = np.arange(len(keep_images))
                space = self._make_space().fit(
                    data.images[keep_images], data.texts[keep_texts], remap[data.own_image[keep_texts]])
                # sides of each distinct image and caption once, then one row per pair
                image_rows, image_index = np.unique(data.pair_image[rows], return_inverse=True)
                text_rows, text_index = np.unique(data.pair_text[rows], return_inverse=True)
                block = space.pair_features(_take(space.image_side(data.images[image_rows]), image_index),
                                            _take(space.text_side(data.texts[text_rows]), text_index))
                if features is None:
                    features = np.zeros((len(data.target), block.shape[1]), dtype=np.float32)
                features[rows] = block
        assert features is not None
        return features

    def _fit_booster(self, features: np.ndarray, data: TrainingSet,
                     callbacks: Sequence[xgb.callback.TrainingCallback] = (),
                     distributed: DistributedFit | None = None) -> xgb.XGBRegressor:
        from imagesearch.modeling.distributed_fit import bin_globally, fit_regressor

        params = dict(self.config.xgb)
        stopping = params.pop("early_stopping_rounds")
        rng = np.random.default_rng(self.config.seed + 1)
        held_images = rng.random(len(data.images)) < self.config.early_stopping_fraction
        held = held_images[data.pair_image]
        common = dict(objective="reg:logistic", tree_method="hist", n_jobs=self.config.n_jobs,
                      random_state=self.config.seed, **params)
        if self.config.monotone and self.config.space == "joint":
            common["monotone_constraints"] = "(" + ",".join(
                str(m) for m in self._make_space().monotone) + ")"
        client = None
        if distributed is not None and distributed.applies(len(features)):
            distributed.check(params)
            features, client = bin_globally(features), distributed.client
            log.info("%d pair rows: features binned globally, fitted %s", len(features),
                     "on the cluster" if client is not None else "in process")
        # early stopping watches the last eval set: the held-out images
        probe = fit_regressor(common, features[~held], data.target[~held], data.weight[~held],
                              eval_set=[(features[~held], data.target[~held]), (features[held], data.target[held])],
                              sample_weight_eval_set=[data.weight[~held], data.weight[held]],
                              early_stopping_rounds=stopping, callbacks=callbacks, client=client)
        best = int(probe.best_iteration) + 1
        log.info("early stopping: %d of %d trees", best, params["n_estimators"])
        common["n_estimators"] = best
        return fit_regressor(common, features, data.target, data.weight, client=client)

    # ---- scoring --------------------------------------------------------------------------
    def image_side(self, image_vectors: np.ndarray) -> Any:
        """Per-image precomputation, reusable across queries (what the search index stores)."""
        return self.space.image_side(image_vectors)

    def score(self, image_vectors: np.ndarray, text_vectors: np.ndarray) -> np.ndarray:
        """Scores of aligned pairs: row i of images with row i of texts."""
        features = self.space.pair_features(self.space.image_side(image_vectors),
                                            self.space.text_side(text_vectors))
        return self._predict(features)

    def score_grid(self, image_side: Any, text_vectors: np.ndarray) -> np.ndarray:
        """Scores of every (text, image): shape (n_texts, n_images)."""
        text_side = self.space.text_side(text_vectors)
        features = self.space.grid_features(image_side, text_side)
        return self._predict(features).reshape(len(text_vectors), -1)

    def _predict(self, features: np.ndarray) -> np.ndarray:
        return np.clip(self.trees.predict(features), 0.0, 1.0).astype(np.float32)

    @property
    def feature_names(self) -> list[str]:
        return self.space.feature_names

    # ---- persistence ----------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        with atomic_path(folder) as tmp:
            tmp.mkdir()
            (tmp / "config.json").write_text(json.dumps(asdict(self.config), indent=2, sort_keys=True))
            arrays = fitted_arrays(self.space)
            if self.vision_language:  # only then: other models' space.npz stays as it was
                arrays[VISION_LANGUAGE_MARK] = np.array(True)
            write_npz(tmp / SPACE_FILE, arrays)
            (tmp / BOOSTER_FILE).write_bytes(self.trees.raw)

    @classmethod
    def load(cls, folder: str | Path) -> "RelevanceModel":
        folder = Path(folder)
        saved = json.loads((folder / "config.json").read_text())
        missing = [name for name in param_fields() if name not in saved]
        if missing:
            raise ValueError(f"{folder}: config.json lacks {missing}; the model predates these "
                             "params: re-run `dvc repro train`")
        if not (folder / SPACE_FILE).is_file():
            raise FileNotFoundError(f"{folder}: no {SPACE_FILE} (a model saved before the space was stored "
                                    "as plain arrays, or an incomplete folder): rebuild it with `dvc repro`")
        model = cls(ModelConfig(**saved))
        with np.load(folder / SPACE_FILE, allow_pickle=False) as saved_arrays:
            arrays = {name: saved_arrays[name] for name in saved_arrays.files}
        model.vision_language = bool(arrays.pop(VISION_LANGUAGE_MARK, False))
        model.space = restore_arrays(model._make_space(), arrays)
        model.trees = TreeEnsemble.from_json((folder / BOOSTER_FILE).read_bytes())
        return model


SPACE_FILE = "space.npz"
VISION_LANGUAGE_MARK = "vision_language"  # in space.npz: the space is a VisionLanguageSpace
BOOSTER_FILE = "booster.json"
