"""Pair features from a joint image–text space learned on the captions' own images.

XGBoost cannot learn a text–image interaction from raw concatenated vectors, so the model sees
similarities computed in spaces where images and texts are comparable:

- ``i2t``: a ridge map from (standardised) image vectors into the text space, cosine with the text;
  the same similarity z-scored against reference captions (corrects "hub" images that are close to
  every text) and against reference images (puts different queries on one scale);
- ``csls``: cross-domain similarity local scaling, ``2·i2t − r_image − r_text`` where ``r`` is the
  mean cosine with the ``k`` nearest references of the other modality (a sharper hubness fix);
- ``i2t_softmax``: ``i2t`` minus the text's soft maximum (log-sum-exp at temperature
  ``softmax_temperature``) over the mapped reference images: the log-probability that the text
  picks this image out of the reference set, a per-query scale that rewards a clear winner;
- ``t2i``: a ridge map from text into image space, cosine with the image (also z-scored per text);
- ``knn``: the query's nearest reference captions vote for their own images (a kernel regression
  from text to image space), cosine with the image (also z-scored per text);
- ``prod_*``: element-wise products of both sides in a small PCA basis of the text space;
- ``vl_cosine`` (:class:`VisionLanguageSpace` only, when both vector files come from one CLIP/SigLIP
  model): the model's own image–text cosine (``vl_common.zero_shot_cosine``), the last column.

Everything here is fitted only on the rows given to :meth:`JointSpace.fit`, so callers control
leakage by what they pass in. Every feature except ``prod_*`` is a similarity: higher means a
better match, which the model may enforce with monotone constraints (``MONOTONE``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imagesearch.embedding.encoders.vl_common import zero_shot_cosine
from imagesearch.embedding.vectors import l2_normalise

SIMILARITIES = ["i2t", "i2t_z_image", "i2t_z_text", "csls", "i2t_softmax", "t2i", "t2i_z_text",
                "knn", "knn_z_text"]


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def top_k_mean(similarities: np.ndarray, k: int) -> np.ndarray:
    """Mean of each row's ``k`` largest values (CSLS neighbourhood radius)."""
    k = max(1, min(k, similarities.shape[1]))
    return np.partition(similarities, -k, axis=1)[:, -k:].mean(axis=1).astype(np.float32)


def soft_max(similarities: np.ndarray, temperature: float) -> np.ndarray:
    """``temperature · log mean exp(s / temperature)`` per row: between the mean and the maximum."""
    scaled = similarities / temperature
    top = scaled.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(scaled - top).mean(axis=1))
    return (temperature * lse).astype(np.float32)


