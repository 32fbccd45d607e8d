"""ModelConfig comes from params.yaml's train section and nowhere else: every key the model reads
reaches the config (and the joint space), and a saved config without them fails by name."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imagesearch.modeling.joint_space import JointSpace
from imagesearch.modeling.relevance import RUNTIME_FIELDS, ModelConfig, RelevanceModel, param_fields
from imagesearch.params import TrainParams, load_params
from tests.synthetic_pairs import SMALL_TRAIN, small_config

REPO = Path(__file__).resolve().parents[1]
STAGE_ONLY = {"folds", "match_threshold", "distributed_fit_from"}  # train keys stages/train.py reads itself
SPACE_FIELD = {"alpha": "ridge_alpha"}                # JointSpace argument -> ModelConfig field


def repository_train() -> TrainParams:
    return load_params(REPO / "params.yaml").train


def other(value: Any) -> Any:
    """A different value of the same type that the schema still accepts."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2
    if isinstance(value, dict):
        first = next(iter(value))
        return {**value, first: other(value[first])}
    raise TypeError(value)


def test_every_train_key_is_read_by_the_model_or_by_the_train_stage():
    assert set(param_fields()) <= set(TrainParams.model_fields)
    assert set(TrainParams.model_fields) - set(param_fields()) == STAGE_ONLY


def test_the_config_carries_the_repository_params():
    train = repository_train()
    config = ModelConfig.from_params(train)
    for name in param_fields():
        assert getattr(config, name) == train.model_dump()[name], name
    assert (config.space, config.n_jobs) == ("joint", 1)


@pytest.mark.parametrize("name", param_fields())
def test_a_changed_param_changes_the_config(name):
    train = repository_train().model_dump()
    train[name] = other(train[name])
    config = ModelConfig.from_params(TrainParams.model_validate(train))
    assert getattr(config, name) == train[name]
    assert config != ModelConfig.from_params(repository_train())


def test_runtime_fields_are_set_apart_from_params():
    config = ModelConfig.from_params(repository_train(), space="raw", n_jobs=2)
    assert (config.space, config.n_jobs) == ("raw", 2)
    assert dataclasses.replace(config, space="joint") == ModelConfig.from_params(repository_train(), n_jobs=2)
    with pytest.raises(TypeError, match="seed"):
        ModelConfig.from_params(repository_train(), seed=3)
    assert set(RUNTIME_FIELDS) | set(param_fields()) == {f.name for f in dataclasses.fields(ModelConfig)}


def test_the_joint_space_gets_every_hyperparameter_from_the_config():
    config = small_config(ridge_alpha=7.0, n_products=5, csls_k=3, knn_temperature=0.1,
                          softmax_temperature=0.3)
    space = config.make_space()
    assert isinstance(space, JointSpace)
    for f in dataclasses.fields(JointSpace):
        if f.init:
            assert getattr(space, f.name) == getattr(config, SPACE_FIELD.get(f.name, f.name)), f.name


def test_softmax_temperature_reaches_only_its_feature():
    rng = np.random.default_rng(0)
    images, texts = rng.normal(size=(12, 6)), rng.normal(size=(12, 4))
    features = {}
    for temperature in (0.02, 0.5):
        space = small_config(softmax_temperature=temperature).make_space().fit(images, texts, np.arange(12))
        features[temperature] = space.grid_features(space.image_side(images[:3]), space.text_side(texts[:3]))
    names = space.feature_names
    changed = {name for c, name in enumerate(names)
               if not np.array_equal(features[0.02][:, c], features[0.5][:, c])}
    assert changed == {"i2t_softmax"}


def test_a_saved_config_without_a_param_names_it(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    saved = dataclasses.asdict(small_config())
    del saved["softmax_temperature"]
    (folder / "config.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="softmax_temperature.*dvc repro train"):
        RelevanceModel.load(folder)


def test_a_model_folder_of_the_pickled_format_is_refused_with_the_rebuild_command(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(dataclasses.asdict(small_config())))
    (folder / "space.joblib").write_bytes(b"a pickled JointSpace")  # what models held before space.npz
    with pytest.raises(FileNotFoundError, match="no space.npz.*dvc repro"):
        RelevanceModel.load(folder)


def test_the_small_test_config_is_a_valid_train_section():
    assert TrainParams.model_validate(SMALL_TRAIN).feature_folds == small_config().feature_folds
