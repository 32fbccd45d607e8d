"""The text rule against hand labels of real captions (imagesearch/legal/hand_labels.{csv,md}).

The captions themselves stay in ../shared/datasets/dsplus_integrated_project_4; only ids and labels
are in the repository. Skipped where that folder is absent.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from imagesearch.legal.text_rule import flag_texts, load_text_rule

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared" / "datasets" / "dsplus_integrated_project_4"
LABELS = ROOT / "imagesearch" / "legal" / "hand_labels.csv"


def test_labels_fixture_shape() -> None:
    labels = pd.read_csv(LABELS)
    assert list(labels.columns[:2]) == ["query_id", "child"]
    assert labels["query_id"].is_unique
    assert set(labels["child"]) <= {0, 1}
    assert (labels["split"] == "test").sum() == 500
    assert (labels["split"] == "train").sum() >= 200
    assert "query_text" not in labels.columns  # texts never enter the repository


@pytest.fixture(scope="module")
def joined() -> pd.DataFrame:
    if not DATASET.is_dir():
        pytest.skip(f"real dataset not at {DATASET}")
    train = pd.read_csv(DATASET / "train_dataset.csv").drop_duplicates("query_id")
    test = pd.read_csv(DATASET / "test_queries.csv", sep="|", index_col=0)
    texts = pd.concat([train.set_index("query_id")["query_text"], test.set_index("query_id")["query_text"]])
    labels = pd.read_csv(LABELS).set_index("query_id")
    out = labels.join(texts, how="left")
    assert out["query_text"].notna().all(), "every labelled id has a text"
    return out.join(flag_texts(out["query_text"], load_text_rule()))


@pytest.mark.realdata
def test_text_rule_recall_and_precision_on_hand_labels(joined: pd.DataFrame) -> None:
    truth, predicted = joined["child"].astype(bool), joined["blocked"]
    tp = int((truth & predicted).sum())
    recall, precision = tp / truth.sum(), tp / predicted.sum()
    missed = joined.index[truth & ~predicted].tolist()
    false_hits = joined.index[~truth & predicted].tolist()
    assert recall >= 0.98, f"recall {recall:.3f}; missed {missed}"
    assert precision >= 0.90, f"precision {precision:.3f}; false hits {false_hits}"


@pytest.mark.realdata
def test_every_test_query_is_labelled(joined: pd.DataFrame) -> None:
    test = pd.read_csv(DATASET / "test_queries.csv", sep="|", index_col=0)
    assert len(test) == 500
    assert set(test["query_id"]) <= set(joined.index)