def _row_stats(similarities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return similarities.mean(axis=1), similarities.std(axis=1) + 1e-6


@dataclass
class ImageSide:
    """What the features need from a set of images; precomputed once per catalog."""

    mapped: np.ndarray      # (n, dt) images mapped into text space, unit rows
    standard: np.ndarray    # (n, di) standardised image vectors, unit rows
    hub_mean: np.ndarray    # (n,) mean cosine of the mapped image with the reference captions
    hub_std: np.ndarray     # (n,)
    hub_top: np.ndarray     # (n,) mean cosine with its k nearest reference captions
    basis: np.ndarray       # (n, k) mapped image in the PCA basis

    def take(self, rows: np.ndarray) -> "ImageSide":
        return type(self)(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.mapped)


@dataclass
class VisionLanguageImageSide(ImageSide):
    """An ImageSide plus the image vectors themselves, in the CLIP/SigLIP model's shared space."""

    vl: np.ndarray          # (n, d) unit rows: the text side's ``text`` meets them in ``vl_cosine``


@dataclass
class TextSide:
    """What the features need from a set of texts."""

    text: np.ndarray        # (n, dt) unit rows
    mapped: np.ndarray      # (n, di) texts mapped into standardised image space, unit rows
    knn: np.ndarray         # (n, di) kernel-weighted own images of the nearest reference captions
    ref_mean: np.ndarray    # (n,) mean cosine of the text with the mapped reference images
    ref_std: np.ndarray     # (n,)
    ref_top: np.ndarray     # (n,) mean cosine with its k nearest mapped reference images
    ref_lse: np.ndarray     # (n,) soft maximum of those cosines (log-sum-exp, in cosine units)
    t2i_mean: np.ndarray    # (n,) mean/std of the t2i cosine with the reference images
    t2i_std: np.ndarray
    knn_mean: np.ndarray    # (n,) mean/std of the knn cosine with the reference images
    knn_std: np.ndarray
    basis: np.ndarray       # (n, k)

    def take(self, rows: np.ndarray) -> "TextSide":
        return TextSide(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.text)


@dataclass
class JointSpace:
    """Ridge maps both ways, a caption kNN and a PCA basis, fitted on positive pairs.

    The hyperparameters have no defaults here: they come from params.yaml (train section) through
    ``ModelConfig.make_space``.
    """

    alpha: float
    n_products: int
    knn_temperature: float
    csls_k: int
    softmax_temperature: float
    mean_: np.ndarray = field(init=False, repr=False)
    scale_: np.ndarray = field(init=False, repr=False)
    i2t_coef_: np.ndarray = field(init=False, repr=False)       # the ridge maps, scikit-learn's coef_
    i2t_intercept_: np.ndarray = field(init=False, repr=False)  # and intercept_
    t2i_coef_: np.ndarray = field(init=False, repr=False)
    t2i_intercept_: np.ndarray = field(init=False, repr=False)
    pca_mean_: np.ndarray = field(init=False, repr=False)       # the PCA's mean_ and components_
    pca_components_: np.ndarray = field(init=False, repr=False)
    ref_texts_: np.ndarray = field(init=False, repr=False)
    ref_text_images_: np.ndarray = field(init=False, repr=False)
    ref_images_mapped_: np.ndarray = field(init=False, repr=False)
    ref_images_standard_: np.ndarray = field(init=False, repr=False)

    def fit(self, images: np.ndarray, texts: np.ndarray, own_image: np.ndarray) -> "JointSpace":
        """Fit on reference images (n_i, di), captions (n_t, dt) and each caption's own image row.

        ``own_image[j]`` is the row in ``images`` of caption j's own image: the positive pairs.
        """
        from sklearn.decomposition import PCA
        from sklearn.linear_model import Ridge

        if len(texts) < 2 or len(images) < 2:
            raise ValueError("a joint space needs at least two images and two captions")
        images, texts = np.asarray(images, np.float64), np.asarray(texts, np.float64)
        self.mean_ = images.mean(axis=0)
        self.scale_ = images.std(axis=0) + 1e-6
        standard = self._standardise(images)
        own = standard[own_image]
        i2t, t2i = Ridge(alpha=self.alpha).fit(own, texts), Ridge(alpha=self.alpha).fit(texts, own)
        self.i2t_coef_, self.i2t_intercept_ = i2t.coef_, i2t.intercept_
        self.t2i_coef_, self.t2i_intercept_ = t2i.coef_, t2i.intercept_
        # random_state: scikit-learn may pick a randomized SVD; unseeded, every run differs
        pca = PCA(n_components=min(self.n_products, len(texts) - 1, texts.shape[1]),
                  random_state=0).fit(texts)
        self.pca_mean_, self.pca_components_ = pca.mean_, pca.components_
        self.ref_texts_ = l2_normalise(texts, np.float64)
        self.ref_text_images_ = l2_normalise(own, np.float64)
        self.ref_images_mapped_ = l2_normalise(self._i2t(standard), np.float64)
        self.ref_images_standard_ = l2_normalise(standard, np.float64)
        return self

    def _standardise(self, images: np.ndarray) -> np.ndarray:
        return (np.asarray(images, np.float64) - self.mean_) / self.scale_

    def _i2t(self, standard: np.ndarray) -> np.ndarray:
        return linear_map(standard, self.i2t_coef_, self.i2t_intercept_)

    # The sides are computed in float64 and stored as float32: float32 sums differ between CPU
    # kernels (AVX-512 / AVX2, thread counts) in the last bit, float64 ones by ~1e-16, which the
    # final rounding to float32 absorbs, so the index and the features are the same bytes on any
    # machine. Images go in chunks, so a million-image catalog needs no 10 GB of float64 at once.
    def image_side(self, images: np.ndarray, chunk: int = 65_536) -> ImageSide:
        if len(images) > chunk:
            parts = [self.image_side(images[start:start + chunk], chunk) for start in range(0, len(images), chunk)]
            return type(parts[0])(*(np.concatenate([getattr(p, f) for p in parts])
                                    for f in parts[0].__dataclass_fields__))
        standard = self._standardise(images)
        mapped = l2_normalise(self._i2t(standard), np.float64)
        hubs = mapped @ self.ref_texts_.T
        return ImageSide(*_float32(mapped, l2_normalise(standard, np.float64), *_row_stats(hubs),
                                   top_k_mean(hubs, self.csls_k), self._basis(mapped)))

    def text_side(self, texts: np.ndarray) -> TextSide:
        texts = l2_normalise(texts, np.float64)
        mapped = l2_normalise(linear_map(texts, self.t2i_coef_, self.t2i_intercept_), np.float64)
        weights = softmax_rows((texts @ self.ref_texts_.T) / self.knn_temperature)
        knn = l2_normalise(weights @ self.ref_text_images_, np.float64)
        refs = texts @ self.ref_images_mapped_.T
        return TextSide(*_float32(texts, mapped, knn, *_row_stats(refs), top_k_mean(refs, self.csls_k),
                                  soft_max(refs, self.softmax_temperature),
                                  *_row_stats(mapped @ self.ref_images_standard_.T),
                                  *_row_stats(knn @ self.ref_images_standard_.T), self._basis(texts)))

    @property
    def feature_names(self) -> list[str]:
        return SIMILARITIES + [f"prod_{k}" for k in range(self.n_products)]

    @property
    def monotone(self) -> list[int]:
        """+1 for similarities (never lower the score as they grow), 0 for the products."""
        return [1] * len(SIMILARITIES) + [0] * self.n_products

    #: the ImageSide field the two-stage search's candidate index holds (it meets the query's text vector)
    candidate_field = "mapped"

    def _basis(self, vectors: np.ndarray) -> np.ndarray:
        """Coordinates in the PCA basis, zero-padded to ``n_products`` columns so that spaces
        fitted on few captions (small folds) give the same number of features."""
        return _padded(pca_transform(vectors, self.pca_mean_, self.pca_components_), self.n_products)


def _similarity_columns(i2t: np.ndarray, t2i: np.ndarray, knn: np.ndarray, images: ImageSide,
                        texts: TextSide, image_axis: tuple, text_axis: tuple) -> list[np.ndarray]:
    def img(values: np.ndarray) -> np.ndarray:
        return values[image_axis]

    def txt(values: np.ndarray) -> np.ndarray:
        return values[text_axis]

    return [
        i2t,
        (i2t - img(images.hub_mean)) / img(images.hub_std),
        (i2t - txt(texts.ref_mean)) / txt(texts.ref_std),
        2.0 * i2t - img(images.hub_top) - txt(texts.ref_top),
        i2t - txt(texts.ref_lse),
        t2i,
        (t2i - txt(texts.t2i_mean)) / txt(texts.t2i_std),
        knn,
        (knn - txt(texts.knn_mean)) / txt(texts.knn_std),
    ]


def _float32(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.asarray(a, dtype=np.float32) for a in arrays]


def _dot_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products in float64 (numpy's float32 sums follow the CPU's SIMD width)."""
    return np.einsum("ij,ij->i", a.astype(np.float64), b.astype(np.float64))


def pair_features(images: ImageSide, texts: TextSide) -> np.ndarray:
    """Features of aligned pairs: row i of ``images`` with row i of ``texts``."""
    i2t = _dot_rows(images.mapped, texts.text)
    columns = _similarity_columns(
        i2t, _dot_rows(images.standard, texts.mapped),
        _dot_rows(images.standard, texts.knn), images, texts, (slice(None),), (slice(None),))
    return np.column_stack(columns + [images.basis * texts.basis]).astype(np.float32)


def grid_features(images: ImageSide, texts: TextSide) -> np.ndarray:
    """Features of every (text, image) combination: shape (n_texts * n_images, f), text-major."""
    n_texts, n_images = len(texts.text), len(images.mapped)
    i2t = texts.text @ images.mapped.T
    columns = _similarity_columns(i2t, texts.mapped @ images.standard.T, texts.knn @ images.standard.T,
                                  images, texts, (None, slice(None)), (slice(None), None))
    products = texts.basis[:, None, :] * images.basis[None, :, :]
    stacked = np.concatenate([np.stack(columns, axis=-1), products], axis=-1)
    return stacked.reshape(n_texts * n_images, -1).astype(np.float32)


VL_COSINE = "vl_cosine"


@dataclass
class VisionLanguageSpace(JointSpace):
    """A JointSpace for image and text vectors of one CLIP/SigLIP model: the model's own cosine
    is one more similarity feature (the last column, monotone increasing), and the two-stage
    search's candidates are the images nearest the query in that shared space (``vl``).

    It holds no state beyond a JointSpace's: the cosine is computed from the vectors themselves.
    """

    candidate_field = "vl"

    def image_side(self, images: np.ndarray, chunk: int = 65_536) -> VisionLanguageImageSide:
        side = super().image_side(images, chunk)
        if isinstance(side, VisionLanguageImageSide):  # chunks of a large catalog, already joined
            return side
        return VisionLanguageImageSide(*(getattr(side, f) for f in ImageSide.__dataclass_fields__),
                                       vl=l2_normalise(np.asarray(images, np.float64)))

    @property
    def feature_names(self) -> list[str]:
        return super().feature_names + [VL_COSINE]

    @property
    def monotone(self) -> list[int]:
        return super().monotone + [1]

    @staticmethod
    def pair_features(images: VisionLanguageImageSide, texts: TextSide) -> np.ndarray:
        cosine = zero_shot_cosine(images.vl, texts.text, pairs=True)
        return np.column_stack([pair_features(images, texts), cosine])

    @staticmethod
    def grid_features(images: VisionLanguageImageSide, texts: TextSide) -> np.ndarray:
        cosine = zero_shot_cosine(images.vl, texts.text).T.reshape(-1, 1)  # text-major, like the grid
        return np.hstack([grid_features(images, texts), cosine])


@dataclass
class RawSpace:
    """The ablation baseline: PCA-reduced image and text vectors side by side, no joint space."""

    n_components: int = 32
    image_pca_mean_: np.ndarray = field(init=False, repr=False)
    image_pca_components_: np.ndarray = field(init=False, repr=False)
    text_pca_mean_: np.ndarray = field(init=False, repr=False)
    text_pca_components_: np.ndarray = field(init=False, repr=False)

    def fit(self, images: np.ndarray, texts: np.ndarray, own_image: np.ndarray) -> "RawSpace":
        from sklearn.decomposition import PCA

        image_pca = PCA(n_components=min(self.n_components, *images.shape), random_state=0).fit(images)
        text_pca = PCA(n_components=min(self.n_components, *texts.shape), random_state=0).fit(texts)
        self.image_pca_mean_, self.image_pca_components_ = image_pca.mean_, image_pca.components_
        self.text_pca_mean_, self.text_pca_components_ = text_pca.mean_, text_pca.components_
        return self

    def image_side(self, images: np.ndarray) -> np.ndarray:
        return _padded(pca_transform(images, self.image_pca_mean_, self.image_pca_components_), self.n_components)

    def text_side(self, texts: np.ndarray) -> np.ndarray:
        return _padded(pca_transform(texts, self.text_pca_mean_, self.text_pca_components_), self.n_components)

    @property
    def feature_names(self) -> list[str]:
        return ([f"image_pc{k}" for k in range(self.n_components)]
                + [f"text_pc{k}" for k in range(self.n_components)])

    @property
    def monotone(self) -> list[int]:
        return [0] * (2 * self.n_components)

    @staticmethod
    def pair_features(images: np.ndarray, texts: np.ndarray) -> np.ndarray:
        return np.hstack([images, texts]).astype(np.float32)

    @staticmethod
    def grid_features(images: np.ndarray, texts: np.ndarray) -> np.ndarray:
        n_texts, n_images = len(texts), len(images)
        return np.hstack([np.tile(images, (n_texts, 1)), np.repeat(texts, n_images, axis=0)])


def linear_map(x: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """scikit-learn's ``Ridge.predict`` (``LinearModel._decision_function``), the same operations."""
    return _float_input(x) @ coef.T + intercept


def pca_transform(x: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """scikit-learn's ``PCA.transform`` without whitening (1.9: centred after the projection),
    the same operations, so the same bits."""
    projected = _float_input(x) @ components.T
    projected -= mean.reshape(1, -1) @ components.T
    return projected


def _float_input(x: np.ndarray) -> np.ndarray:
    """What scikit-learn's input check hands on: float32 and float64 as they are, else float64."""
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def _padded(matrix: np.ndarray, columns: int) -> np.ndarray:
    out = np.zeros((len(matrix), columns), dtype=np.float32)
    out[:, : matrix.shape[1]] = matrix
    return out


JointSpace.pair_features = staticmethod(pair_features)  # one interface for both spaces
JointSpace.grid_features = staticmethod(grid_features)
SPACES = {"joint": JointSpace, "raw": RawSpace}
