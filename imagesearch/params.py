"""The schema of ``params.yaml``: every key, its type and range, checked before any work.

A typo'd key, a negative weight or an unknown encoder fails here with a message naming the key,
instead of surfacing minutes later inside a stage.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from imagesearch.embedding.encoders.names import check_encoder_name
from imagesearch.errors import InputError

Fraction = Field(ge=0.0, le=1.0)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataParams(Section):
    source: str = "auto"
    url: str


class ValidateParams(Section):
    min_image_side: int = Field(ge=1)
    max_image_pixels: int = Field(ge=1)


class LabelsParams(Section):
    strategy: Literal["expert", "crowd", "blend"]
    expert_weight: float = Fraction
    own_image_target: float = Fraction


class LegalParams(Section):
    expert_confirm_mean: float = Field(ge=1.0, le=4.0)
    crowd_confirm_share: float = Fraction
    visual_recall: float = Fraction
    crosslingual_recall: float = Fraction
    folds: int = Field(ge=2)
    seed: int
    # a text no term list can judge (docs/legal.md, "Languages without a list"): refuse or notice
    uncovered_language: Literal["refuse", "notice"] = "refuse"


class EncoderParams(Section):
    # "image" or "text": which backends' names (encoders/names.py, which imports no encoder code,
    # so that a stage does not depend on the encoders through its params) ``encoder`` may take.
    kind: ClassVar[str]
    encoder: str
    batch_size: int = Field(ge=1)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("encoder")
    @classmethod
    def _known(cls, name: str) -> str:
        return check_encoder_name(cls.kind, name)


class ImageEncoderParams(EncoderParams):
    kind = "image"


class TextEncoderParams(EncoderParams):
    kind = "text"


class SourceWeights(Section):
    expert: float = Field(ge=0.0)
    crowd: float = Field(ge=0.0)
    both: float = Field(ge=0.0)
    own: float = Field(ge=0.0)
    sampled: float = Field(default=1.0, ge=0.0)  # sampled negatives (caption vs another image)


class XGBParams(Section):
    n_estimators: int = Field(ge=1)
    learning_rate: float = Field(gt=0.0, le=1.0)
    max_depth: int = Field(ge=1, le=16)
    subsample: float = Field(gt=0.0, le=1.0)
    colsample_bytree: float = Field(gt=0.0, le=1.0)
    min_child_weight: float = Field(ge=0.0)
    early_stopping_rounds: int = Field(ge=1)


class TrainParams(Section):
    """The train section. ``folds`` and ``match_threshold`` belong to cross-validation; every other
    key is read by the model (``ModelConfig.from_params``)."""

    seed: int
    folds: int = Field(ge=2)
    match_threshold: float = Field(ge=1.0, le=4.0)
    ridge_alpha: float = Field(gt=0.0)
    # each pair of feature folds leaves at least one other fold to fit its joint space on
    feature_folds: int = Field(ge=3)
    n_products: int = Field(ge=1)
    csls_k: int = Field(ge=1)
    knn_temperature: float = Field(gt=0.0)
    softmax_temperature: float = Field(gt=0.0)
    early_stopping_fraction: float = Field(gt=0.0, lt=1.0)
    negatives_per_caption: int = Field(default=0, ge=0)
    monotone: bool = False
    weights: SourceWeights
    xgb: XGBParams
    # training rows from which the final fit bins features globally and, with a scheduler set,
    # runs on the cluster (imagesearch/modeling/distributed_fit.py)
    distributed_fit_from: int = Field(default=5_000_000, ge=1)


class AlignQueriesParams(Section):
    folds: int = Field(ge=2)  # grouped CV folds (by image) that choose the map's ridge penalty


class SearchParams(Section):
    """The index section: which search the index holds (docs/search-and-serving.md,
    "Search at catalog scale")."""

    two_stage_from: int = Field(default=200_000, ge=1)  # catalog images from which search is two-stage
    candidates: int = Field(default=5000, ge=1)          # images the FAISS stage hands to the model
    nprobe: int = Field(default=256, ge=1)               # inverted lists scanned per query (IVF only)


class EvaluateParams(Section):
    gallery_queries: int = Field(ge=1)
    gallery_top_k: int = Field(ge=1)
    seed: int


class Params(Section):
    data: DataParams
    validate_: ValidateParams = Field(alias="validate")
    labels: LabelsParams
    legal: LegalParams
    embed_images: ImageEncoderParams
    embed_texts: TextEncoderParams
    align_queries: AlignQueriesParams
    train: TrainParams
    evaluate: EvaluateParams
    index: SearchParams

    def section(self, name: str) -> Any:
        """The section named as in ``params.yaml`` (``validate`` is a pydantic field under another name)."""
        return getattr(self, "validate_" if name == "validate" else name, None)


class ParamsError(InputError):
    """params.yaml is missing, malformed or out of range; the message names the keys."""


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate the whole params file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such params file") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise ParamsError(f"{path}: {problems}") from None


def section(name: str, path: str | Path = "params.yaml") -> Any:
    """Validate the whole file, then return one stage's section."""
    return load_params(path).section(name)
